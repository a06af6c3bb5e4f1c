//! The database side of the benchmark: the plain-INSERT ceiling, and the check that every
//! acknowledged message is stored exactly once.

use indicatif::ProgressBar;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A database Pronto runs on, chosen by the URL's scheme like Pronto's `DATABASE_URL`.
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool of either backend: the SQL is the same, the
/// types differ, and a macro avoids spelling out sqlx's generic bounds.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects to `sqlite://path` (WAL, `synchronous = FULL`, as Pronto's store; created if
    /// `create`) or `postgres://...`, with one connection: both tools write or read serially.
    pub async fn connect(url: &str, create: bool) -> Result<Db, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            if create && let Some(folder) = options.get_filename().parent() {
                // Like Pronto's store, a fresh data folder is made rather than refused.
                std::fs::create_dir_all(folder)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        } else {
            let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
            Ok(Db::Postgres(pool))
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// What the ceiling measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Ceiling {
    pub backend: &'static str,
    pub rows: u64,
    pub batch: u64,
    pub elapsed: Duration,
}

impl Ceiling {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Rows per INSERT statement: 8 bound values a row stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters.
const ROWS_PER_STATEMENT: u64 = 1000;

/// The scratch table: Pronto's `messages` columns and indexes (primary key, the unique
/// `(workspace, inbox, channel message id)` that makes ingest idempotent, the conversation
/// index), without the foreign key to `conversations`.
const CEILING_SQLITE: [&str; 4] = [
    "DROP TABLE IF EXISTS ceiling_messages",
    "CREATE TABLE IF NOT EXISTS ceiling_messages (
        workspace_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        inbox_id INTEGER NOT NULL,
        conversation_id INTEGER NOT NULL,
        author TEXT NOT NULL CHECK (author IN ('customer', 'agent', 'automation')),
        agent_id INTEGER,
        channel_message_id TEXT,
        at INTEGER NOT NULL,
        text TEXT NOT NULL,
        attachments TEXT NOT NULL DEFAULT '[]',
        delivery TEXT NOT NULL,
        delivery_reason TEXT,
        PRIMARY KEY (workspace_id, id)
    ) WITHOUT ROWID",
    "CREATE UNIQUE INDEX IF NOT EXISTS ceiling_messages_channel_id
        ON ceiling_messages (workspace_id, inbox_id, channel_message_id)",
    "CREATE INDEX IF NOT EXISTS ceiling_messages_conversation
        ON ceiling_messages (workspace_id, conversation_id, at, id)",
];

