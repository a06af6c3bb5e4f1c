//! Writing a big history at once: the port through which the big-workspace generator
//! (`pronto demo --conversations N`) loads millions of rows in minutes, where going message by
//! message through [`crate::store::Store`] would take hours.
//!
//! The rows are complete and consistent when they arrive: every conversation with its final
//! urgency, status and preview, every message, every badge event with its sequence number.
//! The store only writes them, in big multi-row statements, one transaction per chunk.

use crate::store::{InboxEvent, StoreResult};
use crate::{Contact, Conversation, InboxId, Message, WorkspaceId};
use pronto_badge::Millis;
use std::future::Future;

/// Which ids a loader hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Contact,
    Conversation,
    Message,
}

/// A conversation as stored: its model and the instant of its latest status event.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoricConversation {
    pub conversation: Conversation,
    pub status_at: Option<Millis>,
}

/// Rows written in one transaction. Contacts come before their conversations and
/// conversations before their messages (in this chunk or an earlier one); events may refer to
/// conversations of earlier chunks. Each inbox's events carry the sequence numbers after the
/// inbox's last, in order and without gaps across chunks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryChunk {
    pub contacts: Vec<Contact>,
    pub conversations: Vec<HistoricConversation>,
    /// Each with its conversation's inbox.
    pub messages: Vec<(InboxId, Message)>,
    pub events: Vec<InboxEvent>,
}

impl HistoryChunk {
    pub fn rows(&self) -> usize {
        self.contacts.len() + self.conversations.len() + self.messages.len() + self.events.len()
    }
}

/// A store that takes a history in bulk. Meant for a database no node is serving yet: ids are
/// taken from the store's own counters, so nothing collides with what is written later.
pub trait HistoryLoader {
    /// `count` fresh ids of one kind.
    fn fresh_ids(
        &self,
        kind: IdKind,
        count: usize,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;

    /// Writes a chunk in one transaction, and moves each inbox's sequence counter past its
    /// events.
    fn load_history(
        &self,
        workspace: WorkspaceId,
        chunk: HistoryChunk,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// After the last chunk: refreshes what the database's planner knows of the tables (on
    /// PostgreSQL, whose autovacuum may take a long while to notice millions of new rows and
    /// meanwhile plans as if the tables were empty).
    fn finish_history(&self) -> impl Future<Output = StoreResult<()>> + Send;
}
