//! The event bus of one process: every change a store call appended to a workspace's change
//! feed, and every change of an inbox's figures, for the Server-Sent Events streams. Changes
//! other nodes commit reach it too ([`crate::cluster`], PostgreSQL's LISTEN/NOTIFY).

use crate::live::FiguresView;
use pronto_core::store::Change;
use pronto_core::{InboxId, WorkspaceId};
use tokio::sync::broadcast;

#[derive(Clone, Debug)]
pub enum Notice {
    Change(Change),
    Figures {
        workspace: WorkspaceId,
        inbox: InboxId,
        figures: Box<FiguresView>,
    },
}

impl Notice {
    pub fn workspace(&self) -> WorkspaceId {
        match self {
            Notice::Change(change) => change.workspace,
            Notice::Figures { workspace, .. } => *workspace,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Bus {
    sender: broadcast::Sender<Notice>,
}

impl Bus {
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }

    pub fn publish(&self, notice: Notice) {
        // No subscriber is not an error.
        let _ = self.sender.send(notice);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.sender.subscribe()
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new(4096)
    }
}
