//! Pronto's store on SQLite, the embedded default (`sqlite://pronto-data/pronto.db`).
//!
//! - **WAL** journal, so that readers never wait for the writer nor the writer for readers.
//! - **`synchronous = FULL`**: every commit is on disk before it is acknowledged. A webhook
//!   answered "200 OK" is not sent again by Meta, so a message acknowledged and then lost in a
//!   power cut would be lost for good (and with it a start the badge must count). `NORMAL` in
//!   WAL mode only loses the last commits on power loss, not on a crash of the process, but
//!   group commit makes `FULL` cheap anyway: one fsync per batch, not per write.
//! - **One writer task with group commit** (`writer.rs`): every write goes through a channel
//!   to the one task that owns the writing connection; it runs all the writes waiting at that
//!   moment in one transaction, each in its own savepoint (a failing one is rolled back alone),
//!   and commits once. Readers use a separate pool of read-only connections.
//! - A busy timeout, so that another process writing to the same file (`pronto user add`
//!   while a server runs) is waited for instead of failing; foreign keys on.
//!
//! Instants come from the callers (`now` parameters); the store never reads the clock.

mod sql;
mod writer;

use pronto_badge::{Availability, Millis, Rules, Status};
use pronto_core::store::*;
use pronto_core::template::{NewTemplate, TemplateUpdate};
use pronto_core::*;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite};
use std::str::FromStr;
use std::time::Duration;
pub use writer::{MAX_BATCH, WriterStats};

/// Where the data goes when no `DATABASE_URL` says otherwise.
pub const DEFAULT_URL: &str = "sqlite://pronto-data/pronto.db";

/// How long a statement waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many read connections the pool keeps (each has a thread of its own in sqlx).
const READERS: u32 = 4;

/// Each connection's page cache, in KiB (SQLite's default is 2 MiB): a million conversations'
/// indexes are hundreds of MiB, and a writer that finds its index pages in memory writes many
/// times faster. With the readers, at most 5 × 32 MiB.
const CACHE_KIB: u32 = 32 * 1024;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The webhook journal's file: `pronto-webhooks.db` beside `pronto.db`.
pub fn journal_path(database: &std::path::Path) -> std::path::PathBuf {
    let stem = database
        .file_stem()
        .map_or_else(|| "pronto".into(), |s| s.to_string_lossy().into_owned());
    database.with_file_name(format!("{stem}-webhooks.db"))
}

/// The journal's schema (its own file, so not in the main migrations): a channel's delivery,
/// verified, is written here (one row, one statement) before the channel hears 200; a
/// processor then takes it into the main database, idempotently.
const JOURNAL_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS webhook_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS webhook_journal_due ON webhook_journal (due_at, id);";

/// The SQLite store. Cheap to share behind an `Arc`; [`SqliteStore::close`] flushes it.
pub struct SqliteStore {
    writer: writer::Writer,
    /// The webhook journal's writer, on a file of its own (`NAME-webhooks.db` beside
    /// `NAME.db`): a delivery is journaled without waiting for the main writer, which is
    /// busy taking earlier deliveries in.
    journal: writer::Writer,
    read: SqlitePool,
    rules: Rules,
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) the database at `url`, e.g.
    /// `sqlite://pronto-data/pronto.db`, and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("bad SQLite URL {url:?}: {e}")))?;
        let file = options.get_filename().to_owned();
        if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
            return Err(StoreError::Invalid(
                "the SQLite store needs a file (readers and the writer use separate connections)"
                    .into(),
            ));
        }
        if let Some(folder) = file.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", folder.display()))
            })?;
        }
        let options = options
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            .pragma("cache_size", format!("-{CACHE_KIB}"));
        let mut conn = options
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .map_err(sql::db)?;
        MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating {}: {e}", file.display())))?;
        let journal_file = journal_path(&file);
        let mut journal = SqliteConnectOptions::new()
            .filename(&journal_file)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .map_err(sql::db)?;
        sqlx::raw_sql(JOURNAL_SCHEMA)
            .execute(&mut journal)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("preparing {}: {e}", journal_file.display()))
            })?;
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.read_only(true))
            .await
            .map_err(sql::db)?;
        Ok(Self {
            writer: writer::Writer::spawn(conn),
            journal: writer::Writer::spawn(journal),
            read,
            rules: Rules::default(),
        })
    }

    /// The rules whose silence and reply window keep conversations' urgency (the badge's
    /// defaults unless set).
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Finishes every write sent so far, then closes the writer and the readers. Writes after
    /// this fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.journal.close().await;
        self.read.close().await;
    }

    /// How many transactions the writer committed, and how many writes they held.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    async fn reader(&self) -> StoreResult<PoolConnection<Sqlite>> {
        self.read.acquire().await.map_err(sql::db)
    }

    /// One process writes the file: its event bus hears the changes from the methods' returns.
    fn publish(&self, _changes: &[Change]) {}
}

/// Runs `$body` (with `$conn` the writer's connection) in the writer's next batch.
macro_rules! write {
    ($store:expr, |$conn:ident| $body:expr) => {
        $store
            .writer
            .write(move |$conn| Box::pin(async move { $body }))
            .await
    };
}

/// Runs `$body` (with `$conn` a read connection).
macro_rules! read {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let mut conn = $store.reader().await?;
        let $conn: &mut sqlx::SqliteConnection = &mut conn;
        $body
    }};
}

/// Journals a delivery: the journal writer merges the batch's deliveries into one INSERT.
macro_rules! journal_write {
    ($store:expr, |$conn:ident| sql::journal_delivery($c:ident, $source:ident, $body:ident, $now:ident).await) => {
        $store
            .journal
            .append(writer::NewDelivery {
                source: $source,
                body: $body,
                received_at: $now,
            })
            .await
    };
    ($store:expr, |$conn:ident| $body:expr) => {
        $store
            .journal
            .write(move |$conn| Box::pin(async move { $body }))
            .await
    };
}

pronto_store_sql::impl_store!(
    SqliteStore,
    write = write,
    read = read,
    journal_write = journal_write,
    journal_read = journal_write
);
