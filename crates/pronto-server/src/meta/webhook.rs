//! `GET /webhooks/meta` (the subscription handshake) and `POST /webhooks/meta` (deliveries).
//!
//! A delivery is taken in only after its `X-Hub-Signature-256` checks out against the raw
//! body, before anything is parsed. Its events are routed by `entry[].id` to the Messenger
//! inbox of that page (`object: "page"`) or the Instagram inbox of that account (`object:
//! "instagram"`), and the whole delivery is stored in one transaction: the 200 means stored.
//! When the store cannot take it the answer is a 503 and Meta delivers it again; messages are
//! stored once by their `mid`, so a retry is harmless.

use super::MetaInbox;
use crate::app::App;
use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pronto_channels::meta::{self, Batch, Echo, EventKind, MetaAttachment, Object};
use pronto_channels::meta_api::outbox_of_metadata;
use pronto_core::store::{Inbound, Store, StoreError, Taken};
use pronto_core::{
    Attachment, Author, ChannelKind, ContactId, Inbox, Incoming, OutboxId, WorkspaceId,
};
use std::collections::HashMap;
use std::sync::Arc;

/// The handshake: answers the challenge when the verify token matches, else 403.
pub async fn verify<S: Store>(
    State(app): State<Arc<App<S>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let expected = app.settings.meta.verify_token.as_deref().unwrap_or("");
    let get = |key: &str| query.get(key).map(String::as_str);
    match meta::verify_subscription(
        get("hub.mode"),
        get("hub.verify_token"),
        get("hub.challenge"),
        expected,
    ) {
        Some(challenge) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        None => AppError::new(
            StatusCode::FORBIDDEN,
            "verification_failed",
            if expected.is_empty() {
                "PRONTO_META_VERIFY_TOKEN is not set on this server"
            } else {
                "hub.mode must be subscribe and hub.verify_token must match PRONTO_META_VERIFY_TOKEN"
            },
        )
        .into_response(),
    }
}

