//! The view counts' folder: every second, the counters' pending differences are folded into
//! their totals (see `Store::fold_view_counts`), so that reading the sizes of the inbox's views
//! stays a sum of a few rows however busy the inbox is. Every node runs one; folds may overlap.

use crate::app::App;
use pronto_core::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_secs(1);

pub fn spawn_folder<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {
                    if let Err(error) = app.store.fold_view_counts().await {
                        tracing::warn!(%error, "view counts: cannot fold");
                    }
                }
                _ = app.shutdown_started() => break,
            }
        }
    })
}
