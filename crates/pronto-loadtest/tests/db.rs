//! `ceiling` and `count` on SQLite files.

use indicatif::ProgressBar;
use pronto_loadtest::db::{self, Db};
use std::path::PathBuf;

/// A fresh folder for one test's database.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pronto-loadtest-{name}-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn ceiling_inserts_and_drops_its_table() {
    let dir = scratch("ceiling");
    let url = format!("sqlite://{}", dir.join("ceiling.db").display());
    let db = Db::connect(&url, true).await.unwrap();
    let result = db::ceiling(&db, 2_500, 1_200, &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(result.backend, "sqlite");
    assert_eq!((result.rows, result.batch), (2_500, 1_200));
    assert!(result.rows_per_second() > 0.0);
    let Db::Sqlite(pool) = &db else {
        unreachable!()
    };
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'ceiling_messages'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(left, 0, "the scratch table is dropped");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    db.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn count_finds_missing_and_duplicated_messages() {
    let dir = scratch("count");
    let url = format!("sqlite://{}", dir.join("pronto.db").display());
    let db = Db::connect(&url, true).await.unwrap();
    let Db::Sqlite(pool) = &db else {
        unreachable!()
    };
    // The columns of Pronto's tables that `count` reads.
    for statement in [
        "CREATE TABLE inboxes (workspace_id INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (workspace_id, id))",
        "CREATE TABLE messages (workspace_id INTEGER NOT NULL, id INTEGER NOT NULL, inbox_id INTEGER NOT NULL, channel_message_id TEXT, PRIMARY KEY (workspace_id, id))",
        "CREATE INDEX messages_channel_id ON messages (workspace_id, inbox_id, channel_message_id)",
        "INSERT INTO inboxes VALUES (1, 1), (1, 2), (2, 1)",
    ] {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
    let mut id = 0;
    let mut store = async |workspace: i64, inbox: i64, mid: &str| {
        id += 1;
        sqlx::query("INSERT INTO messages VALUES (?, ?, ?, ?)")
            .bind(workspace)
            .bind(id)
            .bind(inbox)
            .bind(mid)
            .execute(pool)
            .await
            .unwrap();
    };
    // 2,500 stored once (more than one IN list), across inboxes and workspaces.
    let mut acked: Vec<String> = (0..2_500).map(|n| format!("m_run_{n}")).collect();
    for (n, mid) in acked.iter().enumerate() {
        let (workspace, inbox) = [(1, 1), (1, 2), (2, 1)][n % 3];
        store(workspace, inbox, mid).await;
    }
    store(1, 1, "m_twice").await;
    store(2, 1, "m_twice").await;
    store(1, 1, "m_not_acked").await;
    acked.push("m_twice".into());
    acked.push("m_lost".into());
    acked.push("m_run_7".into()); // listed twice: still one message

    let count = db::count(&db, &acked, &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(count.acked, 2_502);
    assert_eq!(count.stored_once, 2_500);
    assert_eq!(count.missing, ["m_lost"]);
    assert_eq!(count.duplicated, [("m_twice".to_owned(), 2)]);
    assert!(!count.is_ok());

    let clean = db::count(&db, &acked[..2_500], &ProgressBar::hidden())
        .await
        .unwrap();
    assert!(clean.is_ok());
    db.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}
