//! The store's operations on one PostgreSQL connection (shared with SQLite, see
//! `pronto_store_sql::ops`). Reads run on a pooled connection; each write runs in a
//! transaction of its own (see `lib.rs`), so each function that writes is one atomic unit.
//! Every query is scoped by the workspace.
//!
//! Concurrency: a transaction that appends to an inbox's log locks the inbox's row first (the
//! sequence counter), which also serializes ingests per inbox (so the duplicate check and the
//! contact and thread creation are race-free); a transaction that changes a conversation locks
//! its row; the workspace's row is locked last, for the change feed's ids. Always in the order
//! inbox, outbox entry, conversation, workspace: no deadlock.

pronto_store_sql::sql_ops!(row_lock = " FOR UPDATE");

pub(crate) type Conn = sqlx::PgConnection;
type Db = sqlx::Postgres;

async fn next_id(conn: &mut Conn, table: &'static str) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT nextval($1::regclass)")
        .bind(format!("{table}_id"))
        .fetch_one(conn)
        .await
        .map_err(db)
}

/// Claims due attachment fetches (SKIP LOCKED: nodes share the queue); each is due again
/// after the lease if its fetcher dies.
const CLAIM_ATTACHMENT_FETCHES: &str = "UPDATE attachment_fetches f SET attempts = f.attempts + 1, due_at = $2 + $3 \
     FROM (SELECT workspace_id, message_id, position FROM attachment_fetches WHERE due_at <= $2 \
     ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) due \
     WHERE f.workspace_id = due.workspace_id AND f.message_id = due.message_id AND f.position = due.position \
     RETURNING f.workspace_id, f.message_id, f.position, f.url, f.attempts";

/// Claims due journaled deliveries, oldest first (SKIP LOCKED: nodes share the journal); each
/// is due again after the lease.
const CLAIM_DELIVERIES: &str = "UPDATE webhook_journal j SET attempts = j.attempts + 1, due_at = $2 + $3 \
     FROM (SELECT id FROM webhook_journal WHERE due_at <= $2 ORDER BY due_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due \
     WHERE j.id = due.id RETURNING j.id, j.source, j.received_at, j.body, j.attempts";

/// The planner finds the conversations' index by itself.
const BY_CONVERSATION: &str = "";

/// One array parameter holds any number of ids: one statement for the whole list.
const IDS_PER_STATEMENT: usize = usize::MAX;

/// `column = ANY($n)`, after the column: the ids as one array.
fn push_id_list(sql: &mut QueryBuilder<Db>, ids: &[i64]) {
    sql.push(" = ANY(").push_bind(ids.to_vec()).push(")");
}

/// After a bulk load: the planner's statistics of the tables it filled (autovacuum may take
/// long to notice, and an unanalyzed table of millions of rows gets plans for an empty one).
const AFTER_HISTORY: &[&str] = &[
    "ANALYZE contacts",
    "ANALYZE conversations",
    "ANALYZE messages",
    "ANALYZE inbox_events",
    "ANALYZE view_count_deltas",
];

/// Folds the view counters' deltas into their totals in one statement. A concurrent fold
/// waits for the rows this one deletes and then passes over them; totals are upserted in key
/// order, so two folds never deadlock.
const FOLD_VIEW_COUNTS: &[&str] = &["WITH moved AS (DELETE FROM view_count_deltas \
     RETURNING workspace_id, inbox_id, assignee_id, unanswered, open, done, spam) \
     INSERT INTO view_counts (workspace_id, inbox_id, assignee_id, unanswered, open, done, spam) \
     SELECT workspace_id, inbox_id, assignee_id, SUM(unanswered), SUM(open), SUM(done), SUM(spam) FROM moved \
     GROUP BY workspace_id, inbox_id, assignee_id ORDER BY workspace_id, inbox_id, assignee_id \
     ON CONFLICT (workspace_id, inbox_id, assignee_id) DO UPDATE SET \
     unanswered = view_counts.unanswered + excluded.unanswered, open = view_counts.open + excluded.open, \
     done = view_counts.done + excluded.done, spam = view_counts.spam + excluded.spam"];

