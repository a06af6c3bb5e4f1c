//! Rows as the database holds them, and their domain records. Enums are stored as their
//! lower-case names, instants as integer milliseconds, JSON as JSON.

use pronto_badge::{Author, Availability, Status};
use pronto_core::conversation::{Urgency, UrgencyBand};
use pronto_core::store::{
    Change, ChangeKind, ConversationSummary, InboxEvent, InboxFact, OutboxEntry, Session,
    StoreError, StoreResult,
};
use pronto_core::*;
use sqlx::types::Json;
use std::str::FromStr;

pub fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Unavailable(format!("the database holds an unknown {what} {value:?}"))
}

fn parse<T: FromStr>(what: &str, value: &str) -> StoreResult<T> {
    value.parse().map_err(|_| corrupt(what, value))
}

pub fn status(value: &str) -> StoreResult<Status> {
    Status::from_name(value).ok_or_else(|| corrupt("status", value))
}

pub fn author(value: &str) -> StoreResult<Author> {
    Author::from_name(value).ok_or_else(|| corrupt("author", value))
}

pub fn band_number(band: UrgencyBand) -> i64 {
    band as i64
}

pub fn band(value: i64) -> StoreResult<UrgencyBand> {
    match value {
        0 => Ok(UrgencyBand::FirstAnswer),
        1 => Ok(UrgencyBand::FollowUp),
        2 => Ok(UrgencyBand::Calm),
        _ => Err(corrupt("urgency band", &value.to_string())),
    }
}

/// A message's delivery as its two columns.
pub fn delivery_columns(delivery: &Delivery) -> (&'static str, Option<&str>) {
    match delivery {
        Delivery::Received => ("received", None),
        Delivery::Queued => ("queued", None),
        Delivery::Sending => ("sending", None),
        Delivery::Sent => ("sent", None),
        Delivery::Failed(reason) => ("failed", Some(reason)),
    }
}

#[derive(sqlx::FromRow)]
pub struct WorkspaceRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

