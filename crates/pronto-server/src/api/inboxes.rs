//! Inboxes (admins create, change and delete them), their availability, their live figures
//! and their event log in the contract's JSON Lines.

use super::created;
use super::views::{AvailabilityView, InboxView, jsonl_line};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Json, Path};
use crate::meta::graph::{Account, CallError};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pronto_badge::{Availability, parse_instant};
use pronto_core::store::{InboxUpdate, NewInbox, Store};
use pronto_core::{ChannelKind, Inbox, InboxId};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// `{"name": "...", "channel": "playground"}`,
/// `{"name": "...", "channel": "messenger", "messenger": {"page_id", "page_access_token"}}` or
/// `{"name": "...", "channel": "instagram", "instagram": {"access_token"}}`.
/// Each channel's own settings come under a key named after it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInbox {
    name: String,
    channel: String,
    messenger: Option<MessengerSettings>,
    instagram: Option<InstagramSettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessengerSettings {
    page_id: String,
    page_access_token: String,
    #[serde(flatten)]
    options: MetaOptions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstagramSettings {
    /// An Instagram user access token (Instagram API with Instagram Login).
    access_token: String,
    #[serde(flatten)]
    options: MetaOptions,
}

/// Settings both of Meta's channels have.
#[derive(Default, Deserialize)]
pub struct MetaOptions {
    /// Let people reply up to 7 days after the customer's last message (`HUMAN_AGENT`).
    human_agent: Option<bool>,
    /// The texts of the page's automated responses (instant reply, away message, FAQ
    /// answers): their echoes are automation, which the figures leave out.
    automated_texts: Option<Vec<String>>,
    /// Import the last 30 days on connecting (default true).
    backfill: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateInbox {
    name: Option<String>,
    messenger: Option<MetaUpdate>,
    instagram: Option<MetaUpdate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaUpdate {
    /// A new Page access token (Messenger) or Instagram user token.
    page_access_token: Option<String>,
    access_token: Option<String>,
    human_agent: Option<bool>,
    automated_texts: Option<Vec<String>>,
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_request(
            "name: give an inbox name of 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

fn check_token<'a>(field: &str, token: &'a str) -> AppResult<&'a str> {
    let token = token.trim();
    if token.is_empty() || token.len() > 4096 || token.chars().any(char::is_whitespace) {
        return Err(AppError::bad_request(format!(
            "{field}: give the access token (no spaces)"
        )));
    }
    Ok(token)
}

fn check_automated_texts(field: &str, texts: &[String]) -> AppResult<Vec<String>> {
    if texts.len() > 50 {
        return Err(AppError::bad_request(format!("{field}: at most 50 texts")));
    }
    texts
        .iter()
        .map(|text| {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > 2_000 {
                Err(AppError::bad_request(format!(
                    "{field}: each text has 1 to 2000 characters"
                )))
            } else {
                Ok(text.to_owned())
            }
        })
        .collect()
}

/// Puts the shared Meta options into an inbox's settings.
fn apply_options(
    channel: ChannelKind,
    settings: &mut serde_json::Value,
    human_agent: Option<bool>,
    automated_texts: Option<&[String]>,
) -> AppResult<()> {
    if let Some(human_agent) = human_agent {
        settings["human_agent"] = json!(human_agent);
    }
    if let Some(texts) = automated_texts {
        settings["automated_texts"] = json!(check_automated_texts(
            &format!("{channel}.automated_texts"),
            texts
        )?);
    }
    Ok(())
}

/// Meta's refusal as the API's error, with Meta's own message.
fn meta_error(error: CallError) -> AppError {
    match error {
        CallError::Graph(error) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "meta_refused",
            format!("Meta refused: {error}"),
        ),
        CallError::Transport(message) => {
            AppError::new(StatusCode::BAD_GATEWAY, "meta_unreachable", message)
        }
    }
}

/// Checks a token with Meta (`GET /me`) and subscribes the app to the account's webhooks.
async fn connect<S: Store>(
    app: &App<S>,
    channel: ChannelKind,
    token: &str,
    expected_account: Option<&str>,
) -> AppResult<Account> {
    let graph = &app.graph;
    let account = graph.me(channel, token).await.map_err(meta_error)?;
    if let Some(expected) = expected_account
        && account.id != expected
    {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "meta_refused",
            format!(
                "this token belongs to {} ({}), not to {expected}",
                account.id, account.name
            ),
        ));
    }
    graph
        .subscribe(channel, &account.id, token)
        .await
        .map_err(meta_error)?;
    Ok(account)
}

fn view<S: Store>(app: &App<S>, inbox: &Inbox) -> InboxView {
    InboxView::new(inbox, app.settings.public_url.as_deref())
}

pub async fn list<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> AppResult<axum::Json<serde_json::Value>> {
    let inboxes = app.store.inboxes(caller.workspace).await?;
    let items: Vec<InboxView> = inboxes.iter().map(|i| view(&app, i)).collect();
    Ok(axum::Json(json!({ "items": items })))
}

