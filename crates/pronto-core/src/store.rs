//! The storage port. Two adapters implement it (SQLite, PostgreSQL) and one conformance story
//! holds both to the same behaviour.
//!
//! Every method that reads or writes a tenant's rows takes the [`WorkspaceId`] first, and
//! every query an adapter runs is scoped by it: an id from another workspace is "not found".
//! Methods that change something return the [`Change`]s they appended to the workspace's
//! change feed in the same transaction, for the event bus and Server-Sent Events.

use crate::conversation::{Urgency, UrgencyBand};
use crate::ids::*;
use crate::model::*;
use crate::template::{NewTemplate, TemplateUpdate};
use pronto_badge::time::MINUTE;
use pronto_badge::{Availability, Millis, Status};
use serde::{Deserialize, Serialize};
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such row in this workspace.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken (an email taken, a page connected twice).
    #[error("{0}")]
    Conflict(String),
    /// The request makes no sense for the stored state.
    #[error("{0}")]
    Invalid(String),
    /// The database could not take or give the data (down, disk full): retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One entry of a workspace's change feed: what the browsers and the workers hear about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Unique within the installation, and increasing within a workspace in commit order (a
    /// reader of [`Store::changes_since`] never misses a change committed later with a smaller
    /// id); the SSE event id.
    pub id: i64,
    pub workspace: WorkspaceId,
    pub at: Millis,
    pub kind: ChangeKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChangeKind {
    MessageCreated {
        inbox: InboxId,
        conversation: ConversationId,
        message: MessageId,
    },
    MessageUpdated {
        inbox: InboxId,
        conversation: ConversationId,
        message: MessageId,
    },
    ConversationUpdated {
        inbox: InboxId,
        conversation: ConversationId,
    },
    AvailabilityChanged {
        inbox: InboxId,
    },
    InboxChanged {
        inbox: InboxId,
    },
}

/// One event of an inbox's badge log, as stored: append-only, with a per-inbox sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEvent {
    pub inbox: InboxId,
    /// The per-inbox sequence number: the contract's line order among equal instants.
    pub seq: i64,
    pub at: Millis,
    pub fact: InboxFact,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboxFact {
    Message {
        conversation: ConversationId,
        author: pronto_badge::Author,
    },
    Status {
        conversation: ConversationId,
        status: Status,
        by: Option<UserId>,
    },
    Availability {
        availability: Availability,
        by: Option<UserId>,
    },
}

impl InboxEvent {
    /// This event as the badge engine takes it, its conversation given a dense id by `dense`.
    pub fn to_badge_event(
        &self,
        dense: impl FnOnce(ConversationId) -> pronto_badge::ConversationId,
    ) -> pronto_badge::Event {
        use pronto_badge::{AvailabilityEvent, ConversationEvent, Event, Fact};
        let (at, seq) = (self.at, self.seq.max(0) as u64);
        match &self.fact {
            InboxFact::Message {
                conversation,
                author,
            } => Event::Conversation(ConversationEvent {
                at,
                seq,
                conversation: dense(*conversation),
                fact: Fact::Message(*author),
            }),
            InboxFact::Status {
                conversation,
                status,
                ..
            } => Event::Conversation(ConversationEvent {
                at,
                seq,
                conversation: dense(*conversation),
                fact: Fact::Status(*status),
            }),
            InboxFact::Availability { availability, .. } => {
                Event::Availability(AvailabilityEvent {
                    at,
                    seq,
                    availability: *availability,
                })
            }
        }
    }
}

/// An inbox's stored events (in any order; `seq` is the line order) as the engine's log, each
/// conversation named by its id: what `pronto badge` reads from the exported `events.jsonl`.
pub fn badge_log(events: &[InboxEvent]) -> pronto_badge::Log {
    let mut log = pronto_badge::Log::default();
    let mut dense = std::collections::HashMap::new();
    for event in events {
        let event = event.to_badge_event(|conversation| {
            *dense.entry(conversation).or_insert_with(|| {
                log.conversation_names.push(conversation.to_string());
                pronto_badge::ConversationId(log.conversation_names.len() as u32 - 1)
            })
        });
        log.push(event);
    }
    log
}

/// What an ingest did.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per ingest; boxing would only burden every caller"
)]
pub enum Ingested {
    /// The channel's message id was already stored: nothing changed.
    Duplicate { message: MessageId },
    Stored {
        message: Message,
        conversation: Conversation,
        events: Vec<InboxEvent>,
        changes: Vec<Change>,
    },
}

