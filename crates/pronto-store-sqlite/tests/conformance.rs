//! The conformance story on a fresh SQLite file.

use pronto_core::store::Store;
use pronto_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "pronto-{label}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Self(std::env::temp_dir().join(name))
    }

    fn url(&self) -> String {
        format!("sqlite://{}/nested/pronto.db", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_story_holds_on_sqlite() {
    let dir = TempDir::new("conformance");
    let store = SqliteStore::open(&dir.url()).await.expect("open");
    pronto_store_tests::run_all(&store).await;
    let stats = store.writer_stats();
    assert!(stats.batches > 0 && stats.jobs >= stats.batches);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_writes_and_a_failing_write_fails_alone() {
    let dir = TempDir::new("batches");
    let store = SqliteStore::open(&dir.url()).await.expect("open");
    let before = store.writer_stats();
    // Many concurrent writes, one of which fails (a duplicate name): the others commit.
    let names: Vec<String> = (0..64).map(|i| format!("ws-{}", i % 63)).collect();
    let results =
        futures_util::future::join_all(names.iter().map(|n| store.create_workspace(n, 1))).await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 1, "only the duplicate fails");
    for i in 0..63 {
        assert!(
            store
                .workspace_by_name(&format!("ws-{i}"))
                .await
                .unwrap()
                .is_some()
        );
    }
    let after = store.writer_stats();
    assert_eq!(after.jobs - before.jobs, 64);
    assert!(
        after.batches - before.batches < 64,
        "writes shared transactions: {after:?}"
    );
    store.close().await;
    assert!(store.create_workspace("late", 2).await.is_err(), "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_the_data() {
    let dir = TempDir::new("reopen");
    let store = SqliteStore::open(&dir.url()).await.expect("open");
    let ws = store.create_workspace("Kept", 1).await.unwrap();
    store.close().await;
    let again = SqliteStore::open(&dir.url()).await.expect("reopen");
    assert_eq!(again.workspace_by_name("Kept").await.unwrap(), Some(ws));
    again.close().await;
}