pub async fn create<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Json(request): Json<CreateInbox>,
) -> AppResult<Response> {
    caller.require_admin()?;
    let name = check_name(&request.name)?;
    let channel: ChannelKind = request
        .channel
        .parse()
        .map_err(|e: pronto_core::UnknownName| AppError::bad_request(format!("channel: {e}")))?;
    let mut backfill = false;
    let new = match (channel, request.messenger, request.instagram) {
        (ChannelKind::Playground, None, None) => NewInbox {
            name,
            channel,
            channel_key: None,
            settings: json!({}),
            sealed_secrets: None,
        },
        (ChannelKind::Messenger, Some(messenger), None) => {
            let page_id = messenger.page_id.trim();
            if page_id.is_empty()
                || page_id.len() > 64
                || !page_id.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(AppError::bad_request(
                    "messenger.page_id: give the Facebook Page's numeric id",
                ));
            }
            let token = check_token("messenger.page_access_token", &messenger.page_access_token)?;
            let options = &messenger.options;
            let mut settings = json!({"page_id": page_id});
            apply_options(
                channel,
                &mut settings,
                options.human_agent,
                options.automated_texts.as_deref(),
            )?;
            let account = connect(&app, channel, token, Some(page_id)).await?;
            settings["page_name"] = json!(account.name);
            backfill = options.backfill != Some(false);
            let secrets = json!({"page_access_token": token}).to_string();
            NewInbox {
                name,
                channel,
                channel_key: Some(page_id.to_owned()),
                settings,
                sealed_secrets: Some(app.key.seal(secrets.as_bytes())),
            }
        }
        (ChannelKind::Instagram, None, Some(instagram)) => {
            let token = check_token("instagram.access_token", &instagram.access_token)?;
            let options = &instagram.options;
            let mut settings = json!({});
            apply_options(
                channel,
                &mut settings,
                options.human_agent,
                options.automated_texts.as_deref(),
            )?;
            let account = connect(&app, channel, token, None).await?;
            settings["account_id"] = json!(account.id);
            settings["username"] = json!(account.name);
            backfill = options.backfill != Some(false);
            let secrets = json!({"access_token": token}).to_string();
            NewInbox {
                name,
                channel,
                channel_key: Some(account.id),
                settings,
                sealed_secrets: Some(app.key.seal(secrets.as_bytes())),
            }
        }
        (ChannelKind::Messenger, None, _) => {
            return Err(AppError::bad_request(
                "messenger: a Messenger inbox needs {\"page_id\", \"page_access_token\"}",
            ));
        }
        (ChannelKind::Instagram, _, None) => {
            return Err(AppError::bad_request(
                "instagram: an Instagram inbox needs {\"access_token\"}",
            ));
        }
        (ChannelKind::Playground | ChannelKind::Messenger | ChannelKind::Instagram, _, _) => {
            return Err(AppError::bad_request(
                "messenger, instagram: settings for another channel than this inbox's",
            ));
        }
        (other, _, _) => {
            return Err(AppError::bad_request(format!(
                "channel: {other} inboxes are not supported yet (playground, messenger, instagram)"
            )));
        }
    };
    let inbox = app
        .store
        .create_inbox(caller.workspace, &new, app.now())
        .await?;
    app.live.sync(&app.store, inbox.workspace, inbox.id).await?;
    if backfill {
        crate::meta::backfill::spawn(app.clone(), inbox.workspace, inbox.id);
    }
    Ok(created(
        format!("/api/v1/inboxes/{}", inbox.id),
        view(&app, &inbox),
    ))
}

pub async fn show<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<InboxView>> {
    let inbox = app.store.inbox(caller.workspace, InboxId(id)).await?;
    Ok(axum::Json(view(&app, &inbox)))
}

