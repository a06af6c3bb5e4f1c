//! The store's operations on one SQLite connection (shared with PostgreSQL, see
//! `pronto_store_sql::ops`). Reads run on a connection of the read pool; writes run on the
//! writer's connection, inside the batch's transaction and their own savepoint (see
//! `writer.rs`), so each function that writes is one atomic unit. The one writer has the
//! database to itself: no row needs a lock. Every query is scoped by the workspace.

pronto_store_sql::sql_ops!(row_lock = "");

pub(crate) type Conn = sqlx::SqliteConnection;
type Db = sqlx::Sqlite;

async fn next_id(conn: &mut Conn, table: &'static str) -> StoreResult<i64> {
    sqlx::query_scalar("UPDATE id_counters SET last = last + 1 WHERE name = $1 RETURNING last")
        .bind(table)
        .fetch_one(conn)
        .await
        .map_err(db)
}

/// `count` fresh ids of a table, in one statement.
async fn next_ids(conn: &mut Conn, table: &'static str, count: usize) -> StoreResult<Vec<i64>> {
    let count = count as i64;
    let last: i64 = sqlx::query_scalar(
        "UPDATE id_counters SET last = last + $2 WHERE name = $1 RETURNING last",
    )
    .bind(table)
    .bind(count)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok((last - count + 1..=last).collect())
}

/// How the events of a list of conversations are read: through their index, named. Without
/// statistics SQLite guesses that the workspace and the inbox alone narrow the log to a few
/// rows, and would read the inbox's whole log by its primary key instead.
const BY_CONVERSATION: &str = " INDEXED BY inbox_events_conversation";

/// How many ids one statement's list binds, one parameter each: far under SQLite's limit on
/// bound parameters, so a longer list takes several statements.
const IDS_PER_STATEMENT: usize = 500;

/// `column IN ($a, $b, ...)`, after the column: SQLite has no array parameters.
fn push_id_list(sql: &mut QueryBuilder<Db>, ids: &[i64]) {
    sql.push(" IN (");
    let mut list = sql.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
}

/// After a bulk load: nothing. SQLite plans from the indexes alone (no statistics were ever
/// gathered), which is what the measurements were made with.
const AFTER_HISTORY: &[&str] = &[];

/// Folds the view counters' deltas into their totals (the one writer makes the pair atomic;
/// `WHERE true` keeps SQLite from reading the upsert's ON as a join's).
const FOLD_VIEW_COUNTS: &[&str] = &[
    "INSERT INTO view_counts (workspace_id, inbox_id, assignee_id, unanswered, open, done, spam) \
     SELECT workspace_id, inbox_id, assignee_id, SUM(unanswered), SUM(open), SUM(done), SUM(spam) \
     FROM view_count_deltas WHERE true GROUP BY workspace_id, inbox_id, assignee_id \
     ON CONFLICT (workspace_id, inbox_id, assignee_id) DO UPDATE SET \
     unanswered = unanswered + excluded.unanswered, open = open + excluded.open, \
     done = done + excluded.done, spam = spam + excluded.spam",
    "DELETE FROM view_count_deltas",
];

/// Claims due attachment fetches: each is due again after the lease if its fetcher dies.
const CLAIM_ATTACHMENT_FETCHES: &str = "UPDATE attachment_fetches SET attempts = attempts + 1, due_at = $2 + $3 \
     WHERE (workspace_id, message_id, position) IN (SELECT workspace_id, message_id, position FROM attachment_fetches \
     WHERE due_at <= $2 ORDER BY due_at LIMIT $1) RETURNING workspace_id, message_id, position, url, attempts";

/// Claims due journaled deliveries, oldest first; each is due again after the lease.
const CLAIM_DELIVERIES: &str = "UPDATE webhook_journal SET attempts = attempts + 1, due_at = $2 + $3 \
     WHERE id IN (SELECT id FROM webhook_journal WHERE due_at <= $2 ORDER BY due_at, id LIMIT $1) \
     RETURNING id, source, received_at, body, attempts";

/// The one writer makes the claim atomic; an entry whose sender's lease ran out is due again.
const CLAIM_OUTBOX: &str = "UPDATE outbox SET state = 'sending', attempts = attempts + 1, due_at = $3 + $4 \
     WHERE (workspace_id, id) IN (SELECT workspace_id, id FROM outbox WHERE channel = $1 AND due_at <= $3 \
     ORDER BY due_at, id LIMIT $2) RETURNING workspace_id, id, inbox_id, channel, conversation_id, message_id, contact_external_id, text, attempts, created_at";

/// The inbox of this workspace, or nothing at all (the writer's exclusivity is the lock).
async fn lock_inbox(conn: &mut Conn, ws: WorkspaceId, id: InboxId) -> StoreResult<()> {
    self::inbox(conn, ws, id).await.map(drop)
}

/// A conversation of the workspace, or nothing at all.
async fn check_conversation(
    conn: &mut Conn,
    ws: WorkspaceId,
    id: ConversationId,
) -> StoreResult<()> {
    load_conversation(conn, ws, id).await.map(drop)
}

/// Nothing to lock: the writer's exclusivity.
async fn lock_conversation_inbox(
    _conn: &mut Conn,
    _ws: WorkspaceId,
    _id: ConversationId,
) -> StoreResult<()> {
    Ok(())
}

/// Nothing to lock: the one writer's commits give the feed's ids in commit order.
async fn lock_feed(_conn: &mut Conn, _ws: WorkspaceId) -> StoreResult<()> {
    Ok(())
}

/// One process owns the file: nobody else to tell.
async fn announce_changes(
    _conn: &mut Conn,
    _ws: WorkspaceId,
    _first: i64,
    _last: i64,
) -> StoreResult<()> {
    Ok(())
}

/// Nothing to lock: what the writer read is still so.
async fn relock_outbox_entry(
    _conn: &mut Conn,
    _ws: WorkspaceId,
    _entry: &OutboxEntry,
    pending: Option<i64>,
) -> StoreResult<Option<i64>> {
    Ok(pending)
}
