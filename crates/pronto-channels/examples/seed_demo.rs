//! Seeds the demo into a fresh SQLite database and says how long it took and where each
//! inbox's badge stands:
//!
//! ```text
//! cargo run --release -p pronto-channels --example seed_demo -- [FOLDER] [CONVERSATIONS] [CONCURRENCY]
//! ```
//!
//! FOLDER (default: a new folder in the system's temporary folder) must not hold a database
//! yet; it is kept, so that `pronto serve` can be pointed at it.

use pronto_badge::time::SECOND;
use pronto_channels::demo::{self, DemoOptions};
use pronto_store_sqlite::SqliteStore;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let folder = args.next().map_or_else(
        || std::env::temp_dir().join(format!("pronto-demo-{}", std::process::id())),
        Into::into,
    );
    let defaults = DemoOptions::default();
    let options = DemoOptions {
        conversations: args
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(defaults.conversations),
        concurrency: args
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(defaults.concurrency),
        ..defaults
    };
    let url = format!("sqlite://{}/pronto.db", folder.display());
    let store = SqliteStore::open(&url)
        .await
        .expect("open the SQLite store");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let started = Instant::now();
    let seeded = demo::seed_with(&store, now, &options, |done, total| {
        if done % 500 == 0 || done == total {
            eprintln!("{done}/{total} conversations");
        }
    })
    .await
    .expect("seed the demo");
    let took = started.elapsed();
    store.close().await;
    println!(
        "{url}: {} conversations, {} messages in {took:.2?} ({:?}, concurrency {})",
        seeded.conversations,
        seeded.messages,
        store.writer_stats(),
        options.concurrency
    );
    println!("login: {} / {}", seeded.login_email, seeded.password);
    for inbox in &seeded.inboxes {
        let f = inbox.figures;
        println!(
            "{:<26} {:?}: badge {}, rate {:.1}%, time {:.0} s; window {} starts, {} answered; pending {}; excluded spam {} done {} away {}",
            inbox.inbox.name,
            inbox.standing,
            f.badge,
            f.window.response_rate().unwrap_or(0.0) * 100.0,
            f.window.kept_total as f64 / f.window.kept.max(1) as f64 / SECOND as f64,
            f.window.starts,
            f.window.answered,
            f.pending,
            f.excluded.spam,
            f.excluded.done,
            f.excluded.away,
        );
    }
}