pub async fn update<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<UpdateInbox>,
) -> AppResult<axum::Json<InboxView>> {
    caller.require_admin()?;
    let inbox = app.store.inbox(caller.workspace, InboxId(id)).await?;
    let mut update = InboxUpdate::default();
    if let Some(name) = &request.name {
        update.name = Some(check_name(name)?);
    }
    let meta_update = match (inbox.channel, &request.messenger, &request.instagram) {
        (_, None, None) => None,
        (ChannelKind::Messenger, Some(update), None) => Some((
            update,
            "page_access_token",
            update.page_access_token.as_deref(),
            update.access_token.is_some(),
        )),
        (ChannelKind::Instagram, None, Some(update)) => Some((
            update,
            "access_token",
            update.access_token.as_deref(),
            update.page_access_token.is_some(),
        )),
        _ => {
            return Err(AppError::bad_request(format!(
                "messenger, instagram: this inbox is a {} inbox",
                inbox.channel
            )));
        }
    };
    let mut problem_cleared = false;
    if let Some((meta, key, token, wrong_key)) = meta_update {
        let field = format!("{}.{key}", inbox.channel);
        if wrong_key {
            return Err(AppError::bad_request(format!(
                "{}: this channel's token is {field}",
                inbox.channel
            )));
        }
        let mut settings = inbox.settings.clone();
        apply_options(
            inbox.channel,
            &mut settings,
            meta.human_agent,
            meta.automated_texts.as_deref(),
        )?;
        if let Some(token) = token {
            let token = check_token(&field, token)?;
            connect(&app, inbox.channel, token, inbox.channel_key.as_deref()).await?;
            let secrets = json!({ key: token }).to_string();
            update.sealed_secrets = Some(app.key.seal(secrets.as_bytes()));
            // A working token is what a flagged inbox waited for.
            if let Some(map) = settings.as_object_mut() {
                problem_cleared = map.remove("problem").is_some();
            }
        }
        update.settings = Some(settings);
    }
    let inbox = app
        .store
        .update_inbox(caller.workspace, inbox.id, &update)
        .await?;
    if problem_cleared {
        app.outbox_signal(inbox.channel).notify_one();
    }
    Ok(axum::Json(view(&app, &inbox)))
}

pub async fn delete<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    caller.require_admin()?;
    app.store
        .delete_inbox(caller.workspace, InboxId(id))
        .await?;
    app.live.remove(InboxId(id));
    Ok(StatusCode::NO_CONTENT)
}

pub async fn availability<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<AvailabilityView>> {
    let inbox = app.store.inbox(caller.workspace, InboxId(id)).await?;
    let event = app.store.availability(caller.workspace, inbox.id).await?;
    Ok(axum::Json(AvailabilityView::new(
        inbox.id,
        event.as_ref(),
        app.now(),
        app.rules().away_reset,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAvailability {
    status: String,
    until: Option<String>,
}

pub async fn set_availability<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<SetAvailability>,
) -> AppResult<axum::Json<AvailabilityView>> {
    let inbox = app.store.inbox(caller.workspace, InboxId(id)).await?;
    let now = app.now();
    let until = match request.until.as_deref() {
        None => None,
        Some(text) => Some(parse_instant(text).ok_or_else(|| {
            AppError::bad_request(format!(
                "until: {text:?} is not a time like 2026-11-24T18:00:00Z"
            ))
        })?),
    };
    let availability = match (request.status.as_str(), until) {
        ("away", Some(until)) if until <= now => {
            return Err(AppError::bad_request("until: it must be in the future"));
        }
        ("away", until) => Availability::Away { until },
        ("available", None) => Availability::Available,
        ("available", Some(_)) => {
            return Err(AppError::bad_request(
                "until: only an away status has an end",
            ));
        }
        (other, _) => {
            return Err(AppError::bad_request(format!(
                "status: {other:?} is neither away nor available"
            )));
        }
    };
    let event = app
        .set_availability(caller.workspace, inbox.id, availability, Some(caller.user))
        .await?;
    Ok(axum::Json(AvailabilityView::new(
        inbox.id,
        Some(&event),
        app.now(),
        app.rules().away_reset,
    )))
}

/// The contract's JSON for the inbox now, with the forecast, from its live badge.
pub async fn responsiveness<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let inbox = app.store.inbox(caller.workspace, InboxId(id)).await?;
    app.live
        .sync(&app.store, caller.workspace, inbox.id)
        .await?;
    let report = app
        .live
        .report(inbox.id, app.now())
        .ok_or_else(|| AppError::internal("the live badge has no figures"))?;
    Ok(axum::Json(report).into_response())
}

/// The inbox's log in the contract's JSON Lines, streamed page by page (each page in the
/// contract's order; among equal instants the lines keep the sequence's order, which is all
/// the contract asks of a file).
pub async fn events_jsonl<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let inbox = app.store.inbox(caller.workspace, InboxId(id)).await?;
    const PAGE: u32 = 2_000;
    let workspace = caller.workspace;
    let state = (app, Some(0i64));
    let stream = futures_util::stream::unfold(state, move |(app, after)| async move {
        let after = after?;
        match app
            .store
            .inbox_events(workspace, inbox.id, after, PAGE)
            .await
        {
            Ok(page) if page.is_empty() => None,
            Ok(page) => {
                let next = (page.len() as u32 == PAGE)
                    .then(|| page.iter().map(|e| e.seq).max().unwrap_or(after));
                let mut text = String::with_capacity(page.len() * 96);
                for event in &page {
                    text.push_str(&jsonl_line(event));
                    text.push('\n');
                }
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(text)), (app, next)))
            }
            Err(error) => {
                tracing::error!(%error, "events.jsonl: the export stopped");
                Some((
                    Err(std::io::Error::other("the export stopped")),
                    (app, None),
                ))
            }
        }
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/jsonl; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"inbox-{}.jsonl\"", inbox.id),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