impl From<WorkspaceRow> for Workspace {
    fn from(row: WorkspaceRow) -> Self {
        Workspace {
            id: WorkspaceId(row.id),
            name: row.name,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub active: bool,
    pub created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            email: row.email,
            name: row.name,
            password_hash: row.password_hash,
            active: row.active,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct MemberRow {
    pub workspace_id: i64,
    pub role: String,
    pub presence: String,
    #[sqlx(flatten)]
    pub user: UserRow,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;

    fn try_from(row: MemberRow) -> StoreResult<Self> {
        Ok(Member {
            workspace: WorkspaceId(row.workspace_id),
            role: parse("role", &row.role)?,
            presence: parse("presence", &row.presence)?,
            user: row.user.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct MembershipRow {
    pub role: String,
    #[sqlx(flatten)]
    pub workspace: WorkspaceRow,
}

impl TryFrom<MembershipRow> for (Workspace, Role) {
    type Error = StoreError;

    fn try_from(row: MembershipRow) -> StoreResult<Self> {
        Ok((row.workspace.into(), parse("role", &row.role)?))
    }
}

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub user_id: i64,
    pub workspace_id: i64,
    pub csrf_token: String,
    pub expires_at: i64,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Session {
            token_hash: row.token_hash,
            user: UserId(row.user_id),
            workspace: WorkspaceId(row.workspace_id),
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub workspace_id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(row: ApiTokenRow) -> Self {
        ApiToken {
            id: TokenId(row.id),
            workspace: WorkspaceId(row.workspace_id),
            user: UserId(row.user_id),
            label: row.label,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct InboxRow {
    pub workspace_id: i64,
    pub id: i64,
    pub name: String,
    pub channel: String,
    pub channel_key: Option<String>,
    pub settings: Json<serde_json::Value>,
    pub sealed_secrets: Option<Vec<u8>>,
    pub created_at: i64,
}

impl TryFrom<InboxRow> for Inbox {
    type Error = StoreError;

    fn try_from(row: InboxRow) -> StoreResult<Self> {
        Ok(Inbox {
            id: InboxId(row.id),
            workspace: WorkspaceId(row.workspace_id),
            name: row.name,
            channel: parse("channel", &row.channel)?,
            channel_key: row.channel_key,
            settings: row.settings.0,
            sealed_secrets: row.sealed_secrets,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ContactRow {
    pub workspace_id: i64,
    pub id: i64,
    pub inbox_id: i64,
    pub external_id: String,
    pub name: String,
}

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Self {
        Contact {
            id: ContactId(row.id),
            workspace: WorkspaceId(row.workspace_id),
            inbox: InboxId(row.inbox_id),
            external_id: row.external_id,
            name: row.name,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct ConversationRow {
    pub workspace_id: i64,
    pub id: i64,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub status: String,
    pub status_at: Option<i64>,
    pub assignee_id: Option<i64>,
    pub last_message_at: Option<i64>,
    pub waiting_since: Option<i64>,
    pub unanswered_since: Option<i64>,
    pub reply_window_closes_at: Option<i64>,
    pub last_activity_at: i64,
    pub preview: String,
}

/// A conversation with the column that is not part of the domain record.
#[derive(Clone, Debug)]
pub struct StoredConversation {
    pub conversation: Conversation,
    pub status_at: Option<i64>,
}

impl TryFrom<ConversationRow> for StoredConversation {
    type Error = StoreError;

    fn try_from(row: ConversationRow) -> StoreResult<Self> {
        Ok(StoredConversation {
            status_at: row.status_at,
            conversation: Conversation {
                id: ConversationId(row.id),
                workspace: WorkspaceId(row.workspace_id),
                inbox: InboxId(row.inbox_id),
                contact: ContactId(row.contact_id),
                status: status(&row.status)?,
                assignee: row.assignee_id.map(UserId),
                urgency: Urgency {
                    last_message_at: row.last_message_at,
                    waiting_since: row.waiting_since,
                    unanswered_since: row.unanswered_since,
                    reply_window_closes_at: row.reply_window_closes_at,
                },
                last_activity_at: row.last_activity_at,
                preview: row.preview,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct SummaryRow {
    #[sqlx(flatten)]
    pub conversation: ConversationRow,
    pub contact_name: String,
    pub channel: String,
    pub rank_band: i64,
    pub rank_at: i64,
}

impl SummaryRow {
    pub fn into_summary(self) -> StoreResult<(ConversationSummary, (UrgencyBand, i64))> {
        let rank = (band(self.rank_band)?, self.rank_at);
        let summary = ConversationSummary {
            conversation: StoredConversation::try_from(self.conversation)?.conversation,
            contact_name: self.contact_name,
            channel: parse("channel", &self.channel)?,
        };
        Ok((summary, rank))
    }
}

#[derive(sqlx::FromRow)]
pub struct MessageRow {
    pub workspace_id: i64,
    pub id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub author: String,
    pub agent_id: Option<i64>,
    pub channel_message_id: Option<String>,
    pub at: i64,
    pub text: String,
    pub attachments: Json<Vec<Attachment>>,
    pub delivery: String,
    pub delivery_reason: Option<String>,
}

impl MessageRow {
    pub fn into_message(self) -> StoreResult<(InboxId, Message)> {
        let delivery = match self.delivery.as_str() {
            "received" => Delivery::Received,
            "queued" => Delivery::Queued,
            "sending" => Delivery::Sending,
            "sent" => Delivery::Sent,
            "failed" => Delivery::Failed(self.delivery_reason.unwrap_or_default()),
            other => return Err(corrupt("delivery", other)),
        };
        Ok((
            InboxId(self.inbox_id),
            Message {
                id: MessageId(self.id),
                workspace: WorkspaceId(self.workspace_id),
                conversation: ConversationId(self.conversation_id),
                author: author(&self.author)?,
                agent: self.agent_id.map(UserId),
                channel_message_id: self.channel_message_id,
                at: self.at,
                text: self.text,
                attachments: self.attachments.0,
                delivery,
            },
        ))
    }
}

/// An event's columns, from its fact.
pub struct EventColumns {
    pub kind: &'static str,
    pub conversation_id: Option<i64>,
    pub author: Option<&'static str>,
    pub status: Option<&'static str>,
    pub availability: Option<&'static str>,
    pub until: Option<i64>,
    pub by_user: Option<i64>,
}

impl EventColumns {
    pub fn of(fact: &InboxFact) -> Self {
        let none = EventColumns {
            kind: "message",
            conversation_id: None,
            author: None,
            status: None,
            availability: None,
            until: None,
            by_user: None,
        };
        match fact {
            InboxFact::Message {
                conversation,
                author,
            } => EventColumns {
                conversation_id: Some(conversation.0),
                author: Some(author.as_str()),
                ..none
            },
            InboxFact::Status {
                conversation,
                status,
                by,
            } => EventColumns {
                kind: "status",
                conversation_id: Some(conversation.0),
                status: Some(status.as_str()),
                by_user: by.map(|u| u.0),
                ..none
            },
            InboxFact::Availability { availability, by } => EventColumns {
                kind: "availability",
                availability: Some(match availability {
                    Availability::Away { .. } => "away",
                    Availability::Available => "available",
                }),
                until: match availability {
                    Availability::Away { until } => *until,
                    Availability::Available => None,
                },
                by_user: by.map(|u| u.0),
                ..none
            },
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub inbox_id: i64,
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub conversation_id: Option<i64>,
    pub author: Option<String>,
    pub status: Option<String>,
    pub availability: Option<String>,
    pub until: Option<i64>,
    pub by_user: Option<i64>,
}

impl TryFrom<EventRow> for InboxEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> StoreResult<Self> {
        let conversation = || {
            row.conversation_id
                .map(ConversationId)
                .ok_or_else(|| corrupt("event without a conversation", &row.seq.to_string()))
        };
        let fact = match row.kind.as_str() {
            "message" => InboxFact::Message {
                conversation: conversation()?,
                author: author(row.author.as_deref().unwrap_or_default())?,
            },
            "status" => InboxFact::Status {
                conversation: conversation()?,
                status: status(row.status.as_deref().unwrap_or_default())?,
                by: row.by_user.map(UserId),
            },
            "availability" => InboxFact::Availability {
                availability: match row.availability.as_deref() {
                    Some("away") => Availability::Away { until: row.until },
                    Some("available") => Availability::Available,
                    other => return Err(corrupt("availability", other.unwrap_or_default())),
                },
                by: row.by_user.map(UserId),
            },
            other => return Err(corrupt("event kind", other)),
        };
        Ok(InboxEvent {
            inbox: InboxId(row.inbox_id),
            seq: row.seq,
            at: row.at,
            fact,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct OutboxRow {
    pub workspace_id: i64,
    pub id: i64,
    pub inbox_id: i64,
    pub channel: String,
    pub conversation_id: i64,
    pub message_id: i64,
    pub contact_external_id: String,
    pub text: String,
    pub attempts: i64,
    pub created_at: i64,
}

impl TryFrom<OutboxRow> for OutboxEntry {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> StoreResult<Self> {
        Ok(OutboxEntry {
            id: OutboxId(row.id),
            workspace: WorkspaceId(row.workspace_id),
            inbox: InboxId(row.inbox_id),
            channel: parse("channel", &row.channel)?,
            conversation: ConversationId(row.conversation_id),
            message: MessageId(row.message_id),
            contact_external_id: row.contact_external_id,
            text: row.text,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ChangeRow {
    pub workspace_id: i64,
    pub id: i64,
    pub at: i64,
    pub kind: Json<ChangeKind>,
}

impl From<ChangeRow> for Change {
    fn from(row: ChangeRow) -> Self {
        Change {
            id: row.id,
            workspace: WorkspaceId(row.workspace_id),
            at: row.at,
            kind: row.kind.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct TemplateRow {
    pub workspace_id: i64,
    pub id: i64,
    pub title: String,
    pub text: String,
    pub language: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<TemplateRow> for Template {
    fn from(row: TemplateRow) -> Self {
        Template {
            id: TemplateId(row.id),
            workspace: WorkspaceId(row.workspace_id),
            title: row.title,
            text: row.text,
            language: row.language,
            created_by: row.created_by.map(UserId),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