/// One thing a channel's webhook delivery tells, for [`Store::take_in`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A message: the customer's, or one the page sent from elsewhere (an echo of a reply a
    /// person made in another inbox, as `agent`; of an auto-responder, as `automation`).
    Message(Incoming),
    /// The channel's echo of a reply Pronto sent, naming its outbox entry: the entry, if still
    /// pending, is confirmed as accepted at the echo's instant (so a reply whose send was cut
    /// short is not sent twice); else the echo is taken in as `message`, stored once by its
    /// channel id.
    Echo { outbox: OutboxId, message: Incoming },
    /// The customer edited a message: its text changes, the figures do not.
    Edit {
        inbox: InboxId,
        channel_message_id: String,
        text: String,
        at: Millis,
    },
}

impl Inbound {
    /// The inbox the item is about.
    pub fn inbox(&self) -> InboxId {
        match self {
            Inbound::Message(message) | Inbound::Echo { message, .. } => message.inbox,
            Inbound::Edit { inbox, .. } => *inbox,
        }
    }
}

/// What [`Store::take_in`] did with one [`Inbound`].
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per item of a delivery; boxing would only burden every caller"
)]
pub enum Taken {
    /// A message stored, or known already.
    Ingested(Ingested),
    /// A pending reply confirmed by its echo: it counts from the echo's instant.
    Confirmed {
        message: Message,
        events: Vec<InboxEvent>,
        changes: Vec<Change>,
    },
    /// A message's text changed.
    Edited {
        message: Message,
        changes: Vec<Change>,
    },
    /// An edit of a message this inbox does not have: nothing to do.
    Unmatched,
}

impl Taken {
    /// The badge events and the feed's changes this item appended.
    pub fn events_and_changes(&self) -> (&[InboxEvent], &[Change]) {
        match self {
            Taken::Ingested(Ingested::Stored {
                events, changes, ..
            })
            | Taken::Confirmed {
                events, changes, ..
            } => (events, changes),
            Taken::Edited { changes, .. } => (&[], changes),
            Taken::Ingested(Ingested::Duplicate { .. }) | Taken::Unmatched => (&[], &[]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationOrder {
    /// Waiting for a first answer first, by time left; then follow-ups by when the reply
    /// window closes; then the rest by latest activity.
    Urgency,
    /// The latest activity first.
    Activity,
}

/// A filtered, ordered, cursor-paged list of conversations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationQuery {
    pub inbox: Option<InboxId>,
    pub status: Option<Status>,
    /// `Some(None)`: unassigned only; `Some(Some(u))`: assigned to `u`.
    pub assignee: Option<Option<UserId>>,
    /// Only conversations where a customer waits for an answer.
    pub waiting: bool,
    pub order: ConversationOrder,
    /// Opaque, from the previous page's `next`.
    pub cursor: Option<String>,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConversationPage {
    pub items: Vec<ConversationSummary>,
    pub next: Option<String>,
}

/// A conversation with what a list shows of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationSummary {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact_name: String,
    pub channel: ChannelKind,
}

/// The sizes of the inbox's views ([`Store::conversation_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConversationCounts {
    /// Open, a customer waiting for an answer.
    pub unanswered: u64,
    /// Open, assigned to the asking member.
    pub mine: u64,
    /// Open, assigned to nobody.
    pub unassigned: u64,
    pub open: u64,
    pub done: u64,
    pub spam: u64,
}

/// An agent's reply waiting to be sent, or being sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub workspace: WorkspaceId,
    pub inbox: InboxId,
    pub channel: ChannelKind,
    pub conversation: ConversationId,
    pub message: MessageId,
    pub contact_external_id: String,
    pub text: String,
    pub attempts: u32,
    pub created_at: Millis,
}

/// A channel's attachment still to fetch and keep (channels' URLs expire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentFetch {
    pub workspace: WorkspaceId,
    pub message: MessageId,
    /// The attachment's place in the message's list.
    pub position: u32,
    pub url: String,
    /// Tries so far, this claim included.
    pub attempts: u32,
}

/// How fetching an attachment ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// Fetched: kept as a file, and the message's attachment points to it.
    Kept {
        content_type: String,
        bytes: Vec<u8>,
    },
    /// Try again at `at`.
    Retry { at: Millis },
    /// Never: the attachment keeps the channel's URL and `reason`.
    GiveUp { reason: String },
}

/// A file Pronto keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub id: FileId,
    pub message: MessageId,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A channel's delivery in the webhook journal, waiting to be taken in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournaledDelivery {
    pub id: i64,
    /// Which webhook it came to (`meta`).
    pub source: String,
    pub received_at: Millis,
    pub body: Vec<u8>,
    /// Tries so far, this claim included.
    pub attempts: u32,
}

