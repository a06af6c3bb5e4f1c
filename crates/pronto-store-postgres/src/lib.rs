//! Pronto's store on PostgreSQL, the production store (`DATABASE_URL=postgres://...`).
//!
//! - A connection pool; each write is one transaction at READ COMMITTED with explicit row
//!   locks (see `sql.rs`): an inbox's row is its event sequence's counter, updated in the
//!   transaction (gapless, unique, in commit order); ingests into one inbox go one at a time.
//! - The outbox is claimed with `FOR UPDATE SKIP LOCKED`, so many nodes share it.
//! - Change-feed ids come from a sequence, taken under the workspace's row lock.
//! - Many `pronto serve` nodes can share one database. Telling the other nodes about changes
//!   (LISTEN/NOTIFY) comes with a later issue: its place is [`PgStore::publish`].
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

    /// Where committed changes will be told to the other nodes (LISTEN/NOTIFY, a later
    /// issue). One node needs nothing: its event bus hears them from the methods' returns.
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

impl Store for PgStore {
    async fn create_workspace(&self, name: &str, now: Millis) -> StoreResult<Workspace> {
        let name = name.to_owned();
        tx!(self, |conn| sql::create_workspace(conn, name, now).await)
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        read!(self, |conn| sql::workspace_by_name(conn, name).await)
    }

    async fn create_user(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        now: Millis,
    ) -> StoreResult<User> {
        let (email, name, hash) = (email.to_owned(), name.to_owned(), password_hash.to_owned());
        tx!(self, |conn| sql::create_user(conn, email, name, hash, now)
            .await)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        read!(self, |conn| sql::user_by_email(conn, email).await)
    }

    async fn set_password(&self, user: UserId, password_hash: &str) -> StoreResult<()> {
        let hash = password_hash.to_owned();
        tx!(self, |conn| sql::set_password(conn, user, hash).await)
    }

