//! Many nodes on one database: what another node committed reaches this node's event bus
//! (and so its browsers' streams) and its live badges. The store announces each transaction's
//! changes (PostgreSQL: NOTIFY, heard by `PgStore::listen`); the binary forwards those
//! announcements here, and [`App::hear`] reads the changes from the feed.

use crate::app::App;
use pronto_core::WorkspaceId;
use pronto_core::store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One transaction's changes: the workspace and the range of change ids.
pub type Announcement = (WorkspaceId, i64, i64);

/// Takes announcements in until the channel closes or the app stops.
pub fn spawn_hearing<S: Store>(
    app: Arc<App<S>>,
    mut announcements: mpsc::Receiver<Announcement>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                heard = announcements.recv() => match heard {
                    Some((workspace, first, last)) => app.hear(workspace, first, last).await,
                    None => break,
                },
                _ = app.shutdown_started() => break,
            }
        }
    })
}
