//! The helpdesk's records, as the store returns them.

use crate::ids::*;
use pronto_badge::{Author, Millis, Status};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An error for a word that is not one of an enum's names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: expected one of {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Enums stored and sent as lower-case words.
macro_rules! named {
    ($what:literal, $name:ident { $($variant:ident = $word:literal),* $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),* }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(value: &str) -> Result<Self, UnknownName> {
                match value {
                    $($word => Ok($name::$variant),)*
                    _ => Err(UnknownName {
                        what: $what,
                        value: value.to_owned(),
                        expected: concat!($($word, " "),*),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}
named!("role", Role { Admin = "admin", Agent = "agent" });

/// Whether an agent is at work; routing will use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Busy,
    Offline,
}
named!("presence", Presence { Online = "online", Busy = "busy", Offline = "offline" });

/// Where an inbox's messages come from and go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Simulated customers on this machine, for the demo and for trying Pronto out.
    Playground,
    Messenger,
    Instagram,
    Email,
    Webchat,
    Api,
}
named!("channel", ChannelKind {
    Playground = "playground",
    Messenger = "messenger",
    Instagram = "instagram",
    Email = "email",
    Webchat = "webchat",
    Api = "api",
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// An argon2id PHC string; never sent to clients.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub active: bool,
    pub created_at: Millis,
}

/// A user's place in a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub workspace: WorkspaceId,
    pub user: User,
    pub role: Role,
    pub presence: Presence,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub id: InboxId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub channel: ChannelKind,
    /// The channel's own key, unique per channel kind across the installation (a page id,
    /// an Instagram account id, an email address); the one lookup not led by the workspace.
    pub channel_key: Option<String>,
    /// Channel settings that are not secret (JSON object).
    pub settings: serde_json::Value,
    /// Channel secrets, encrypted at rest by the store's caller; never returned by the API.
    #[serde(skip_serializing)]
    pub sealed_secrets: Option<Vec<u8>>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub workspace: WorkspaceId,
    pub inbox: InboxId,
    /// The channel's identity of the customer (a Messenger PSID, an email address).
    pub external_id: String,
    pub name: String,
}

/// One thread per (inbox, contact), as Meta keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace: WorkspaceId,
    pub inbox: InboxId,
    pub contact: ContactId,
    pub status: Status,
    pub assignee: Option<UserId>,
    /// The urgency fields, kept up to date by [`crate::conversation::Urgency`].
    #[serde(flatten)]
    pub urgency: crate::conversation::Urgency,
    pub last_activity_at: Millis,
    /// The latest message's text, shortened, for lists.
    pub preview: String,
}

/// Where an agent's reply is on its way to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum Delivery {
    /// Received from the channel (customer messages, echoes of replies made elsewhere).
    Received,
    /// Waiting in the outbox; no channel can send it yet, or its turn has not come.
    Queued,
    /// Handed to the channel; the answer is not known yet.
    Sending,
    /// Accepted by the channel: it counts from this moment.
    Sent,
    /// Refused for good, with the channel's reason; it never counts.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub kind: String,
    pub url: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub workspace: WorkspaceId,
    pub conversation: ConversationId,
    pub author: Author,
    /// The agent who wrote it, for replies sent from Pronto.
    pub agent: Option<UserId>,
    /// The channel's id of the message (Messenger's `mid`), once it has one.
    pub channel_message_id: Option<String>,
    /// The channel's time of the message; for a reply, when the channel accepted it.
    pub at: Millis,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub delivery: Delivery,
}

/// A message arriving from a channel, before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub inbox: InboxId,
    pub contact_external_id: String,
    pub contact_name: String,
    /// Ingest is idempotent on (inbox, channel message id).
    pub channel_message_id: String,
    pub at: Millis,
    pub author: Author,
    pub text: String,
    pub attachments: Vec<Attachment>,
}

/// An API token's record; the token itself is shown once and only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub label: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// A reply template: a ready answer an agent picks instead of typing it again. Titles are
/// unique within a workspace; [`crate::template`] holds the rules of a valid one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub workspace: WorkspaceId,
    pub title: String,
    pub text: String,
    /// The language the text is written in, as a lower-case language tag (`en`, `ru`,
    /// `pt-br`), when the template says.
    pub language: Option<String>,
    /// The member who created it, when a person did.
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}
