//! Pronto's store on PostgreSQL, the production store (`DATABASE_URL=postgres://...`).
//!
//! - A connection pool; each write is one transaction at READ COMMITTED with explicit row
//!   locks (see `sql.rs`): an inbox's row is its event sequence's counter, updated in the
//!   transaction (gapless, unique, in commit order); ingests into one inbox go one at a time.
//! - The outbox is claimed with `FOR UPDATE SKIP LOCKED`, so many nodes share it.
//! - Change-feed ids come from a sequence, taken under the workspace's row lock.
//! - Many `pronto serve` nodes can share one database. Each transaction that appends to the
//!   change feed NOTIFYs `pronto_changes`; [`PgStore::listen`] hears every node's.
//!
//! Instants come from the callers (`now` parameters); the store never reads the clock.

mod sql;

use pronto_badge::{Availability, Millis, Rules, Status};
use pronto_core::store::*;
use pronto_core::template::{NewTemplate, TemplateUpdate};
use pronto_core::*;
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The channel every node's committed changes are announced on (payload `WS FIRST LAST`: the
/// workspace and the range of change ids of one transaction).
pub const CHANGES_CHANNEL: &str = "pronto_changes";

/// One transaction's changes, as announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announced {
    pub workspace: WorkspaceId,
    pub first: i64,
    pub last: i64,
}

impl Announced {
    fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.split(' ').map(str::parse::<i64>);
        let (ws, first, last) = (
            parts.next()?.ok()?,
            parts.next()?.ok()?,
            parts.next()?.ok()?,
        );
        (parts.next().is_none() && first <= last).then_some(Self {
            workspace: WorkspaceId(ws),
            first,
            last,
        })
    }
}

/// Hears the changes every node commits (this one's too), over a connection of its own.
pub struct ChangeListener(sqlx::postgres::PgListener);

impl ChangeListener {
    /// The next announcement. After a lost connection the listener reconnects by itself;
    /// what was announced meanwhile is not heard (readers catch up from the change feed).
    pub async fn next(&mut self) -> StoreResult<Announced> {
        loop {
            let notification = self.0.recv().await.map_err(sql::db)?;
            if let Some(announced) = Announced::parse(notification.payload()) {
                return Ok(announced);
            }
        }
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many connections a node keeps open.
const POOL_SIZE: u32 = 16;

/// The PostgreSQL store. Cheap to share behind an `Arc`.
pub struct PgStore {
    pool: PgPool,
    rules: Rules,
}

pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?
            .application_name("pronto");
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(sql::db)?;
        Self::from_pool(pool).await
    }

    /// The store on a pool of the caller's, its schema brought up to date.
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating the database: {e}")))?;
        Ok(Self {
            pool,
            rules: Rules::default(),
        })
    }

    /// The rules whose silence and reply window keep conversations' urgency (the badge's
    /// defaults unless set).
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// The pool, for what the port does not cover (LISTEN/NOTIFY, health checks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Listens to the changes every node commits.
    pub async fn listen(&self) -> StoreResult<ChangeListener> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .map_err(sql::db)?;
        listener.listen(CHANGES_CHANNEL).await.map_err(sql::db)?;
        Ok(ChangeListener(listener))
    }

    /// Waits for the connections in use, then closes them.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs `job` in a transaction of its own: committed if it succeeds, rolled back if not.
    async fn transaction<T, F>(&self, job: F) -> StoreResult<T>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, StoreResult<T>>,
    {
        let mut tx = self.pool.begin().await.map_err(sql::db)?;
        match job(&mut tx).await {
            Ok(value) => {
                tx.commit().await.map_err(sql::db)?;
                Ok(value)
            }
            Err(error) => {
                // Rolled back when dropped, too; this returns the connection sooner.
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }

    /// The other nodes hear committed changes through NOTIFY, sent in their transaction
    /// (`sql::announce_changes`); this node's bus hears them from the methods' returns.
    fn publish(&self, _changes: &[Change]) {}
}

/// Runs `$body` (with `$conn` a connection in a transaction of its own).
macro_rules! tx {
    ($store:expr, |$conn:ident| $body:expr) => {
        $store
            .transaction(move |$conn| Box::pin(async move { $body }))
            .await
    };
}

/// Runs `$body` (with `$conn` a pooled connection, outside any transaction).
macro_rules! read {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let mut conn = $store.pool.acquire().await.map_err(sql::db)?;
        let $conn: &mut PgConnection = &mut conn;
        $body
    }};
}

// The journal's statements each stand alone (one row in, one claim, one delete), so they run
// without an explicit transaction: one round trip, not three, per delivery.
pronto_store_sql::impl_store!(
    PgStore,
    write = tx,
    read = read,
    journal_write = read,
    journal_read = read
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse_or_are_ignored() {
        assert_eq!(
            Announced::parse("7 100 102"),
            Some(Announced {
                workspace: WorkspaceId(7),
                first: 100,
                last: 102
            })
        );
        for bad in ["", "7 100", "7 102 100", "7 1 2 3", "x 1 2"] {
            assert_eq!(Announced::parse(bad), None, "{bad:?}");
        }
    }
}
