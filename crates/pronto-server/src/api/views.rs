//! What the API sends: the store's records as JSON, instants in the contract's UTC format,
//! secrets and password hashes never.

use crate::live::utc;
use pronto_badge::{Millis, Status};
use pronto_core::conversation::UrgencyBand;
use pronto_core::store::{ConversationSummary, InboxEvent, InboxFact};
use pronto_core::{
    Attachment, ChannelKind, ContactId, ConversationId, Delivery, Inbox, InboxId, Member, Message,
    MessageId, Presence, Role, Template, TemplateId, UserId, WorkspaceId,
};
use serde::Serialize;

#[derive(Serialize)]
pub struct InboxView {
    pub id: InboxId,
    pub name: String,
    pub channel: ChannelKind,
    pub channel_key: Option<String>,
    pub settings: serde_json::Value,
    /// Whether channel secrets are stored (they are never returned).
    pub has_secrets: bool,
    /// Where the channel's webhooks reach this inbox, when `PRONTO_PUBLIC_URL` is set.
    pub webhook_url: Option<String>,
    pub created_at: String,
}

impl InboxView {
    pub fn new(inbox: &Inbox, public_url: Option<&str>) -> Self {
        let webhook_url = match (inbox.channel, public_url) {
            (ChannelKind::Messenger | ChannelKind::Instagram, Some(base)) => {
                Some(format!("{base}/webhooks/meta"))
            }
            _ => None,
        };
        Self {
            id: inbox.id,
            name: inbox.name.clone(),
            channel: inbox.channel,
            channel_key: inbox.channel_key.clone(),
            settings: inbox.settings.clone(),
            has_secrets: inbox.sealed_secrets.is_some(),
            webhook_url,
            created_at: utc(inbox.created_at),
        }
    }
}

#[derive(Serialize)]
pub struct ContactView {
    pub id: ContactId,
    pub name: String,
}

#[derive(Serialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub inbox: InboxId,
    pub channel: ChannelKind,
    pub contact: ContactView,
    pub status: Status,
    pub assignee: Option<UserId>,
    /// `first_answer` (a start waits for its answer), `follow_up` (a customer waits within
    /// the conversation), or `calm`.
    pub urgency: UrgencyBand,
    /// The start waiting for its first answer: what the badge counts.
    pub waiting_since: Option<String>,
    pub unanswered_since: Option<String>,
    pub reply_window_closes_at: Option<String>,
    pub last_message_at: Option<String>,
    pub last_activity_at: String,
    pub preview: String,
}

fn opt(at: Option<Millis>) -> Option<String> {
    at.map(utc)
}

impl ConversationView {
    pub fn new(summary: &ConversationSummary) -> Self {
        let c = &summary.conversation;
        let urgency = match c.status {
            Status::Open => c.urgency.rank(c.last_activity_at).0,
            Status::Done | Status::Spam => UrgencyBand::Calm,
        };
        Self {
            id: c.id,
            inbox: c.inbox,
            channel: summary.channel,
            contact: ContactView {
                id: c.contact,
                name: summary.contact_name.clone(),
            },
            status: c.status,
            assignee: c.assignee,
            urgency,
            waiting_since: opt(c.urgency.waiting_since),
            unanswered_since: opt(c.urgency.unanswered_since),
            reply_window_closes_at: opt(c.urgency.reply_window_closes_at),
            last_message_at: opt(c.urgency.last_message_at),
            last_activity_at: utc(c.last_activity_at),
            preview: c.preview.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct MessageView {
    pub id: MessageId,
    pub conversation: ConversationId,
    pub author: pronto_badge::Author,
    pub agent: Option<UserId>,
    pub channel_message_id: Option<String>,
    pub at: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// `{"state": "received"|"queued"|"sending"|"sent"}` or
    /// `{"state": "failed", "reason": "..."}`.
    pub delivery: Delivery,
}

impl MessageView {
    pub fn new(message: &Message) -> Self {
        Self {
            id: message.id,
            conversation: message.conversation,
            author: message.author,
            agent: message.agent,
            channel_message_id: message.channel_message_id.clone(),
            at: utc(message.at),
            text: message.text.clone(),
            attachments: message.attachments.clone(),
            delivery: message.delivery.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct MemberView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub presence: Presence,
    pub active: bool,
}

impl MemberView {
    pub fn new(member: &Member) -> Self {
        Self {
            id: member.user.id,
            email: member.user.email.clone(),
            name: member.user.name.clone(),
            role: member.role,
            presence: member.presence,
            active: member.user.active,
        }
    }
}

#[derive(Serialize)]
pub struct AvailabilityView {
    pub inbox: InboxId,
    /// The latest change: `away` or `available`.
    pub status: &'static str,
    pub until: Option<String>,
    pub at: Option<String>,
    pub by: Option<UserId>,
    /// Whether the inbox is away now (a manual Away without `until` ends after 12 hours).
    pub away_now: bool,
}

impl AvailabilityView {
    pub fn new(
        inbox: InboxId,
        event: Option<&InboxEvent>,
        now: Millis,
        away_reset: Millis,
    ) -> Self {
        let Some(InboxEvent {
            at,
            fact: InboxFact::Availability { availability, by },
            ..
        }) = event
        else {
            return Self {
                inbox,
                status: "available",
                until: None,
                at: None,
                by: None,
                away_now: false,
            };
        };
        let (status, until, away_now) = match availability {
            pronto_badge::Availability::Away { until } => {
                ("away", *until, now < until.unwrap_or(at + away_reset))
            }
            pronto_badge::Availability::Available => ("available", None, false),
        };
        Self {
            inbox,
            status,
            until: opt(until),
            at: Some(utc(*at)),
            by: *by,
            away_now,
        }
    }
}

#[derive(Serialize)]
pub struct WorkspaceView {
    pub id: WorkspaceId,
    pub name: String,
}

/// One line of the contract's JSON Lines for a stored event; the conversation is named by
/// its id.
pub fn jsonl_line(event: &InboxEvent) -> String {
    let at = utc(event.at);
    match &event.fact {
        InboxFact::Message {
            conversation,
            author,
        } => format!(
            r#"{{"type":"message","conversation":"{conversation}","at":"{at}","author":"{}"}}"#,
            author.as_str()
        ),
        InboxFact::Status {
            conversation,
            status,
            ..
        } => format!(
            r#"{{"type":"status","conversation":"{conversation}","at":"{at}","status":"{}"}}"#,
            status.as_str()
        ),
        InboxFact::Availability { availability, .. } => match availability {
            pronto_badge::Availability::Away { until: Some(until) } => format!(
                r#"{{"type":"availability","at":"{at}","status":"away","until":"{}"}}"#,
                utc(*until)
            ),
            pronto_badge::Availability::Away { until: None } => {
                format!(r#"{{"type":"availability","at":"{at}","status":"away"}}"#)
            }
            pronto_badge::Availability::Available => {
                format!(r#"{{"type":"availability","at":"{at}","status":"available"}}"#)
            }
        },
    }
}

/// A reply template as the API sends it.
#[derive(Serialize)]
pub struct TemplateView {
    pub id: TemplateId,
    pub title: String,
    pub text: String,
    pub language: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: String,
    pub updated_at: String,
}

impl TemplateView {
    pub fn new(template: &Template) -> Self {
        Self {
            id: template.id,
            title: template.title.clone(),
            text: template.text.clone(),
            language: template.language.clone(),
            created_by: template.created_by,
            created_at: utc(template.created_at),
            updated_at: utc(template.updated_at),
        }
    }
}