/// `count` fresh ids of a table's sequence, in one statement.
async fn next_ids(conn: &mut Conn, table: &'static str, count: usize) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar("SELECT nextval($1::regclass) FROM generate_series(1, $2)")
        .bind(format!("{table}_id"))
        .bind(count as i64)
        .fetch_all(conn)
        .await
        .map_err(db)
}

/// SKIP LOCKED: concurrent claimers (other nodes) pass over what another one is claiming.
/// An entry whose sender's lease ran out is due again.
const CLAIM_OUTBOX: &str = "UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1, due_at = $3 + $4 \
     FROM (SELECT workspace_id, id FROM outbox WHERE channel = $1 AND due_at <= $3 \
     ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due \
     WHERE o.workspace_id = due.workspace_id AND o.id = due.id RETURNING o.workspace_id, o.id, o.inbox_id, o.channel, o.conversation_id, o.message_id, o.contact_external_id, o.text, o.attempts, o.created_at";

/// The inbox of a conversation of the workspace.
async fn conversation_inbox(
    conn: &mut Conn,
    ws: WorkspaceId,
    id: ConversationId,
) -> StoreResult<InboxId> {
    let inbox: Option<i64> = sqlx::query_scalar(
        "SELECT inbox_id FROM conversations WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    inbox
        .map(InboxId)
        .ok_or(StoreError::NotFound("conversation"))
}

/// Locks an inbox's row until commit: its log's sequence, and the ingests into it, go one at
/// a time.
async fn lock_inbox(conn: &mut Conn, ws: WorkspaceId, inbox: InboxId) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM inboxes WHERE workspace_id = $1 AND id = $2 FOR UPDATE")
            .bind(ws.0)
            .bind(inbox.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    found.map(drop).ok_or(StoreError::NotFound("inbox"))
}

/// A conversation of the workspace, or nothing at all (without locking it).
async fn check_conversation(
    conn: &mut Conn,
    ws: WorkspaceId,
    id: ConversationId,
) -> StoreResult<()> {
    conversation_inbox(conn, ws, id).await.map(drop)
}

/// Locks the inbox of a conversation of the workspace until commit (before the conversation:
/// the locking order).
async fn lock_conversation_inbox(
    conn: &mut Conn,
    ws: WorkspaceId,
    id: ConversationId,
) -> StoreResult<()> {
    let inbox = conversation_inbox(conn, ws, id).await?;
    lock_inbox(conn, ws, inbox).await
}

/// The workspace's row lock, held until commit, makes the ids increase in commit order within
/// the workspace (a reader of the feed never misses a change committed late with a smaller
/// id). The place where LISTEN/NOTIFY will tell the other nodes, too.
async fn lock_feed(conn: &mut Conn, ws: WorkspaceId) -> StoreResult<()> {
    sqlx::query("SELECT id FROM workspaces WHERE id = $1 FOR NO KEY UPDATE")
        .bind(ws.0)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Tells every node (LISTEN `pronto_changes`) about this transaction's changes: PostgreSQL
/// delivers the notification when, and only if, the transaction commits, in commit order.
async fn announce_changes(
    conn: &mut Conn,
    ws: WorkspaceId,
    first: i64,
    last: i64,
) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::CHANGES_CHANNEL)
        .bind(format!("{} {first} {last}", ws.0))
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Locks the inbox of an outbox entry still pending (`pending`, read without a lock), then
/// reads it again, under the lock: another sender may have finished it meanwhile.
async fn relock_outbox_entry(
    conn: &mut Conn,
    ws: WorkspaceId,
    entry: &OutboxEntry,
    pending: Option<i64>,
) -> StoreResult<Option<i64>> {
    if let Some(inbox) = pending {
        lock_inbox(conn, ws, InboxId(inbox)).await?;
    }
    sqlx::query_scalar(
        "SELECT inbox_id FROM outbox WHERE workspace_id = $1 AND id = $2 AND message_id = $3 FOR UPDATE",
    )
    .bind(ws.0)
    .bind(entry.id.0)
    .bind(entry.message.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)
}