/// Where the API serves a kept file.
pub fn file_url(id: FileId) -> String {
    format!("/api/v1/files/{id}")
}

/// How a send ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The channel accepted it at `at`: the reply counts from then.
    Accepted {
        channel_message_id: String,
        at: Millis,
    },
    /// Try again at `retry_at`.
    Retry { reason: String, retry_at: Millis },
    /// Refused for good; it never counts.
    Failed { reason: String },
}

/// A browser session, by the hash of its cookie's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub token_hash: Vec<u8>,
    pub user: UserId,
    pub workspace: WorkspaceId,
    pub csrf_token: String,
    pub expires_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInbox {
    pub name: String,
    pub channel: ChannelKind,
    pub channel_key: Option<String>,
    pub settings: serde_json::Value,
    pub sealed_secrets: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxUpdate {
    pub name: Option<String>,
    pub settings: Option<serde_json::Value>,
    pub sealed_secrets: Option<Vec<u8>>,
}

/// The store. Adapters: `pronto-store-sqlite`, `pronto-store-postgres`.
pub trait Store: Send + Sync + 'static {
    // Workspaces, users, members.
    fn create_workspace(
        &self,
        name: &str,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Workspace>> + Send;
    fn workspace_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<Workspace>>> + Send;
    fn create_user(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        now: Millis,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    fn user_by_email(&self, email: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Adds the user to the workspace, or changes their role there.
    fn set_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Role,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
    ) -> impl Future<Output = StoreResult<Option<Member>>> + Send;
    fn members(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = StoreResult<Vec<Member>>> + Send;
    /// The workspaces a user belongs to, with their role in each.
    fn memberships(
        &self,
        user: UserId,
    ) -> impl Future<Output = StoreResult<Vec<(Workspace, Role)>>> + Send;
    fn set_presence(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        presence: Presence,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_user_active(
        &self,
        user: UserId,
        active: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn user_count(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    // Sessions and API tokens (only hashes are stored).
    fn create_session(&self, session: &Session) -> impl Future<Output = StoreResult<()>> + Send;
    /// The session if it has not expired at `now` and its user is active.
    fn session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> impl Future<Output = StoreResult<Option<Session>>> + Send;
    fn delete_session(&self, token_hash: &[u8]) -> impl Future<Output = StoreResult<()>> + Send;
    fn create_api_token(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        label: &str,
        token_hash: &[u8],
        now: Millis,
    ) -> impl Future<Output = StoreResult<ApiToken>> + Send;
    /// The token's record, and marks it used at `now` (at most once per
    /// [`TOKEN_USE_RESOLUTION`], so that API reads do not each cost a write). `None` for an
    /// unknown token or a deactivated user.
    fn use_api_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> impl Future<Output = StoreResult<Option<ApiToken>>> + Send;

    // Inboxes.
    fn create_inbox(
        &self,
        workspace: WorkspaceId,
        inbox: &NewInbox,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Inbox>> + Send;
    fn inboxes(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = StoreResult<Vec<Inbox>>> + Send;
    fn inbox(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> impl Future<Output = StoreResult<Inbox>> + Send;
    fn update_inbox(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        update: &InboxUpdate,
    ) -> impl Future<Output = StoreResult<Inbox>> + Send;
    /// Deletes an inbox with its conversations, messages and events.
    fn delete_inbox(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The installation-wide lookup of a channel's key (a page id) to its inbox.
    fn inbox_by_channel_key(
        &self,
        channel: ChannelKind,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<Inbox>>> + Send;
    /// All inboxes of the installation, for workers that serve every workspace.
    fn all_inboxes(&self) -> impl Future<Output = StoreResult<Vec<Inbox>>> + Send;

    // Reply templates.
    /// Creates a template, by `created_by` (who must be a member) when a person writes it.
    /// A title the workspace has already is a [`StoreError::Conflict`].
    fn create_template(
        &self,
        workspace: WorkspaceId,
        template: &NewTemplate,
        created_by: Option<UserId>,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Template>> + Send;
    /// The workspace's templates in [`crate::template::template_order`] (by title).
    fn templates(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = StoreResult<Vec<Template>>> + Send;
    /// Changes what the update names (`updated_at` becomes `now` if anything changed); a title
    /// another template of the workspace has is a [`StoreError::Conflict`].
    fn update_template(
        &self,
        workspace: WorkspaceId,
        template: TemplateId,
        update: &TemplateUpdate,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Template>> + Send;
    fn delete_template(
        &self,
        workspace: WorkspaceId,
        template: TemplateId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Messages and conversations.
    /// Stores a message from a channel: finds or creates the contact and the conversation,
    /// appends the badge event, reopens a Done conversation (an `open` status event), keeps
    /// the urgency up to date; idempotent on (inbox, channel message id). One transaction.
    fn ingest(
        &self,
        workspace: WorkspaceId,
        incoming: &Incoming,
    ) -> impl Future<Output = StoreResult<Ingested>> + Send;
    /// Takes in one webhook delivery of a channel, in one transaction: every item or, on an
    /// error, none (the channel retries the whole delivery, and what was stored before is a
    /// duplicate then). Items are (workspace, item) since one delivery may reach several
    /// workspaces' inboxes; the answers come in the items' order.
    fn take_in(
        &self,
        items: &[(WorkspaceId, Inbound)],
    ) -> impl Future<Output = StoreResult<Vec<Taken>>> + Send;
    fn conversations(
        &self,
        workspace: WorkspaceId,
        query: &ConversationQuery,
    ) -> impl Future<Output = StoreResult<ConversationPage>> + Send;
    fn conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> impl Future<Output = StoreResult<ConversationSummary>> + Send;
    /// The conversation's messages in time order.
    fn messages(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> impl Future<Output = StoreResult<Vec<Message>>> + Send;
    fn contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> impl Future<Output = StoreResult<Contact>> + Send;
    /// Names a contact (a channel's profile lookup); the contact's conversations are announced
    /// as changed.
    fn rename_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        name: &str,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Vec<Change>>> + Send;
    /// Records a status change with the agent who made it (a badge event when it changes).
    fn set_status(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        status: Status,
        by: Option<UserId>,
        now: Millis,
    ) -> impl Future<Output = StoreResult<(Conversation, Vec<InboxEvent>, Vec<Change>)>> + Send;
    fn assign(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        assignee: Option<UserId>,
        now: Millis,
    ) -> impl Future<Output = StoreResult<(Conversation, Vec<Change>)>> + Send;
    /// Stores an agent's reply with its outbox entry, in one transaction. It is not a badge
    /// event yet: it becomes one when the channel accepts it ([`Store::finish_send`]).
    fn reply(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        agent: UserId,
        text: &str,
        now: Millis,
    ) -> impl Future<Output = StoreResult<(Message, OutboxEntry, Vec<Change>)>> + Send;

    // The outbox.
    /// Claims up to `limit` due entries of a channel kind, marking them `sending` (one node
    /// only gets each entry). An entry claimed and not finished within [`OUTBOX_LEASE`] is due
    /// again: its sender is presumed dead (so a send is at least once, not exactly once).
    fn claim_outbox(
        &self,
        channel: ChannelKind,
        limit: u32,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Vec<OutboxEntry>>> + Send;
    /// Records how a send ended; an accepted reply becomes an agent message event at the
    /// channel's acceptance time.
    fn finish_send(
        &self,
        entry: &OutboxEntry,
        outcome: &SendOutcome,
        now: Millis,
    ) -> impl Future<Output = StoreResult<(Message, Vec<InboxEvent>, Vec<Change>)>> + Send;
    fn outbox_depth(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    // Attachments.
    /// Claims up to `limit` attachments due for fetching (due again after
    /// [`OUTBOX_LEASE`] if their fetcher dies).
    fn claim_attachment_fetches(
        &self,
        limit: u32,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Vec<AttachmentFetch>>> + Send;
    /// Records how a fetch ended: kept, the message's attachment now points to
    /// [`file_url`] (a `MessageUpdated` change).
    fn finish_attachment_fetch(
        &self,
        fetch: &AttachmentFetch,
        outcome: &FetchOutcome,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Vec<Change>>> + Send;
    /// A kept file of the workspace.
    fn file(
        &self,
        workspace: WorkspaceId,
        file: FileId,
    ) -> impl Future<Output = StoreResult<StoredFile>> + Send;

    // The webhook journal.
    /// Writes a verified delivery to the journal; its id.
    fn journal_delivery(
        &self,
        source: &str,
        body: &[u8],
        now: Millis,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Claims up to `limit` due deliveries, oldest first (due again after [`JOURNAL_LEASE`]
    /// if their processor dies).
    fn claim_deliveries(
        &self,
        limit: u32,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Vec<JournaledDelivery>>> + Send;
    /// Removes deliveries taken in.
    fn finish_deliveries(&self, ids: &[i64]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Keeps a delivery that could not be taken in: due again at `retry_at`, or never
    /// (`None`: set aside with its error, for an operator).
    fn defer_delivery(
        &self,
        id: i64,
        retry_at: Option<Millis>,
        error: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deliveries waiting (set-aside ones not counted).
    fn journal_depth(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    // Availability.
    fn set_availability(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        availability: Availability,
        by: Option<UserId>,
        now: Millis,
    ) -> impl Future<Output = StoreResult<(InboxEvent, Vec<Change>)>> + Send;
    /// The latest availability event of the inbox.
    fn availability(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> impl Future<Output = StoreResult<Option<InboxEvent>>> + Send;

    // The badge log and the trackers' snapshots.
    /// The inbox's events with `seq > after_seq`, at most `limit`: the first `limit` of them in
    /// sequence (append) order, returned sorted by (instant, sequence). The next page is after
    /// the greatest `seq` of this page (not the last event's, when instants came out of order).
    /// A page that holds the whole log is exactly the contract's order; pages concatenated give
    /// the same figures, since among equal instants the contract's order is the sequence's.
    fn inbox_events(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        after_seq: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<InboxEvent>>> + Send;
    /// The badge events of `conversations` (at most a few thousand ids per call) with
    /// `seq <= through_seq`, sorted by (instant, sequence): what a live badge reads to take back
    /// conversations it let go. Conversations of other inboxes or workspaces yield nothing.
    fn conversation_events(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        conversations: &[ConversationId],
        through_seq: i64,
    ) -> impl Future<Output = StoreResult<Vec<InboxEvent>>> + Send;
    /// The inbox's availability events with `at < before` and `seq <= through_seq`, sorted by
    /// (instant, sequence).
    fn availability_before(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        before: Millis,
        through_seq: i64,
    ) -> impl Future<Output = StoreResult<Vec<InboxEvent>>> + Send;
    fn save_snapshot(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        seq: i64,
        bytes: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The latest snapshot and the sequence number it covers.
    fn snapshot(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> impl Future<Output = StoreResult<Option<(i64, Vec<u8>)>>> + Send;

    // The change feed.
    fn changes_since(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Change>>> + Send;
    /// How many conversations each view of the inbox holds, in one inbox or all of them:
    /// open ones waiting for an answer, open ones assigned to `me`, open unassigned ones, all
    /// open ones, Done ones, Spam ones. Read from counters that every change of a conversation
    /// keeps, not by counting conversations: the cost is the same with ten or a million.
    fn conversation_counts(
        &self,
        workspace: WorkspaceId,
        inbox: Option<InboxId>,
        me: UserId,
    ) -> impl Future<Output = StoreResult<ConversationCounts>> + Send;
    /// Folds the counters' pending differences into their totals, so that reading a count
    /// stays a sum of a few rows; returns how many counter rows changed. Any node may run it,
    /// at any time, concurrently with writers and other folds.
    fn fold_view_counts(&self) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// How long a claimed outbox entry stays with its sender before it is due again.
pub const OUTBOX_LEASE: Millis = 5 * MINUTE;

/// How long a claimed webhook delivery stays with its processor before it is due again. A
/// round takes milliseconds, and taking a delivery in twice changes nothing, so a short lease
/// lets a restarted node take in at once what a dead one had claimed.
pub const JOURNAL_LEASE: Millis = 30 * pronto_badge::time::SECOND;

/// How precisely [`Store::use_api_token`] records an API token's last use.
pub const TOKEN_USE_RESOLUTION: Millis = MINUTE;

/// How many characters of a message a conversation's preview keeps.
pub const PREVIEW_CHARS: usize = 140;

/// A conversation's preview of a message: its text with runs of whitespace made one space,
/// cut to [`PREVIEW_CHARS`] characters (with an ellipsis when cut).
pub fn preview(text: &str) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        for c in (!out.is_empty())
            .then_some(' ')
            .into_iter()
            .chain(word.chars())
        {
            if count == PREVIEW_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// Where a conversation stands in the urgency order, as the stores index it (band, then
/// instant, both ascending): [`Urgency::rank`] for an open conversation; a Done or Spam one is
/// calm, by latest activity, since the team is not expected to act on it (a customer message
/// reopens a Done one). The `waiting` filter of [`ConversationQuery`] is "band below calm".
pub fn conversation_rank(
    status: Status,
    urgency: &Urgency,
    last_activity_at: Millis,
) -> (UrgencyBand, Millis) {
    match status {
        Status::Open => urgency.rank(last_activity_at),
        Status::Done | Status::Spam => (UrgencyBand::Calm, -last_activity_at),
    }
}
