//! Conversations: the filtered, ordered, cursor-paged list; one with its messages; status,
//! assignment and replies.

use super::views::{ConversationView, MessageView};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pronto_badge::Status;
use pronto_core::store::{ConversationOrder, ConversationQuery, Store};
use pronto_core::{ChannelKind, ConversationId, InboxId, UserId};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    inbox: Option<i64>,
    status: Option<String>,
    /// `me`, `none` (unassigned) or a user id.
    assignee: Option<String>,
    waiting: Option<bool>,
    /// `urgency` (default) or `activity`.
    order: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> AppResult<axum::Json<serde_json::Value>> {
    let inbox = match query.inbox {
        Some(id) => Some(app.store.inbox(caller.workspace, InboxId(id)).await?.id),
        None => None,
    };
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(parse_status(text)?),
    };
    let assignee = match query.assignee.as_deref() {
        None => None,
        Some("me") => Some(Some(caller.user)),
        Some("none") => Some(None),
        Some(text) => Some(Some(UserId(text.parse().map_err(|_| {
            AppError::bad_request(format!(
                "assignee: {text:?} is neither me, none nor a user id"
            ))
        })?))),
    };
    let order = match query.order.as_deref() {
        None | Some("urgency") => ConversationOrder::Urgency,
        Some("activity") => ConversationOrder::Activity,
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "order: {other:?} is neither urgency nor activity"
            )));
        }
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::bad_request("limit: between 1 and 200"));
    }
    let page = app
        .store
        .conversations(
            caller.workspace,
            &ConversationQuery {
                inbox,
                status,
                assignee,
                waiting: query.waiting.unwrap_or(false),
                order,
                cursor: query.cursor,
                limit,
            },
        )
        .await?;
    let items: Vec<ConversationView> = page.items.iter().map(ConversationView::new).collect();
    Ok(axum::Json(json!({"items": items, "next": page.next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountsQuery {
    inbox: Option<i64>,
}

/// The sizes of the inbox's views (Unanswered, Mine, Unassigned, Open, Done, Spam), in one
/// inbox or all of them: read from counters, so as cheap with a million conversations as with
/// ten.
pub async fn counts<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Query(query): Query<CountsQuery>,
) -> AppResult<axum::Json<pronto_core::store::ConversationCounts>> {
    let inbox = match query.inbox {
        Some(id) => Some(app.store.inbox(caller.workspace, InboxId(id)).await?.id),
        None => None,
    };
    let counts = app
        .store
        .conversation_counts(caller.workspace, inbox, caller.user)
        .await?;
    Ok(axum::Json(counts))
}

fn parse_status(text: &str) -> AppResult<Status> {
    Status::from_name(text).ok_or_else(|| {
        AppError::bad_request(format!("status: {text:?} is not one of open, done, spam"))
    })
}

pub async fn show<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<serde_json::Value>> {
    let summary = app
        .store
        .conversation(caller.workspace, ConversationId(id))
        .await?;
    let messages = app
        .store
        .messages(caller.workspace, ConversationId(id))
        .await?;
    let messages: Vec<MessageView> = messages.iter().map(MessageView::new).collect();
    let mut body =
        serde_json::to_value(ConversationView::new(&summary)).map_err(AppError::internal)?;
    body["messages"] = serde_json::to_value(messages).map_err(AppError::internal)?;
    Ok(axum::Json(body))
}

async fn current<S: Store>(
    app: &App<S>,
    caller: &Caller,
    id: ConversationId,
) -> AppResult<axum::Json<ConversationView>> {
    let summary = app.store.conversation(caller.workspace, id).await?;
    Ok(axum::Json(ConversationView::new(&summary)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    status: String,
}

pub async fn set_status<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<SetStatus>,
) -> AppResult<axum::Json<ConversationView>> {
    let status = parse_status(&request.status)?;
    let id = ConversationId(id);
    app.set_status(caller.workspace, id, status, Some(caller.user))
        .await?;
    current(&app, &caller, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// A user id, `"me"`, or null to unassign.
    assignee: serde_json::Value,
}

pub async fn assign<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<Assign>,
) -> AppResult<axum::Json<ConversationView>> {
    let assignee = match &request.assignee {
        serde_json::Value::Null => None,
        serde_json::Value::String(me) if me == "me" => Some(caller.user),
        serde_json::Value::Number(n) if n.as_i64().is_some() => {
            Some(UserId(n.as_i64().unwrap_or_default()))
        }
        _ => {
            return Err(AppError::bad_request(
                "assignee: a user id, \"me\", or null",
            ));
        }
    };
    let id = ConversationId(id);
    // The conversation first: an unknown one is 404 whatever the assignee.
    app.store.conversation(caller.workspace, id).await?;
    if let Some(user) = assignee
        && app.store.member(caller.workspace, user).await?.is_none()
    {
        return Err(AppError::bad_request(
            "assignee: no such member of this workspace",
        ));
    }
    app.assign(caller.workspace, id, assignee).await?;
    current(&app, &caller, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    text: String,
}

/// Queues a reply; it is sent by the channel's outbox worker and counts once accepted.
pub async fn reply<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<Reply>,
) -> AppResult<Response> {
    let id = ConversationId(id);
    let summary = app.store.conversation(caller.workspace, id).await?;
    let text = request.text.trim();
    if text.is_empty() || text.chars().count() > 10_000 {
        return Err(AppError::bad_request(
            "text: give a reply of 1 to 10000 characters",
        ));
    }
    if matches!(
        summary.channel,
        ChannelKind::Messenger | ChannelKind::Instagram
    ) {
        let instagram = summary.channel == ChannelKind::Instagram;
        if let Some(problem) = pronto_channels::meta_api::text_problem(instagram, text) {
            return Err(AppError::bad_request(format!("text: {problem}")));
        }
        // Meta's 24-hour policy: outside the window the Send API refuses a standard reply;
        // with the inbox's HUMAN_AGENT tag a person may reply for 7 days.
        let inbox = app
            .store
            .inbox(caller.workspace, summary.conversation.inbox)
            .await?;
        let human_agent =
            crate::meta::MetaInbox::of(&app.key, &inbox).is_some_and(|m| m.human_agent);
        let last_customer_message_at = summary
            .conversation
            .urgency
            .last_customer_message_at(app.rules());
        if pronto_channels::meta_api::messaging_type(
            last_customer_message_at,
            app.now(),
            human_agent,
        )
        .is_none()
        {
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "window_closed",
                if human_agent {
                    "the customer's last message is more than 7 days old: Meta no longer takes a reply, even with the HUMAN_AGENT tag"
                } else {
                    "the customer's last message is more than 24 hours old: Meta no longer takes a reply (an admin can enable the HUMAN_AGENT tag on the inbox for 7 days)"
                },
            ));
        }
    }
    let (message, _entry) = app.reply(caller.workspace, id, caller.user, text).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(MessageView::new(&message))).into_response())
}
