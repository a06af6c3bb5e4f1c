//! How many ingests a second the SQLite store takes, with 1 and with many concurrent writers
//! (group commit at work). A quick measurement, not a benchmark suite:
//!
//! ```text
//! cargo run --release -p pronto-store-sqlite --example ingest_rate -- [MESSAGES] [FOLDER]
//! ```
//!
//! Each round ingests MESSAGES (default 4000) new customer messages into a fresh database in
//! FOLDER (default the system's temporary folder) from C concurrent tasks, each writing its
//! share one after another, and prints the rate and how many transactions the writer committed.

use pronto_badge::Author;
use pronto_core::store::{NewInbox, Store};
use pronto_core::{ChannelKind, Incoming};
use pronto_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4000);
    let folder = args.next().map_or_else(std::env::temp_dir, Into::into);
    println!(
        "{messages} ingests per round, synchronous = FULL, database in {}",
        folder.display()
    );
    for writers in [1, 4, 16, 64, 256] {
        let dir = folder.join(format!(
            "pronto-ingest-rate-{}-{writers}",
            std::process::id()
        ));
        let url = format!("sqlite://{}/pronto.db", dir.display());
        let store = Arc::new(SqliteStore::open(&url).await.expect("open"));
        let ws = store.create_workspace("Rate", 0).await.expect("workspace");
        let inbox = NewInbox {
            name: "Inbox".into(),
            channel: ChannelKind::Playground,
            channel_key: None,
            settings: serde_json::json!({}),
            sealed_secrets: None,
        };
        let inbox = store.create_inbox(ws.id, &inbox, 0).await.expect("inbox");
        let before = store.writer_stats();
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..writers {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                for i in (writer..messages).step_by(writers) {
                    let message = Incoming {
                        inbox: inbox.id,
                        contact_external_id: format!("contact-{}", i % 500),
                        contact_name: "Customer".into(),
                        channel_message_id: format!("m-{i}"),
                        at: 1_764_000_000_000 + i as i64 * 1000,
                        author: Author::Customer,
                        text: "Hello, is my order on its way?".into(),
                        attachments: Vec::new(),
                    };
                    store.ingest(ws.id, &message).await.expect("ingest");
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
        let elapsed = started.elapsed();
        let after = store.writer_stats();
        let batches = after.batches - before.batches;
        println!(
            "{writers:>4} concurrent writers: {:>7.0} ingests/s, {batches} transactions ({:.1} ingests per fsync)",
            messages as f64 / elapsed.as_secs_f64(),
            (after.jobs - before.jobs) as f64 / batches as f64,
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
