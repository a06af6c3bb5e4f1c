//! The backfill: on connecting an inbox, the last 30 days of the page's (or Instagram
//! account's) conversations are imported through the Conversations API, so that the
//! figures start complete instead of empty for a month.
//!
//! Paged, newest conversation first, until a conversation last updated before the 30 days.
//! Idempotent with the webhooks and with itself: messages are stored once by their id (the
//! Conversations API's message ids are the webhooks' `mid`s). Progress is kept in the inbox's
//! settings as `backfill` (`running`, `done` or `failed`, with counts), which every change of
//! the inbox announces to the browsers.

use super::MetaInbox;
use crate::app::App;
use pronto_badge::Millis;
use pronto_badge::time::DAY;
use pronto_channels::meta_api::graph_time;
use pronto_core::store::{Inbound, Store};
use pronto_core::{Author, ChannelKind, InboxId, Incoming, WorkspaceId};
use serde_json::{Value, json};
use std::sync::Arc;

/// How far back the import reaches.
pub const BACKFILL_DAYS: i64 = 30;
/// Conversations per page asked of Meta.
const PAGE: &str = "25";

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub conversations: u64,
    pub messages: u64,
}

/// Starts the import in the background.
pub fn spawn<S: Store>(app: Arc<App<S>>, workspace: WorkspaceId, inbox: InboxId) {
    tokio::spawn(async move {
        run(&app, workspace, inbox).await;
    });
}

/// Runs the import and records how it went in the inbox's settings.
pub async fn run<S: Store>(app: &App<S>, workspace: WorkspaceId, inbox: InboxId) -> Progress {
    let mut progress = Progress::default();
    let started = app.now();
    record(
        app,
        workspace,
        inbox,
        json!({"state": "running", "conversations": 0, "messages": 0}),
    )
    .await;
    let result = import(app, workspace, inbox, started, &mut progress).await;
    let state = match &result {
        Ok(()) => {
            json!({"state": "done", "conversations": progress.conversations, "messages": progress.messages})
        }
        Err(error) => {
            tracing::warn!(%inbox, %error, "backfill failed");
            json!({"state": "failed", "conversations": progress.conversations, "messages": progress.messages, "error": error})
        }
    };
    record(app, workspace, inbox, state).await;
    progress
}

async fn record<S: Store>(app: &App<S>, workspace: WorkspaceId, inbox: InboxId, state: Value) {
    let result = app
        .set_inbox_setting(workspace, inbox, "backfill", Some(state))
        .await;
    if let Err(error) = result {
        tracing::warn!(%inbox, %error, "backfill: cannot record progress");
    }
}

async fn import<S: Store>(
    app: &App<S>,
    workspace: WorkspaceId,
    inbox_id: InboxId,
    now: Millis,
    progress: &mut Progress,
) -> Result<(), String> {
    let inbox = app
        .store
        .inbox(workspace, inbox_id)
        .await
        .map_err(|e| e.to_string())?;
    let meta = MetaInbox::of(&app.key, &inbox).ok_or("not a Meta inbox")?;
    let token = meta
        .access_token
        .clone()
        .ok_or("no access token is stored")?;
    let graph = &app.graph;
    let since = now - BACKFILL_DAYS * DAY;
    let (path, platform) = match meta.channel {
        ChannelKind::Instagram => ("me/conversations".to_owned(), "instagram"),
        _ => (format!("{}/conversations", meta.account_id), "messenger"),
    };
    let fields =
        "id,updated_time,participants,messages.limit(100){id,created_time,from,to,message}";
    let mut page = graph
        .get(
            meta.channel,
            &path,
            &[("platform", platform), ("fields", fields), ("limit", PAGE)],
            &token,
        )
        .await
        .map_err(|e| e.to_string())?;
    loop {
        for conversation in list(&page) {
            let updated = conversation
                .get("updated_time")
                .and_then(Value::as_str)
                .and_then(graph_time);
            if updated.is_some_and(|at| at < since) {
                return Ok(());
            }
            let mut messages = conversation.get("messages").cloned().unwrap_or(Value::Null);
            let mut items = Vec::new();
            loop {
                let mut older_than_window = false;
                for message in list(&messages) {
                    match item(&meta, inbox_id, message) {
                        Some(incoming) if incoming.at >= since => {
                            items.push((workspace, Inbound::Message(incoming)))
                        }
                        Some(_) => older_than_window = true,
                        None => {}
                    }
                }
                let next = next_link(&messages);
                match next {
                    Some(next) if !older_than_window => {
                        messages = graph
                            .get(meta.channel, &next, &[], &token)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    _ => break,
                }
            }
            // Oldest first, as they happened: the log's order among equal instants.
            items.reverse();
            progress.messages += items.len() as u64;
            if !items.is_empty() {
                app.take_in(items).await.map_err(|e| e.to_string())?;
            }
            progress.conversations += 1;
        }
        record(
            app,
            workspace,
            inbox_id,
            json!({"state": "running", "conversations": progress.conversations, "messages": progress.messages}),
        )
        .await;
        match next_link(&page) {
            Some(next) => {
                page = graph
                    .get(meta.channel, &next, &[], &token)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            None => return Ok(()),
        }
    }
}

fn list(page: &Value) -> &[Value] {
    page.get("data")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn next_link(page: &Value) -> Option<String> {
    page.get("paging")?.get("next")?.as_str().map(str::to_owned)
}

/// One message of the Conversations API as an incoming message: from the account, a reply a
/// person made (or an automated one, when its text is listed as such); else the customer's.
fn item(meta: &MetaInbox, inbox: InboxId, message: &Value) -> Option<Incoming> {
    let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = text_of(message, "id")?;
    let at = graph_time(message.get("created_time")?.as_str()?)?;
    let from = message.get("from")?;
    let from_id = text_of(from, "id")?;
    let text = text_of(message, "message").unwrap_or_default();
    let (contact, name, author) = if from_id == meta.account_id {
        let to = message
            .get("to")
            .and_then(|to| to.get("data"))
            .and_then(Value::as_array)
            .and_then(|list| list.first())?;
        let author = if meta.is_automated_text(&text) {
            Author::Automation
        } else {
            Author::Agent
        };
        let id = text_of(to, "id")?;
        let name = text_of(to, "name")
            .or_else(|| text_of(to, "username"))
            .unwrap_or_else(|| id.clone());
        (id, name, author)
    } else {
        let name = text_of(from, "name")
            .or_else(|| text_of(from, "username"))
            .unwrap_or_else(|| from_id.clone());
        (from_id, name, Author::Customer)
    };
    Some(Incoming {
        inbox,
        contact_external_id: contact,
        contact_name: name,
        channel_message_id: id,
        at,
        author,
        text,
        attachments: Vec::new(),
    })
}