    async fn set_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Role,
    ) -> StoreResult<()> {
        tx!(self, |conn| sql::set_member(conn, workspace, user, role)
            .await)
    }

    async fn member(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Member>> {
        read!(self, |conn| sql::member(conn, workspace, user).await)
    }

    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<Member>> {
        read!(self, |conn| sql::members(conn, workspace).await)
    }

    async fn memberships(&self, user: UserId) -> StoreResult<Vec<(Workspace, Role)>> {
        read!(self, |conn| sql::memberships(conn, user).await)
    }

    async fn set_presence(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        presence: Presence,
    ) -> StoreResult<()> {
        tx!(self, |conn| sql::set_presence(
            conn, workspace, user, presence
        )
        .await)
    }

    async fn set_user_active(&self, user: UserId, active: bool) -> StoreResult<()> {
        tx!(self, |conn| sql::set_user_active(conn, user, active).await)
    }

    async fn user_count(&self) -> StoreResult<u64> {
        read!(self, |conn| sql::user_count(conn).await)
    }

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let session = session.clone();
        tx!(self, |conn| sql::create_session(conn, session).await)
    }

    async fn session(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<Session>> {
        read!(self, |conn| sql::session(conn, token_hash, now).await)
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let hash = token_hash.to_vec();
        tx!(self, |conn| sql::delete_session(conn, hash).await)
    }

    async fn create_api_token(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        label: &str,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<ApiToken> {
        let (label, hash) = (label.to_owned(), token_hash.to_vec());
        tx!(self, |conn| sql::create_api_token(
            conn, workspace, user, label, hash, now
        )
        .await)
    }

    async fn use_api_token(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<ApiToken>> {
        // A read, and a write only when the last use recorded is older than the resolution.
        let token = read!(self, |conn| sql::api_token(conn, token_hash).await)?;
        match token {
            Some(token) if sql::token_use_is_news(token.last_used_at, now) => {
                let hash = token_hash.to_vec();
                tx!(self, |conn| sql::mark_api_token_used(conn, hash, now).await)
            }
            token => Ok(token),
        }
    }

    async fn create_inbox(
        &self,
        workspace: WorkspaceId,
        inbox: &NewInbox,
        now: Millis,
    ) -> StoreResult<Inbox> {
        let inbox = inbox.clone();
        tx!(self, |conn| sql::create_inbox(conn, workspace, inbox, now)
            .await)
    }

    async fn inboxes(&self, workspace: WorkspaceId) -> StoreResult<Vec<Inbox>> {
        read!(self, |conn| sql::inboxes(conn, workspace).await)
    }

    async fn inbox(&self, workspace: WorkspaceId, inbox: InboxId) -> StoreResult<Inbox> {
        read!(self, |conn| sql::inbox(conn, workspace, inbox).await)
    }

    async fn update_inbox(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        update: &InboxUpdate,
    ) -> StoreResult<Inbox> {
        let update = update.clone();
        tx!(self, |conn| sql::update_inbox(
            conn, workspace, inbox, update
        )
        .await)
    }

    async fn delete_inbox(&self, workspace: WorkspaceId, inbox: InboxId) -> StoreResult<()> {
        tx!(self, |conn| sql::delete_inbox(conn, workspace, inbox).await)
    }

    async fn inbox_by_channel_key(
        &self,
        channel: ChannelKind,
        key: &str,
    ) -> StoreResult<Option<Inbox>> {
        read!(self, |conn| sql::inbox_by_channel_key(conn, channel, key)
            .await)
    }

    async fn all_inboxes(&self) -> StoreResult<Vec<Inbox>> {
        read!(self, |conn| sql::all_inboxes(conn).await)
    }

    async fn create_template(
        &self,
        workspace: WorkspaceId,
        template: &NewTemplate,
        created_by: Option<UserId>,
        now: Millis,
    ) -> StoreResult<Template> {
        let template = template.clone();
        tx!(self, |conn| sql::create_template(
            conn, workspace, template, created_by, now
        )
        .await)
    }

    async fn templates(&self, workspace: WorkspaceId) -> StoreResult<Vec<Template>> {
        read!(self, |conn| sql::templates(conn, workspace).await)
    }

    async fn update_template(
        &self,
        workspace: WorkspaceId,
        template: TemplateId,
        update: &TemplateUpdate,
        now: Millis,
    ) -> StoreResult<Template> {
        let update = update.clone();
        tx!(self, |conn| sql::update_template(
            conn, workspace, template, update, now
        )
        .await)
    }

    async fn delete_template(
        &self,
        workspace: WorkspaceId,
        template: TemplateId,
    ) -> StoreResult<()> {
        tx!(self, |conn| sql::delete_template(conn, workspace, template)
            .await)
    }

    async fn ingest(&self, workspace: WorkspaceId, incoming: &Incoming) -> StoreResult<Ingested> {
        let (incoming, rules) = (incoming.clone(), self.rules);
        let ingested = tx!(self, |conn| sql::ingest(conn, workspace, incoming, rules)
            .await)?;
        if let Ingested::Stored { changes, .. } = &ingested {
            self.publish(changes);
        }
        Ok(ingested)
    }

    async fn conversations(
        &self,
        workspace: WorkspaceId,
        query: &ConversationQuery,
    ) -> StoreResult<ConversationPage> {
        read!(self, |conn| sql::conversations(conn, workspace, query)
            .await)
    }

    async fn conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> StoreResult<ConversationSummary> {
        read!(self, |conn| sql::conversation(
            conn,
            workspace,
            conversation
        )
        .await)
    }

    async fn messages(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> StoreResult<Vec<Message>> {
        read!(self, |conn| sql::messages(conn, workspace, conversation)
            .await)
    }

    async fn contact(&self, workspace: WorkspaceId, contact: ContactId) -> StoreResult<Contact> {
        read!(self, |conn| sql::contact(conn, workspace, contact).await)
    }

    async fn set_status(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        status: Status,
        by: Option<UserId>,
        now: Millis,
    ) -> StoreResult<(Conversation, Vec<InboxEvent>, Vec<Change>)> {
        let done = tx!(self, |conn| sql::set_status(
            conn,
            workspace,
            conversation,
            status,
            by,
            now
        )
        .await)?;
        self.publish(&done.2);
        Ok(done)
    }

    async fn assign(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        assignee: Option<UserId>,
        now: Millis,
    ) -> StoreResult<(Conversation, Vec<Change>)> {
        let done = tx!(self, |conn| sql::assign(
            conn,
            workspace,
            conversation,
            assignee,
            now
        )
        .await)?;
        self.publish(&done.1);
        Ok(done)
    }

    async fn reply(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        agent: UserId,
        text: &str,
        now: Millis,
    ) -> StoreResult<(Message, OutboxEntry, Vec<Change>)> {
        let text = text.to_owned();
        let done = tx!(self, |conn| sql::reply(
            conn,
            workspace,
            conversation,
            agent,
            text,
            now
        )
        .await)?;
        self.publish(&done.2);
        Ok(done)
    }

    async fn claim_outbox(
        &self,
        channel: ChannelKind,
        limit: u32,
        now: Millis,
    ) -> StoreResult<Vec<OutboxEntry>> {
        tx!(self, |conn| sql::claim_outbox(conn, channel, limit, now)
            .await)
    }

    async fn finish_send(
        &self,
        entry: &OutboxEntry,
        outcome: &SendOutcome,
        now: Millis,
    ) -> StoreResult<(Message, Vec<InboxEvent>, Vec<Change>)> {
        let (entry, outcome, rules) = (entry.clone(), outcome.clone(), self.rules);
        let done = tx!(self, |conn| sql::finish_send(
            conn, entry, outcome, now, rules
        )
        .await)?;
        self.publish(&done.2);
        Ok(done)
    }

    async fn outbox_depth(&self) -> StoreResult<u64> {
        read!(self, |conn| sql::outbox_depth(conn).await)
    }

    async fn set_availability(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        availability: Availability,
        by: Option<UserId>,
        now: Millis,
    ) -> StoreResult<(InboxEvent, Vec<Change>)> {
        let done = tx!(self, |conn| sql::set_availability(
            conn,
            workspace,
            inbox,
            availability,
            by,
            now
        )
        .await)?;
        self.publish(&done.1);
        Ok(done)
    }

    async fn availability(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> StoreResult<Option<InboxEvent>> {
        read!(self, |conn| sql::availability(conn, workspace, inbox).await)
    }

    async fn inbox_events(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<InboxEvent>> {
        read!(self, |conn| sql::inbox_events(
            conn, workspace, inbox, after_seq, limit
        )
        .await)
    }

    async fn save_snapshot(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        seq: i64,
        bytes: &[u8],
    ) -> StoreResult<()> {
        let bytes = bytes.to_vec();
        tx!(self, |conn| sql::save_snapshot(
            conn, workspace, inbox, seq, bytes
        )
        .await)
    }

    async fn snapshot(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> StoreResult<Option<(i64, Vec<u8>)>> {
        read!(self, |conn| sql::snapshot(conn, workspace, inbox).await)
    }

    async fn changes_since(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Change>> {
        read!(self, |conn| sql::changes_since(
            conn, workspace, after, limit
        )
        .await)
    }
}