/// A delivery: signature, parse, route, store, then 200.
pub async fn receive<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = app.settings.meta.app_secret.as_deref() else {
        app.metrics
            .record_webhook_event("meta", "delivery", "not_configured");
        return AppError::forbidden(
            "PRONTO_META_APP_SECRET is not set on this server: no delivery can be verified",
        )
        .into_response();
    };
    let signature = headers
        .get(meta::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    let verified = meta::verify_signature(secret.as_bytes(), signature, &body).or_else(|error| {
        match app.settings.meta.instagram_app_secret.as_deref() {
            Some(instagram) => meta::verify_signature(instagram.as_bytes(), signature, &body),
            None => Err(error),
        }
    });
    if let Err(error) = verified {
        app.metrics
            .record_webhook_event("meta", "delivery", "bad_signature");
        tracing::warn!(%error, "webhook: refused a delivery");
        return AppError::new(StatusCode::FORBIDDEN, "bad_signature", error.to_string())
            .into_response();
    }
    // Parsed here only to refuse what is not Meta's shape (Meta would retry a 5xx forever);
    // the processor parses it again from the journal.
    if let Err(error) = meta::parse(&body) {
        app.metrics
            .record_webhook_event("meta", "delivery", "malformed");
        tracing::warn!(%error, "webhook: a signed delivery that does not parse");
        return AppError::bad_request(format!("the delivery does not parse: {error}"))
            .into_response();
    }
    match app.store.journal_delivery(SOURCE, &body, app.now()).await {
        Ok(_) => {
            app.journal_signal.notify_one();
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(error) => {
            tracing::error!(%error, "webhook: the journal could not take a delivery; Meta will retry it");
            AppError::from(error).into_response()
        }
    }
}

/// The journal's name for Meta's deliveries.
pub const SOURCE: &str = "meta";

/// What one event of a delivery becomes, for the metrics.
#[derive(Clone, Copy)]
struct Planned {
    source: &'static str,
    kind: &'static str,
}

/// Deliveries' events routed to their inboxes, ready to be stored in one transaction.
#[derive(Clone, Default)]
pub struct Plan {
    items: Vec<(WorkspaceId, Inbound)>,
    planned: Vec<Planned>,
}

impl Plan {
    pub fn append(&mut self, other: Plan) {
        self.items.extend(other.items);
        self.planned.extend(other.planned);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The inboxes of accounts looked up while planning (within one round of the processor, so
/// that a change of an inbox is seen by the next round).
pub type InboxCache = HashMap<(ChannelKind, String), Option<(Inbox, MetaInbox)>>;

/// Routes a verified delivery's events to their inboxes.
pub async fn plan<S: Store>(
    app: &App<S>,
    batch: &Batch,
    inboxes: &mut InboxCache,
) -> Result<Plan, StoreError> {
    let (source, channel) = match batch.object {
        Object::Page => ("page", ChannelKind::Messenger),
        Object::Instagram => ("instagram", ChannelKind::Instagram),
    };
    let mut items: Vec<(WorkspaceId, Inbound)> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    for entry in &batch.entries {
        let key = (channel, entry.id.clone());
        if !inboxes.contains_key(&key) {
            let found = app
                .store
                .inbox_by_channel_key(channel, &entry.id)
                .await?
                .and_then(|inbox| MetaInbox::of(&app.key, &inbox).map(|meta| (inbox, meta)));
            inboxes.insert(key.clone(), found);
        }
        let Some((inbox, settings)) = &inboxes[&key] else {
            for event in entry.messaging.iter().chain(&entry.standby) {
                app.metrics
                    .record_webhook_event(source, kind_name(&event.kind), "unknown_account");
            }
            tracing::info!(
                object = source,
                account = %entry.id,
                "webhook: events for an account no inbox has; answered 200 and dropped"
            );
            continue;
        };
        for event in entry.messaging.iter().chain(&entry.standby) {
            let kind = kind_name(&event.kind);
            for field in &event.unknown_fields {
                app.metrics
                    .record_webhook_event(source, &field.replace('.', "_"), "unknown_field");
            }
            let item = match &event.kind {
                EventKind::Message(_) => meta::incoming(inbox.id, event).map(|mut message| {
                    // Named by a profile lookup, never by the id (which would undo it).
                    message.contact_name = String::new();
                    Inbound::Message(message)
                }),
                EventKind::Echo(echo) => Some(echo_item(app, inbox, settings, event, echo)),
                EventKind::Postback {
                    title,
                    payload,
                    mid,
                } => {
                    // A button the customer pressed is their message, as it is in Meta's inbox.
                    let text = title
                        .clone()
                        .or_else(|| payload.clone())
                        .unwrap_or_default();
                    Some(Inbound::Message(Incoming {
                        inbox: inbox.id,
                        contact_external_id: event.sender.clone(),
                        contact_name: String::new(),
                        channel_message_id: mid.clone().unwrap_or_else(|| {
                            format!("postback:{}:{}", event.sender, event.timestamp)
                        }),
                        at: event.timestamp,
                        author: Author::Customer,
                        text,
                        attachments: Vec::new(),
                    }))
                }
                EventKind::MessageEdit {
                    mid,
                    text: Some(text),
                    ..
                } => Some(Inbound::Edit {
                    inbox: inbox.id,
                    channel_message_id: mid.clone(),
                    text: text.clone(),
                    at: event.timestamp,
                }),
                EventKind::MessageEdit { text: None, .. }
                | EventKind::Read { .. }
                | EventKind::Delivery { .. } => {
                    // Receipts change no figure; the thread shows "sent" until a later version
                    // keeps them.
                    app.metrics.record_webhook_event(source, kind, "ignored");
                    None
                }
                EventKind::Unknown { kind } => {
                    app.metrics
                        .record_webhook_event(source, kind, "unknown_kind");
                    None
                }
            };
            if let Some(item) = item {
                items.push((inbox.workspace, item));
                planned.push(Planned { source, kind });
            }
        }
    }
    Ok(Plan { items, planned })
}

/// Stores planned events in one transaction, and counts what became of each. Returns the
/// contacts of the customers' messages stored (for [`super::profiles`]).
pub async fn store_plan<S: Store>(
    app: &App<S>,
    plan: Plan,
) -> Result<Vec<(WorkspaceId, ContactId)>, StoreError> {
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    let Plan { items, planned } = plan;
    let taken = app.take_in(items).await?;
    let mut contacts = Vec::new();
    for item in &taken {
        if let Taken::Ingested(pronto_core::store::Ingested::Stored {
            message,
            conversation,
            ..
        }) = item
            && message.author == Author::Customer
            && !contacts.contains(&(conversation.workspace, conversation.contact))
        {
            contacts.push((conversation.workspace, conversation.contact));
        }
    }
    for (plan, taken) in planned.iter().zip(&taken) {
        let outcome = match taken {
            Taken::Ingested(pronto_core::store::Ingested::Stored { .. }) => "stored",
            Taken::Ingested(pronto_core::store::Ingested::Duplicate { .. }) => "duplicate",
            Taken::Confirmed { .. } => "confirmed",
            Taken::Edited { .. } => "edited",
            Taken::Unmatched => "unmatched",
        };
        app.metrics
            .record_webhook_event(plan.source, plan.kind, outcome);
    }
    Ok(contacts)
}

/// Routes and stores one verified delivery, in one transaction.
pub async fn take_in<S: Store>(app: &App<S>, batch: &Batch) -> Result<(), StoreError> {
    let plan = plan(app, batch, &mut InboxCache::new()).await?;
    store_plan(app, plan).await.map(drop)
}

fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Message(_) => "message",
        EventKind::Echo(_) => "echo",
        EventKind::MessageEdit { .. } => "message_edit",
        EventKind::Read { .. } => "read",
        EventKind::Delivery { .. } => "delivery",
        EventKind::Postback { .. } => "postback",
        EventKind::Unknown { .. } => "unknown",
    }
}

/// Who made a message the page sent, as the figures must see it:
/// - Pronto's own reply (its outbox id in `metadata`, or Pronto's `app_id`): matched to the
///   stored reply, never stored twice;
/// - an app the settings name as automation, or a text the inbox lists as one of the page's
///   automated responses (instant reply, away message, FAQ answer): `automation`;
/// - anything else (Meta's Page Inbox, Business Suite, the Messenger app, another tool): a
///   person answered elsewhere, `agent`.
pub fn echo_author<S: Store>(app: &App<S>, settings: &MetaInbox, echo: &Echo) -> EchoAuthor {
    let meta = &app.settings.meta;
    let app_id = echo.app_id.as_deref();
    let ours = app_id.is_some() && app_id == meta.app_id.as_deref();
    let foreign = app_id.is_some() && meta.app_id.is_some() && !ours;
    if !foreign && let Some(outbox) = echo.metadata.as_deref().and_then(outbox_of_metadata) {
        return EchoAuthor::Pronto(Some(OutboxId(outbox)));
    }
    if ours {
        return EchoAuthor::Pronto(None);
    }
    let automated_app = app_id.is_some_and(|id| meta.automation_app_ids.iter().any(|a| a == id));
    let text = echo.text.as_deref().unwrap_or("");
    if automated_app || settings.is_automated_text(text) {
        return EchoAuthor::Automation;
    }
    // Meta's own inboxes (PAGE_INBOX_APP_ID, INSTAGRAM_INBOX_APP_ID) send both people's
    // replies and the page's automated responses under one app id: only the text tells.
    EchoAuthor::Person
}

/// See [`echo_author`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchoAuthor {
    /// Pronto sent it; the outbox entry when the metadata names it.
    Pronto(Option<OutboxId>),
    Automation,
    Person,
}

fn echo_item<S: Store>(
    app: &App<S>,
    inbox: &Inbox,
    settings: &MetaInbox,
    event: &meta::Event,
    echo: &Echo,
) -> Inbound {
    let author = echo_author(app, settings, echo);
    let message = Incoming {
        inbox: inbox.id,
        // An echo goes from the page to the person.
        contact_external_id: event.recipient.clone(),
        contact_name: String::new(),
        channel_message_id: echo.mid.clone(),
        at: event.timestamp,
        author: match author {
            EchoAuthor::Automation => Author::Automation,
            EchoAuthor::Pronto(_) | EchoAuthor::Person => Author::Agent,
        },
        text: echo.text.clone().unwrap_or_default(),
        attachments: attachments(&echo.attachments),
    };
    match author {
        EchoAuthor::Pronto(Some(outbox)) => Inbound::Echo { outbox, message },
        _ => Inbound::Message(message),
    }
}

fn attachments(list: &[MetaAttachment]) -> Vec<Attachment> {
    list.iter()
        .filter_map(|a| {
            Some(Attachment {
                kind: a.kind.clone(),
                url: a.url.clone()?,
                name: a.title.clone(),
            })
        })
        .collect()
}