const CEILING_POSTGRES: [&str; 4] = [
    "DROP TABLE IF EXISTS ceiling_messages",
    "CREATE TABLE IF NOT EXISTS ceiling_messages (
        workspace_id BIGINT NOT NULL,
        id BIGINT NOT NULL,
        inbox_id BIGINT NOT NULL,
        conversation_id BIGINT NOT NULL,
        author TEXT NOT NULL CHECK (author IN ('customer', 'agent', 'automation')),
        agent_id BIGINT,
        channel_message_id TEXT,
        at BIGINT NOT NULL,
        text TEXT NOT NULL,
        attachments JSONB NOT NULL DEFAULT '[]',
        delivery TEXT NOT NULL,
        delivery_reason TEXT,
        PRIMARY KEY (workspace_id, id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS ceiling_messages_channel_id
        ON ceiling_messages (workspace_id, inbox_id, channel_message_id)",
    "CREATE INDEX IF NOT EXISTS ceiling_messages_conversation
        ON ceiling_messages (workspace_id, conversation_id, at, id)",
];

/// Inserts `rows` message-shaped rows into a scratch table in transactions of `batch` rows
/// (multi-row INSERTs), then drops the table: what the database does at best, with none of
/// Pronto's work around it (conversations, the badge log, HTTP, JSON).
pub async fn ceiling(
    db: &Db,
    rows: u64,
    batch: u64,
    progress: &ProgressBar,
) -> Result<Ceiling, sqlx::Error> {
    let batch = batch.max(1);
    let schema = match db {
        Db::Sqlite(_) => CEILING_SQLITE,
        Db::Postgres(_) => CEILING_POSTGRES,
    };
    for statement in schema {
        on_pool!(db, pool => sqlx::query(statement).execute(pool).await.map(drop))?;
    }
    progress.set_length(rows);
    let base_ms = crate::now_ms() as i64;
    let started = Instant::now();
    let mut done = 0u64;
    while done < rows {
        let end = (done + batch).min(rows);
        on_pool!(db, pool => {
            let mut tx = pool.begin().await?;
            let mut first = done;
            while first < end {
                let last = (first + ROWS_PER_STATEMENT).min(end);
                let mut insert = QueryBuilder::new(
                    "INSERT INTO ceiling_messages (workspace_id, id, inbox_id, conversation_id, \
                     author, channel_message_id, at, text, attachments, delivery) ",
                );
                insert.push_values(first..last, |mut row, i| {
                    let i = i as i64;
                    row.push_bind(1i64)
                        .push_bind(i + 1)
                        .push_bind(1i64)
                        .push_bind(i % 1000 + 1)
                        .push_bind("customer")
                        .push_bind(format!("m_ceiling_{i:012}"))
                        .push_bind(base_ms + i)
                        .push_bind(crate::TEXTS[i as usize % crate::TEXTS.len()])
                        .push("'[]'")
                        .push("'received'");
                });
                insert.build().execute(&mut *tx).await?;
                first = last;
            }
            tx.commit().await?;
        });
        progress.set_position(end);
        done = end;
    }
    let elapsed = started.elapsed();
    on_pool!(db, pool => sqlx::query("DROP TABLE ceiling_messages").execute(pool).await.map(drop))?;
    Ok(Ceiling {
        backend: db.backend(),
        rows,
        batch,
        elapsed,
    })
}

/// What [`count`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Count {
    /// Distinct acknowledged message ids.
    pub acked: u64,
    pub stored_once: u64,
    /// Acknowledged but not stored: lost.
    pub missing: Vec<String>,
    /// Stored more than once, with how many times.
    pub duplicated: Vec<(String, u64)>,
}

impl Count {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.duplicated.is_empty()
    }
}

/// Mids per `IN (...)` list.
const MIDS_PER_QUERY: usize = 1000;

/// Checks that each of `mids` is stored exactly once in Pronto's `messages` table.
///
/// The lookup goes inbox by inbox so that it uses the unique
/// `(workspace_id, inbox_id, channel_message_id)` index instead of scanning the table for
/// every chunk; a message stored in two inboxes counts twice.
pub async fn count(db: &Db, mids: &[String], progress: &ProgressBar) -> Result<Count, sqlx::Error> {
    let distinct: Vec<&str> = {
        let mut seen = HashSet::new();
        mids.iter()
            .map(String::as_str)
            .filter(|m| seen.insert(*m))
            .collect()
    };
    let inboxes: Vec<(i64, i64)> = on_pool!(db, pool => {
        sqlx::query("SELECT workspace_id, id FROM inboxes")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| (row.get::<i64, _>(0), row.get::<i64, _>(1)))
            .collect()
    });
    let mut stored: HashMap<String, u64> = HashMap::with_capacity(distinct.len());
    progress.set_length((distinct.len() * inboxes.len()) as u64);
    for &(workspace, inbox) in &inboxes {
        for chunk in distinct.chunks(MIDS_PER_QUERY) {
            let found: Vec<(String, i64)> = on_pool!(db, pool => {
                let mut query = QueryBuilder::new(
                    "SELECT channel_message_id, count(*) FROM messages WHERE workspace_id = ",
                );
                query
                    .push_bind(workspace)
                    .push(" AND inbox_id = ")
                    .push_bind(inbox)
                    .push(" AND channel_message_id IN (");
                let mut list = query.separated(", ");
                for mid in chunk {
                    list.push_bind(*mid);
                }
                query.push(") GROUP BY channel_message_id");
                query
                    .build()
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1)))
                    .collect()
            });
            for (mid, n) in found {
                *stored.entry(mid).or_default() += n as u64;
            }
            progress.inc(chunk.len() as u64);
        }
    }
    let mut report = Count {
        acked: distinct.len() as u64,
        ..Count::default()
    };
    for mid in distinct {
        match stored.get(mid).copied().unwrap_or(0) {
            0 => report.missing.push(mid.to_owned()),
            1 => report.stored_once += 1,
            n => report.duplicated.push((mid.to_owned(), n)),
        }
    }
    Ok(report)
}
