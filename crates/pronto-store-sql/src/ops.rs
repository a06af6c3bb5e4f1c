//! The store's operations on one connection, shared by the SQLite and PostgreSQL stores: both
//! schemas have the same tables, so all but a few statements are the same.
//! [`sql_ops!`](crate::sql_ops) expands them in an adapter's `sql` module, which defines what
//! really differs:
//!
//! - `type Conn` (the connection) and `type Db` (the `sqlx::Database`);
//! - `next_id(conn, table)`: a counter table or a sequence;
//! - the row locks: `row_lock` (the `FOR UPDATE` suffix of the selects of a row about to
//!   change, empty where one writer has the database to itself), `lock_inbox`,
//!   `lock_conversation_inbox`, `lock_feed`, `relock_outbox_entry`, `check_conversation`;
//! - `CLAIM_OUTBOX`, the statement that claims due outbox entries;
//! - `announce_changes(conn, ws, first, last)`: tells the other nodes about a transaction's
//!   changes when it commits (PostgreSQL's NOTIFY; nothing where one process owns the file).
//! - `IDS_PER_STATEMENT` and `push_id_list(sql, ids)`: how a statement matches a column against a
//!   list of ids (SQLite binds each id, so a long list takes several statements; PostgreSQL
//!   binds one array).
//! - `BY_CONVERSATION`: what follows `FROM inbox_events` to read events by conversation (SQLite
//!   names the index, which its planner would pass over for the primary key).
//!
//! Reads run on a connection outside any write; each function that writes runs as one atomic
//! unit (a transaction, or a savepoint of the SQLite writer's batch). Every query is scoped by
//! the workspace.

/// Expands the shared operations in the calling module (see the module's documentation for
/// the items that module must define).
#[macro_export]
macro_rules! sql_ops {
    (row_lock = $lock:literal) => {
        use pronto_badge::{Author, Availability, Millis, Rules, Status};
        use pronto_core::conversation::Urgency;
        use pronto_core::store::{
            Change, ChangeKind, ConversationOrder, ConversationPage, ConversationQuery,
            ConversationSummary, AttachmentFetch, FetchOutcome, JournaledDelivery, StoredFile, InboxEvent, InboxFact, InboxUpdate, Inbound, Ingested, NewInbox, JOURNAL_LEASE, OUTBOX_LEASE, Taken,
            OutboxEntry, SendOutcome, Session, StoreError, StoreResult, TOKEN_USE_RESOLUTION,
            conversation_rank, preview,
        };
        use pronto_core::template::{NewTemplate, TemplateUpdate, sort_templates};
        use pronto_core::*;
        use $crate::cursor::Cursor;
        use $crate::rows::*;
        use sqlx::error::ErrorKind;
        use sqlx::types::Json;
        use sqlx::QueryBuilder;

        /// A database error as the port's error.
        pub(crate) fn db(error: sqlx::Error) -> StoreError {
            match &error {
                sqlx::Error::Database(e) => match e.kind() {
                    ErrorKind::UniqueViolation => {
                        StoreError::Conflict(format!("already exists: {}", e.message()))
                    }
                    ErrorKind::ForeignKeyViolation => StoreError::NotFound("referenced row"),
                    ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                        StoreError::Invalid(e.message().to_owned())
                    }
                    _ => StoreError::Unavailable(error.to_string()),
                },
                sqlx::Error::RowNotFound => StoreError::NotFound("row"),
                _ => StoreError::Unavailable(error.to_string()),
            }
        }

        fn email_key(email: &str) -> String {
            email.trim().to_lowercase()
        }

        // Workspaces, users, members.

        const WORKSPACE: &str = "SELECT id, name, created_at FROM workspaces";
        const USER: &str = "SELECT id, email, name, password_hash, active, created_at FROM users";
        const MEMBER: &str = "SELECT m.workspace_id, m.role, m.presence, u.id, u.email, u.name, u.password_hash, \
             u.active, u.created_at FROM members m JOIN users u ON u.id = m.user_id";

        pub(crate) async fn create_workspace(
            conn: &mut Conn,
            name: String,
            now: Millis,
        ) -> StoreResult<Workspace> {
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err(StoreError::Invalid("a workspace needs a name".into()));
            }
            if workspace_by_name(conn, &name).await?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a workspace named {name:?} exists"
                )));
            }
            let id = next_id(conn, "workspaces").await?;
            sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(&name)
                .bind(now)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(Workspace {
                id: WorkspaceId(id),
                name,
                created_at: now,
            })
        }

        pub(crate) async fn workspace_by_name(
            conn: &mut Conn,
            name: &str,
        ) -> StoreResult<Option<Workspace>> {
            let row: Option<WorkspaceRow> = sqlx::query_as(const_format(WORKSPACE, " WHERE name = $1"))
                .bind(name.trim())
                .fetch_optional(conn)
                .await
                .map_err(db)?;
            Ok(row.map(Into::into))
        }

        async fn workspace_exists(conn: &mut Conn, ws: WorkspaceId) -> StoreResult<()> {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM workspaces WHERE id = $1")
                .bind(ws.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?;
            found.map(drop).ok_or(StoreError::NotFound("workspace"))
        }

        pub(crate) async fn create_user(
            conn: &mut Conn,
            email: String,
            name: String,
            password_hash: String,
            now: Millis,
        ) -> StoreResult<User> {
            let key = email_key(&email);
            if key.is_empty() || !key.contains('@') {
                return Err(StoreError::Invalid(format!(
                    "not an email address: {email:?}"
                )));
            }
            if user_by_email(conn, &key).await?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a user with the email {email:?} exists"
                )));
            }
            let id = next_id(conn, "users").await?;
            let email = email.trim().to_owned();
            sqlx::query(
                "INSERT INTO users (id, email, email_key, name, password_hash, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
            )
            .bind(id)
            .bind(&email)
            .bind(&key)
            .bind(&name)
            .bind(&password_hash)
            .bind(now)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(User {
                id: UserId(id),
                email,
                name,
                password_hash,
                active: true,
                created_at: now,
            })
        }

        pub(crate) async fn user_by_email(conn: &mut Conn, email: &str) -> StoreResult<Option<User>> {
            let row: Option<UserRow> = sqlx::query_as(const_format(USER, " WHERE email_key = $1"))
                .bind(email_key(email))
                .fetch_optional(conn)
                .await
                .map_err(db)?;
            Ok(row.map(Into::into))
        }

        async fn user_exists(conn: &mut Conn, user: UserId) -> StoreResult<()> {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?;
            found.map(drop).ok_or(StoreError::NotFound("user"))
        }

        pub(crate) async fn set_password(
            conn: &mut Conn,
            user: UserId,
            password_hash: String,
        ) -> StoreResult<()> {
            let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user.0)
                .bind(password_hash)
                .execute(conn)
                .await
                .map_err(db)?;
            (done.rows_affected() == 1)
                .then_some(())
                .ok_or(StoreError::NotFound("user"))
        }

        pub(crate) async fn set_user_active(
            conn: &mut Conn,
            user: UserId,
            active: bool,
        ) -> StoreResult<()> {
            let done = sqlx::query("UPDATE users SET active = $2 WHERE id = $1")
                .bind(user.0)
                .bind(active)
                .execute(conn)
                .await
                .map_err(db)?;
            (done.rows_affected() == 1)
                .then_some(())
                .ok_or(StoreError::NotFound("user"))
        }

        pub(crate) async fn user_count(conn: &mut Conn) -> StoreResult<u64> {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
                .fetch_one(conn)
                .await
                .map_err(db)?;
            Ok(count.unsigned_abs())
        }

        pub(crate) async fn set_member(
            conn: &mut Conn,
            ws: WorkspaceId,
            user: UserId,
            role: Role,
        ) -> StoreResult<()> {
            workspace_exists(conn, ws).await?;
            user_exists(conn, user).await?;
            sqlx::query(
                "INSERT INTO members (workspace_id, user_id, role) VALUES ($1, $2, $3) \
                 ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(ws.0)
            .bind(user.0)
            .bind(role.as_str())
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn member(
            conn: &mut Conn,
            ws: WorkspaceId,
            user: UserId,
        ) -> StoreResult<Option<Member>> {
            let row: Option<MemberRow> = sqlx::query_as(const_format(
                MEMBER,
                " WHERE m.workspace_id = $1 AND m.user_id = $2",
            ))
            .bind(ws.0)
            .bind(user.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            row.map(Member::try_from).transpose()
        }

        /// The user, who must be a member of the workspace.
        async fn require_member(conn: &mut Conn, ws: WorkspaceId, user: UserId) -> StoreResult<Member> {
            member(conn, ws, user)
                .await?
                .ok_or(StoreError::NotFound("user"))
        }

        pub(crate) async fn members(conn: &mut Conn, ws: WorkspaceId) -> StoreResult<Vec<Member>> {
            let rows: Vec<MemberRow> = sqlx::query_as(const_format(
                MEMBER,
                " WHERE m.workspace_id = $1 ORDER BY u.id",
            ))
            .bind(ws.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
            rows.into_iter().map(Member::try_from).collect()
        }

        pub(crate) async fn memberships(
            conn: &mut Conn,
            user: UserId,
        ) -> StoreResult<Vec<(Workspace, Role)>> {
            let rows: Vec<MembershipRow> = sqlx::query_as(
                "SELECT m.role, w.id, w.name, w.created_at FROM members m \
                 JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.id",
            )
            .bind(user.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        pub(crate) async fn set_presence(
            conn: &mut Conn,
            ws: WorkspaceId,
            user: UserId,
            presence: Presence,
        ) -> StoreResult<()> {
            let done =
                sqlx::query("UPDATE members SET presence = $3 WHERE workspace_id = $1 AND user_id = $2")
                    .bind(ws.0)
                    .bind(user.0)
                    .bind(presence.as_str())
                    .execute(conn)
                    .await
                    .map_err(db)?;
            (done.rows_affected() == 1)
                .then_some(())
                .ok_or(StoreError::NotFound("user"))
        }

        // Sessions and API tokens.

        pub(crate) async fn create_session(conn: &mut Conn, session: Session) -> StoreResult<()> {
            require_member(conn, session.workspace, session.user).await?;
            sqlx::query(
                "INSERT INTO sessions (workspace_id, token_hash, user_id, csrf_token, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.workspace.0)
            .bind(session.token_hash)
            .bind(session.user.0)
            .bind(session.csrf_token)
            .bind(session.expires_at)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn session(
            conn: &mut Conn,
            token_hash: &[u8],
            now: Millis,
        ) -> StoreResult<Option<Session>> {
            let row: Option<SessionRow> = sqlx::query_as(
                "SELECT s.token_hash, s.user_id, s.workspace_id, s.csrf_token, s.expires_at FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            Ok(row.map(Into::into))
        }

        pub(crate) async fn delete_session(conn: &mut Conn, token_hash: Vec<u8>) -> StoreResult<()> {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        const API_TOKEN: &str = "SELECT t.id, t.workspace_id, t.user_id, t.label, t.created_at, t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id";

        pub(crate) async fn create_api_token(
            conn: &mut Conn,
            ws: WorkspaceId,
            user: UserId,
            label: String,
            token_hash: Vec<u8>,
            now: Millis,
        ) -> StoreResult<ApiToken> {
            require_member(conn, ws, user).await?;
            let id = next_id(conn, "api_tokens").await?;
            sqlx::query(
                "INSERT INTO api_tokens (workspace_id, id, user_id, label, token_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ws.0)
            .bind(id)
            .bind(user.0)
            .bind(&label)
            .bind(token_hash)
            .bind(now)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(ApiToken {
                id: TokenId(id),
                workspace: ws,
                user,
                label,
                created_at: now,
                last_used_at: None,
            })
        }

        /// The token of an active user, as stored.
        pub(crate) async fn api_token(conn: &mut Conn, token_hash: &[u8]) -> StoreResult<Option<ApiToken>> {
            let row: Option<ApiTokenRow> = sqlx::query_as(const_format(
                API_TOKEN,
                " WHERE t.token_hash = $1 AND u.active",
            ))
            .bind(token_hash)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            Ok(row.map(Into::into))
        }

        /// Whether a token last used at `last` is to be marked used at `now`.
        pub(crate) fn token_use_is_news(last: Option<Millis>, now: Millis) -> bool {
            last.is_none_or(|last| now - last >= TOKEN_USE_RESOLUTION)
        }

        pub(crate) async fn mark_api_token_used(
            conn: &mut Conn,
            token_hash: Vec<u8>,
            now: Millis,
        ) -> StoreResult<Option<ApiToken>> {
            let Some(token) = api_token(conn, &token_hash).await? else {
                return Ok(None);
            };
            if !token_use_is_news(token.last_used_at, now) {
                return Ok(Some(token));
            }
            sqlx::query("UPDATE api_tokens SET last_used_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(token.workspace.0)
                .bind(token.id.0)
                .bind(now)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(Some(ApiToken {
                last_used_at: Some(now),
                ..token
            }))
        }

        // Inboxes.

        const INBOX: &str = "SELECT workspace_id, id, name, channel, channel_key, settings, sealed_secrets, created_at FROM inboxes";

        pub(crate) async fn create_inbox(
            conn: &mut Conn,
            ws: WorkspaceId,
            new: NewInbox,
            now: Millis,
        ) -> StoreResult<Inbox> {
            workspace_exists(conn, ws).await?;
            if new.name.trim().is_empty() {
                return Err(StoreError::Invalid("an inbox needs a name".into()));
            }
            if !new.settings.is_object() {
                return Err(StoreError::Invalid(
                    "an inbox's settings are a JSON object".into(),
                ));
            }
            let key = new
                .channel_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned);
            if let Some(key) = &key {
                let taken: Option<i64> = sqlx::query_scalar(
                    "SELECT inbox_id FROM channel_keys WHERE channel = $1 AND channel_key = $2",
                )
                .bind(new.channel.as_str())
                .bind(key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "this {} ({key}) is already connected to an inbox",
                        new.channel
                    )));
                }
            }
            let id = next_id(conn, "inboxes").await?;
            sqlx::query(
                "INSERT INTO inboxes (workspace_id, id, name, channel, channel_key, settings, sealed_secrets, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(ws.0)
            .bind(id)
            .bind(new.name.trim())
            .bind(new.channel.as_str())
            .bind(&key)
            .bind(Json(&new.settings))
            .bind(&new.sealed_secrets)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            if let Some(key) = &key {
                sqlx::query("INSERT INTO channel_keys (channel, channel_key, workspace_id, inbox_id) VALUES ($1, $2, $3, $4)")
                    .bind(new.channel.as_str())
                    .bind(key)
                    .bind(ws.0)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
            }
            inbox(conn, ws, InboxId(id)).await
        }

        pub(crate) async fn inboxes(conn: &mut Conn, ws: WorkspaceId) -> StoreResult<Vec<Inbox>> {
            let rows: Vec<InboxRow> =
                sqlx::query_as(const_format(INBOX, " WHERE workspace_id = $1 ORDER BY id"))
                    .bind(ws.0)
                    .fetch_all(conn)
                    .await
                    .map_err(db)?;
            rows.into_iter().map(Inbox::try_from).collect()
        }

        pub(crate) async fn all_inboxes(conn: &mut Conn) -> StoreResult<Vec<Inbox>> {
            let rows: Vec<InboxRow> = sqlx::query_as(const_format(INBOX, " ORDER BY workspace_id, id"))
                .fetch_all(conn)
                .await
                .map_err(db)?;
            rows.into_iter().map(Inbox::try_from).collect()
        }

        pub(crate) async fn inbox(conn: &mut Conn, ws: WorkspaceId, id: InboxId) -> StoreResult<Inbox> {
            let row: Option<InboxRow> =
                sqlx::query_as(const_format(INBOX, " WHERE workspace_id = $1 AND id = $2"))
                    .bind(ws.0)
                    .bind(id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(db)?;
            row.ok_or(StoreError::NotFound("inbox"))?.try_into()
        }

        pub(crate) async fn update_inbox(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: InboxId,
            update: InboxUpdate,
        ) -> StoreResult<Inbox> {
            let mut current = inbox(conn, ws, id).await?;
            if let Some(name) = update.name {
                if name.trim().is_empty() {
                    return Err(StoreError::Invalid("an inbox needs a name".into()));
                }
                current.name = name.trim().to_owned();
            }
            if let Some(settings) = update.settings {
                if !settings.is_object() {
                    return Err(StoreError::Invalid(
                        "an inbox's settings are a JSON object".into(),
                    ));
                }
                current.settings = settings;
            }
            if let Some(secrets) = update.sealed_secrets {
                current.sealed_secrets = Some(secrets);
            }
            sqlx::query("UPDATE inboxes SET name = $3, settings = $4, sealed_secrets = $5 WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .bind(&current.name)
                .bind(Json(&current.settings))
                .bind(&current.sealed_secrets)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(current)
        }

        pub(crate) async fn delete_inbox(conn: &mut Conn, ws: WorkspaceId, id: InboxId) -> StoreResult<()> {
            // The foreign keys cascade to the channel key, contacts, conversations, messages, the
            // outbox, the events and the snapshot.
            let done = sqlx::query("DELETE FROM inboxes WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .execute(conn)
                .await
                .map_err(db)?;
            (done.rows_affected() == 1)
                .then_some(())
                .ok_or(StoreError::NotFound("inbox"))
        }

        pub(crate) async fn inbox_by_channel_key(
            conn: &mut Conn,
            channel: ChannelKind,
            key: &str,
        ) -> StoreResult<Option<Inbox>> {
            let found: Option<(i64, i64)> = sqlx::query_as(
                "SELECT workspace_id, inbox_id FROM channel_keys WHERE channel = $1 AND channel_key = $2",
            )
            .bind(channel.as_str())
            .bind(key.trim())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            match found {
                Some((ws, id)) => Ok(Some(inbox(conn, WorkspaceId(ws), InboxId(id)).await?)),
                None => Ok(None),
            }
        }

        // Contacts, conversations, messages.

        const CONVERSATION: &str = "SELECT workspace_id, id, inbox_id, contact_id, status, status_at, assignee_id, \
             last_message_at, waiting_since, unanswered_since, reply_window_closes_at, last_activity_at, preview \
             FROM conversations";
        const SUMMARY: &str = "SELECT c.workspace_id, c.id, c.inbox_id, c.contact_id, c.status, c.status_at, \
             c.assignee_id, c.last_message_at, c.waiting_since, c.unanswered_since, c.reply_window_closes_at, \
             c.last_activity_at, c.preview, c.rank_band, c.rank_at, ct.name AS contact_name, i.channel AS channel \
             FROM conversations c \
             JOIN contacts ct ON ct.workspace_id = c.workspace_id AND ct.id = c.contact_id \
             JOIN inboxes i ON i.workspace_id = c.workspace_id AND i.id = c.inbox_id";
        const MESSAGE: &str = "SELECT workspace_id, id, inbox_id, conversation_id, author, agent_id, channel_message_id, \
             at, text, attachments, delivery, delivery_reason FROM messages";
        const EVENT: &str = "SELECT inbox_id, seq, at, kind, conversation_id, author, status, availability, until, by_user \
             FROM inbox_events";

        /// `base` and `tail` as one statement; the parts are constants, so the text is safe.
        fn const_format(base: &'static str, tail: &'static str) -> sqlx::AssertSqlSafe<String> {
            sqlx::AssertSqlSafe(format!("{base}{tail}"))
        }

        pub(crate) async fn contact(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ContactId,
        ) -> StoreResult<Contact> {
            let row: Option<ContactRow> = sqlx::query_as("SELECT workspace_id, id, inbox_id, external_id, name FROM contacts WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?;
            Ok(row.ok_or(StoreError::NotFound("contact"))?.into())
        }

        pub(crate) async fn rename_contact(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ContactId,
            name: String,
            now: Millis,
        ) -> StoreResult<Vec<Change>> {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(StoreError::Invalid("a contact's name has 1 to 200 characters".into()));
            }
            let contact = contact(conn, ws, id).await?;
            sqlx::query("UPDATE contacts SET name = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .bind(name)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            let conversations: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM conversations WHERE workspace_id = $1 AND contact_id = $2",
            )
            .bind(ws.0)
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            let kinds = conversations
                .into_iter()
                .map(|conversation| ChangeKind::ConversationUpdated {
                    inbox: contact.inbox,
                    conversation: ConversationId(conversation),
                })
                .collect();
            record_changes(conn, ws, now, kinds).await
        }

        /// The contact of a channel identity in an inbox, created or renamed as it says.
        async fn contact_for(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            external_id: &str,
            name: &str,
        ) -> StoreResult<ContactId> {
            let found: Option<(i64, String)> = sqlx::query_as("SELECT id, name FROM contacts WHERE workspace_id = $1 AND inbox_id = $2 AND external_id = $3")
                .bind(ws.0)
                .bind(inbox.0)
                .bind(external_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
            match found {
                Some((id, current)) => {
                    if !name.trim().is_empty() && current != name.trim() {
                        sqlx::query("UPDATE contacts SET name = $3 WHERE workspace_id = $1 AND id = $2")
                            .bind(ws.0)
                            .bind(id)
                            .bind(name.trim())
                            .execute(conn)
                            .await
                            .map_err(db)?;
                    }
                    Ok(ContactId(id))
                }
                None => {
                    let id = next_id(conn, "contacts").await?;
                    let name = match name.trim() {
                        "" => external_id,
                        name => name,
                    };
                    sqlx::query("INSERT INTO contacts (workspace_id, id, inbox_id, external_id, name) VALUES ($1, $2, $3, $4, $5)")
                        .bind(ws.0)
                        .bind(id)
                        .bind(inbox.0)
                        .bind(external_id)
                        .bind(name)
                        .execute(conn)
                        .await
                        .map_err(db)?;
                    Ok(ContactId(id))
                }
            }
        }

        async fn load_conversation(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ConversationId,
        ) -> StoreResult<StoredConversation> {
            let row: Option<ConversationRow> = sqlx::query_as(const_format(
                CONVERSATION,
                concat!(" WHERE workspace_id = $1 AND id = $2", $lock),
            ))
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            row.ok_or(StoreError::NotFound("conversation"))?.try_into()
        }

        /// The thread of (inbox, contact), created when there is none yet.
        async fn thread(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            contact: ContactId,
            at: Millis,
        ) -> StoreResult<StoredConversation> {
            let row: Option<ConversationRow> = sqlx::query_as(const_format(
                CONVERSATION,
                concat!(" WHERE workspace_id = $1 AND inbox_id = $2 AND contact_id = $3", $lock),
            ))
            .bind(ws.0)
            .bind(inbox.0)
            .bind(contact.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            if let Some(row) = row {
                return row.try_into();
            }
            let id = next_id(conn, "conversations").await?;
            let conversation = Conversation {
                id: ConversationId(id),
                workspace: ws,
                inbox,
                contact,
                status: Status::Open,
                assignee: None,
                urgency: Urgency::default(),
                last_activity_at: at,
                preview: String::new(),
            };
            let (band, rank_at) = conversation_rank(conversation.status, &conversation.urgency, at);
            sqlx::query(
                "INSERT INTO conversations (workspace_id, id, inbox_id, contact_id, status, last_activity_at, preview, rank_band, rank_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5, '', $6, $7)",
            )
            .bind(ws.0)
            .bind(id)
            .bind(inbox.0)
            .bind(contact.0)
            .bind(at)
            .bind(band_number(band))
            .bind(rank_at)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(StoredConversation {
                conversation,
                status_at: None,
            })
        }

        /// Writes a conversation's changing columns back, with its rank.
        async fn save_conversation(conn: &mut Conn, stored: &StoredConversation) -> StoreResult<()> {
            let c = &stored.conversation;
            let (band, rank_at) = conversation_rank(c.status, &c.urgency, c.last_activity_at);
            sqlx::query(
                "UPDATE conversations SET status = $3, status_at = $4, assignee_id = $5, last_message_at = $6, \
                 waiting_since = $7, unanswered_since = $8, reply_window_closes_at = $9, last_activity_at = $10, \
                 preview = $11, rank_band = $12, rank_at = $13 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(c.workspace.0)
            .bind(c.id.0)
            .bind(c.status.as_str())
            .bind(stored.status_at)
            .bind(c.assignee.map(|u| u.0))
            .bind(c.urgency.last_message_at)
            .bind(c.urgency.waiting_since)
            .bind(c.urgency.unanswered_since)
            .bind(c.urgency.reply_window_closes_at)
            .bind(c.last_activity_at)
            .bind(&c.preview)
            .bind(band_number(band))
            .bind(rank_at)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(())
        }

        /// Takes a customer or agent message that counts into the conversation's urgency; a message
        /// older than the latest one makes it recomputed from the conversation's messages.
        async fn take_into_urgency(
            conn: &mut Conn,
            c: &mut Conversation,
            author: Author,
            at: Millis,
            rules: &Rules,
        ) -> StoreResult<()> {
            if author == Author::Automation {
                return Ok(());
            }
            if c.urgency.last_message_at.is_none_or(|last| at >= last) {
                c.urgency.on_message(author, at, rules);
                return Ok(());
            }
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT author, at FROM messages WHERE workspace_id = $1 AND conversation_id = $2 \
                 AND author <> 'automation' AND delivery IN ('received', 'sent') ORDER BY at, id",
            )
            .bind(c.workspace.0)
            .bind(c.id.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
            let messages = rows
                .into_iter()
                .map(|(a, at)| Ok((author_of(&a)?, at)))
                .collect::<StoreResult<Vec<_>>>()?;
            c.urgency = Urgency::from_messages(messages, rules);
            Ok(())
        }

        fn author_of(name: &str) -> StoreResult<Author> {
            pronto_store_sql::rows::author(name)
        }

        /// The latest activity and the preview, when a message at `at` is the latest.
        fn touch(c: &mut Conversation, at: Millis, text: &str, attachments: &[Attachment]) {
            if at >= c.last_activity_at || c.preview.is_empty() {
                c.last_activity_at = c.last_activity_at.max(at);
                c.preview = match (preview(text), attachments.first()) {
                    (p, Some(a)) if p.is_empty() => format!("[{}]", a.kind),
                    (p, _) => p,
                };
            }
        }

        /// Appends an event to the inbox's log with the inbox's next sequence number.
        async fn append_event(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            at: Millis,
            fact: InboxFact,
        ) -> StoreResult<InboxEvent> {
            let seq: i64 = sqlx::query_scalar("UPDATE inboxes SET last_seq = last_seq + 1 WHERE workspace_id = $1 AND id = $2 RETURNING last_seq")
                .bind(ws.0)
                .bind(inbox.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?
                .ok_or(StoreError::NotFound("inbox"))?;
            let c = EventColumns::of(&fact);
            sqlx::query(
                "INSERT INTO inbox_events (workspace_id, inbox_id, seq, at, kind, conversation_id, author, status, availability, until, by_user) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(ws.0)
            .bind(inbox.0)
            .bind(seq)
            .bind(at)
            .bind(c.kind)
            .bind(c.conversation_id)
            .bind(c.author)
            .bind(c.status)
            .bind(c.availability)
            .bind(c.until)
            .bind(c.by_user)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(InboxEvent {
                inbox,
                seq,
                at,
                fact,
            })
        }

        /// Appends changes to the workspace's feed.
        async fn record_changes(
            conn: &mut Conn,
            ws: WorkspaceId,
            at: Millis,
            kinds: Vec<ChangeKind>,
        ) -> StoreResult<Vec<Change>> {
            lock_feed(conn, ws).await?;
            if kinds.is_empty() {
                return Ok(Vec::new());
            }
            // One statement for the ids and one for the rows, however many changes.
            let mut ids = next_ids(conn, "changes", kinds.len()).await?;
            ids.sort_unstable();
            let mut query = QueryBuilder::<Db>::new("INSERT INTO changes (workspace_id, id, at, kind) ");
            query.push_values(ids.iter().zip(&kinds), |mut row, (id, kind)| {
                row.push_bind(ws.0).push_bind(*id).push_bind(at).push_bind(Json(kind));
            });
            query.build().execute(&mut *conn).await.map_err(db)?;
            announce_changes(conn, ws, ids[0], ids[ids.len() - 1]).await?;
            Ok(ids
                .into_iter()
                .zip(kinds)
                .map(|(id, kind)| Change {
                    id,
                    workspace: ws,
                    at,
                    kind,
                })
                .collect())
        }

        struct NewMessage<'a> {
            ws: WorkspaceId,
            inbox: InboxId,
            conversation: ConversationId,
            author: Author,
            agent: Option<UserId>,
            channel_message_id: Option<&'a str>,
            at: Millis,
            text: &'a str,
            attachments: &'a [Attachment],
            delivery: Delivery,
        }

        async fn insert_message(conn: &mut Conn, m: NewMessage<'_>) -> StoreResult<Message> {
            let id = next_id(conn, "messages").await?;
            let (delivery, reason) = delivery_columns(&m.delivery);
            sqlx::query(
                "INSERT INTO messages (workspace_id, id, inbox_id, conversation_id, author, agent_id, channel_message_id, at, text, attachments, delivery, delivery_reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(m.ws.0)
            .bind(id)
            .bind(m.inbox.0)
            .bind(m.conversation.0)
            .bind(m.author.as_str())
            .bind(m.agent.map(|u| u.0))
            .bind(m.channel_message_id)
            .bind(m.at)
            .bind(m.text)
            .bind(Json(m.attachments))
            .bind(delivery)
            .bind(reason)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(Message {
                id: MessageId(id),
                workspace: m.ws,
                conversation: m.conversation,
                author: m.author,
                agent: m.agent,
                channel_message_id: m.channel_message_id.map(str::to_owned),
                at: m.at,
                text: m.text.to_owned(),
                attachments: m.attachments.to_vec(),
                delivery: m.delivery,
            })
        }

        async fn load_message(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: MessageId,
        ) -> StoreResult<Option<Message>> {
            let row: Option<MessageRow> = sqlx::query_as(const_format(
                MESSAGE,
                " WHERE workspace_id = $1 AND id = $2",
            ))
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            row.map(|r| r.into_message().map(|(_, m)| m)).transpose()
        }

        async fn set_delivery(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: MessageId,
            delivery: &Delivery,
        ) -> StoreResult<()> {
            let (state, reason) = delivery_columns(delivery);
            sqlx::query("UPDATE messages SET delivery = $3, delivery_reason = $4 WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .bind(state)
                .bind(reason)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn ingest(
            conn: &mut Conn,
            ws: WorkspaceId,
            incoming: Incoming,
            rules: Rules,
        ) -> StoreResult<Ingested> {
            ingest_in(conn, ws, incoming, rules, &mut Vec::new()).await
        }

        /// [`ingest`], in a transaction that may have locked the inbox already (`locked`).
        async fn ingest_in(
            conn: &mut Conn,
            ws: WorkspaceId,
            incoming: Incoming,
            rules: Rules,
            locked: &mut Vec<(WorkspaceId, InboxId)>,
        ) -> StoreResult<Ingested> {
            let inbox = incoming.inbox;
            if incoming.channel_message_id.is_empty() || incoming.contact_external_id.is_empty() {
                return Err(StoreError::Invalid(
                    "a message needs the channel's message id and the contact's id".into(),
                ));
            }
            // The inbox of this workspace, or nothing at all; locked until commit where it can be
            // (once per transaction is enough).
            if !locked.contains(&(ws, inbox)) {
                lock_inbox(conn, ws, inbox).await?;
                locked.push((ws, inbox));
            }
            let duplicate: Option<i64> = sqlx::query_scalar("SELECT id FROM messages WHERE workspace_id = $1 AND inbox_id = $2 AND channel_message_id = $3")
                .bind(ws.0)
                .bind(inbox.0)
                .bind(&incoming.channel_message_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
            if let Some(id) = duplicate {
                return Ok(Ingested::Duplicate {
                    message: MessageId(id),
                });
            }
            let contact = contact_for(
                conn,
                ws,
                inbox,
                &incoming.contact_external_id,
                &incoming.contact_name,
            )
            .await?;
            let mut stored = thread(conn, ws, inbox, contact, incoming.at).await?;
            let conversation = stored.conversation.id;
            let mut events = Vec::with_capacity(2);
            let message = insert_message(
                conn,
                NewMessage {
                    ws,
                    inbox,
                    conversation,
                    author: incoming.author,
                    agent: None,
                    channel_message_id: Some(&incoming.channel_message_id),
                    at: incoming.at,
                    text: &incoming.text,
                    attachments: &incoming.attachments,
                    delivery: Delivery::Received,
                },
            )
            .await?;
            queue_attachment_fetches(conn, ws, &message, incoming.at).await?;
            let fact = InboxFact::Message {
                conversation,
                author: incoming.author,
            };
            events.push(append_event(conn, ws, inbox, incoming.at, fact).await?);
            if incoming.author == Author::Customer && stored.conversation.status == Status::Done {
                // Reopened just after the message, so that the `open` falls in the message's segment:
                // it undoes Done for a start still waiting, never for an earlier one that settled
                // (and it is never placed before the status it undoes).
                let at = stored.status_at.map_or(incoming.at, |s| s.max(incoming.at));
                stored.conversation.status = Status::Open;
                stored.status_at = Some(at);
                let fact = InboxFact::Status {
                    conversation,
                    status: Status::Open,
                    by: None,
                };
                events.push(append_event(conn, ws, inbox, at, fact).await?);
            }
            take_into_urgency(
                conn,
                &mut stored.conversation,
                incoming.author,
                incoming.at,
                &rules,
            )
            .await?;
            touch(
                &mut stored.conversation,
                incoming.at,
                &incoming.text,
                &incoming.attachments,
            );
            save_conversation(conn, &stored).await?;
            let kinds = vec![
                ChangeKind::MessageCreated {
                    inbox,
                    conversation,
                    message: message.id,
                },
                ChangeKind::ConversationUpdated {
                    inbox,
                    conversation,
                },
            ];
            let changes = record_changes(conn, ws, incoming.at, kinds).await?;
            Ok(Ingested::Stored {
                message,
                conversation: stored.conversation,
                events,
                changes,
            })
        }

        pub(crate) async fn take_in(
            conn: &mut Conn,
            items: Vec<(WorkspaceId, Inbound)>,
            rules: Rules,
        ) -> StoreResult<Vec<Taken>> {
            // Inboxes are locked in one order by every delivery (no deadlock between two
            // deliveries naming the same inboxes); within an inbox the items keep theirs.
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by_key(|&i| (items[i].0, items[i].1.inbox()));
            let mut items: Vec<Option<(WorkspaceId, Inbound)>> = items.into_iter().map(Some).collect();
            let mut taken: Vec<Option<Taken>> = vec![None; items.len()];
            let mut locked = Vec::new();
            for i in order {
                let Some((ws, item)) = items[i].take() else { continue };
                taken[i] = Some(match item {
                    Inbound::Message(incoming) => {
                        Taken::Ingested(ingest_in(conn, ws, incoming, rules, &mut locked).await?)
                    }
                    Inbound::Echo { outbox, message } => confirm_echo(conn, ws, outbox, message, rules).await?,
                    Inbound::Edit { inbox, channel_message_id, text, at } => {
                        edit_message(conn, ws, inbox, channel_message_id, text, at).await?
                    }
                });
            }
            Ok(taken.into_iter().flatten().collect())
        }

        /// The echo of a reply Pronto sent: confirms its outbox entry if still pending, else
        /// takes the echo in as a message (a duplicate when the send already recorded its id).
        async fn confirm_echo(
            conn: &mut Conn,
            ws: WorkspaceId,
            outbox: OutboxId,
            message: Incoming,
            rules: Rules,
        ) -> StoreResult<Taken> {
            lock_inbox(conn, ws, message.inbox).await?;
            let row: Option<OutboxRow> = sqlx::query_as(
                "SELECT workspace_id, id, inbox_id, channel, conversation_id, message_id, contact_external_id, text, attempts, created_at \
                 FROM outbox WHERE workspace_id = $1 AND id = $2 AND inbox_id = $3",
            )
            .bind(ws.0)
            .bind(outbox.0)
            .bind(message.inbox.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            let Some(row) = row else {
                return Ok(Taken::Ingested(ingest(conn, ws, message, rules).await?));
            };
            let entry = OutboxEntry::try_from(row)?;
            let accepted = SendOutcome::Accepted {
                channel_message_id: message.channel_message_id,
                at: message.at,
            };
            let (message, events, changes) = finish_send(conn, entry, accepted, message.at, rules).await?;
            Ok(Taken::Confirmed { message, events, changes })
        }

        async fn edit_message(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            channel_message_id: String,
            text: String,
            at: Millis,
        ) -> StoreResult<Taken> {
            lock_inbox(conn, ws, inbox).await?;
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM messages WHERE workspace_id = $1 AND inbox_id = $2 AND channel_message_id = $3",
            )
            .bind(ws.0)
            .bind(inbox.0)
            .bind(&channel_message_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            let Some(id) = id else {
                return Ok(Taken::Unmatched);
            };
            sqlx::query("UPDATE messages SET text = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id)
                .bind(&text)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            let message = load_message(conn, ws, MessageId(id))
                .await?
                .ok_or(StoreError::NotFound("message"))?;
            let kinds = vec![ChangeKind::MessageUpdated {
                inbox,
                conversation: message.conversation,
                message: message.id,
            }];
            let changes = record_changes(conn, ws, at, kinds).await?;
            Ok(Taken::Edited { message, changes })
        }

        /// Queues the message's attachments that are still on the channel's servers.
        async fn queue_attachment_fetches(
            conn: &mut Conn,
            ws: WorkspaceId,
            message: &Message,
            now: Millis,
        ) -> StoreResult<()> {
            for (position, attachment) in message.attachments.iter().enumerate() {
                if !(attachment.url.starts_with("https://") || attachment.url.starts_with("http://")) {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO attachment_fetches (workspace_id, message_id, position, url, attempts, due_at) VALUES ($1, $2, $3, $4, 0, $5)",
                )
                .bind(ws.0)
                .bind(message.id.0)
                .bind(position as i32)
                .bind(&attachment.url)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            }
            Ok(())
        }

        pub(crate) async fn claim_attachment_fetches(
            conn: &mut Conn,
            limit: u32,
            now: Millis,
        ) -> StoreResult<Vec<AttachmentFetch>> {
            let rows: Vec<(i64, i64, i32, String, i32)> = sqlx::query_as(CLAIM_ATTACHMENT_FETCHES)
                .bind(i64::from(limit))
                .bind(now)
                .bind(OUTBOX_LEASE)
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
            let mut fetches: Vec<AttachmentFetch> = rows
                .into_iter()
                .map(|(ws, message, position, url, attempts)| AttachmentFetch {
                    workspace: WorkspaceId(ws),
                    message: MessageId(message),
                    position: position.max(0) as u32,
                    url,
                    attempts: attempts.max(0) as u32,
                })
                .collect();
            fetches.sort_by_key(|f| (f.workspace, f.message, f.position));
            Ok(fetches)
        }

        pub(crate) async fn finish_attachment_fetch(
            conn: &mut Conn,
            fetch: AttachmentFetch,
            outcome: FetchOutcome,
            now: Millis,
        ) -> StoreResult<Vec<Change>> {
            let ws = fetch.workspace;
            let pending: Option<i32> = sqlx::query_scalar(
                "SELECT attempts FROM attachment_fetches WHERE workspace_id = $1 AND message_id = $2 AND position = $3",
            )
            .bind(ws.0)
            .bind(fetch.message.0)
            .bind(fetch.position as i32)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            if pending.is_none() {
                // Finished by another fetcher, or the message is gone.
                return Ok(Vec::new());
            }
            match outcome {
                FetchOutcome::Retry { at } => {
                    sqlx::query("UPDATE attachment_fetches SET due_at = $4 WHERE workspace_id = $1 AND message_id = $2 AND position = $3")
                        .bind(ws.0)
                        .bind(fetch.message.0)
                        .bind(fetch.position as i32)
                        .bind(at)
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    Ok(Vec::new())
                }
                FetchOutcome::GiveUp { reason } => {
                    tracing::info!(message = %fetch.message, %reason, "attachment not kept");
                    delete_fetch(conn, &fetch).await?;
                    Ok(Vec::new())
                }
                FetchOutcome::Kept { content_type, bytes } => {
                    let Some(mut message) = load_message(conn, ws, fetch.message).await? else {
                        delete_fetch(conn, &fetch).await?;
                        return Ok(Vec::new());
                    };
                    let id = next_id(conn, "files").await?;
                    sqlx::query(
                        "INSERT INTO files (workspace_id, id, message_id, content_type, size, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(ws.0)
                    .bind(id)
                    .bind(message.id.0)
                    .bind(&content_type)
                    .bind(bytes.len() as i64)
                    .bind(&bytes)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
                    if let Some(attachment) = message.attachments.get_mut(fetch.position as usize) {
                        attachment.url = pronto_core::store::file_url(FileId(id));
                    }
                    sqlx::query("UPDATE messages SET attachments = $3 WHERE workspace_id = $1 AND id = $2")
                        .bind(ws.0)
                        .bind(message.id.0)
                        .bind(Json(&message.attachments))
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    delete_fetch(conn, &fetch).await?;
                    let inbox: i64 = sqlx::query_scalar("SELECT inbox_id FROM messages WHERE workspace_id = $1 AND id = $2")
                        .bind(ws.0)
                        .bind(message.id.0)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db)?;
                    let kinds = vec![ChangeKind::MessageUpdated {
                        inbox: InboxId(inbox),
                        conversation: message.conversation,
                        message: message.id,
                    }];
                    record_changes(conn, ws, now, kinds).await
                }
            }
        }

        async fn delete_fetch(conn: &mut Conn, fetch: &AttachmentFetch) -> StoreResult<()> {
            sqlx::query("DELETE FROM attachment_fetches WHERE workspace_id = $1 AND message_id = $2 AND position = $3")
                .bind(fetch.workspace.0)
                .bind(fetch.message.0)
                .bind(fetch.position as i32)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn journal_delivery(
            conn: &mut Conn,
            source: String,
            body: Vec<u8>,
            now: Millis,
        ) -> StoreResult<i64> {
            sqlx::query_scalar(
                "INSERT INTO webhook_journal (source, received_at, body, attempts, due_at) VALUES ($1, $2, $3, 0, $2) RETURNING id",
            )
            .bind(source)
            .bind(now)
            .bind(body)
            .fetch_one(conn)
            .await
            .map_err(db)
        }

        pub(crate) async fn claim_deliveries(
            conn: &mut Conn,
            limit: u32,
            now: Millis,
        ) -> StoreResult<Vec<JournaledDelivery>> {
            let rows: Vec<(i64, String, i64, Vec<u8>, i32)> = sqlx::query_as(CLAIM_DELIVERIES)
                .bind(i64::from(limit))
                .bind(now)
                .bind(JOURNAL_LEASE)
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
            let mut deliveries: Vec<JournaledDelivery> = rows
                .into_iter()
                .map(|(id, source, received_at, body, attempts)| JournaledDelivery {
                    id,
                    source,
                    received_at,
                    body,
                    attempts: attempts.max(0) as u32,
                })
                .collect();
            deliveries.sort_by_key(|d| d.id);
            Ok(deliveries)
        }

        pub(crate) async fn finish_deliveries(conn: &mut Conn, ids: Vec<i64>) -> StoreResult<()> {
            for chunk in ids.chunks(IDS_PER_STATEMENT) {
                let mut query = QueryBuilder::<Db>::new("DELETE FROM webhook_journal WHERE id");
                push_id_list(&mut query, chunk);
                query.build().execute(&mut *conn).await.map_err(db)?;
            }
            Ok(())
        }

        pub(crate) async fn defer_delivery(
            conn: &mut Conn,
            id: i64,
            retry_at: Option<Millis>,
            error: String,
        ) -> StoreResult<()> {
            sqlx::query("UPDATE webhook_journal SET due_at = $2, error = $3 WHERE id = $1")
                .bind(id)
                .bind(retry_at.unwrap_or(i64::MAX))
                .bind(error)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn journal_depth(conn: &mut Conn) -> StoreResult<u64> {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_journal WHERE due_at < $1")
                .bind(i64::MAX)
                .fetch_one(conn)
                .await
                .map_err(db)?;
            Ok(count.unsigned_abs())
        }

        pub(crate) async fn file(conn: &mut Conn, ws: WorkspaceId, id: FileId) -> StoreResult<StoredFile> {
            let row: Option<(i64, String, Vec<u8>)> = sqlx::query_as(
                "SELECT message_id, content_type, bytes FROM files WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            let (message, content_type, bytes) = row.ok_or(StoreError::NotFound("file"))?;
            Ok(StoredFile {
                id,
                message: MessageId(message),
                content_type,
                bytes,
            })
        }

        pub(crate) async fn conversations(
            conn: &mut Conn,
            ws: WorkspaceId,
            query: &ConversationQuery,
        ) -> StoreResult<ConversationPage> {
            let cursor = query
                .cursor
                .as_deref()
                .map(|c| Cursor::parse(c, query.order))
                .transpose()?;
            let limit = query.limit.clamp(1, 500);
            let mut sql = QueryBuilder::<Db>::new(SUMMARY);
            sql.push(" WHERE c.workspace_id = ").push_bind(ws.0);
            if let Some(inbox) = query.inbox {
                sql.push(" AND c.inbox_id = ").push_bind(inbox.0);
            }
            if let Some(status) = query.status {
                sql.push(" AND c.status = ").push_bind(status.as_str());
            }
            match query.assignee {
                None => {}
                Some(None) => {
                    sql.push(" AND c.assignee_id IS NULL");
                }
                Some(Some(user)) => {
                    sql.push(" AND c.assignee_id = ").push_bind(user.0);
                }
            }
            if query.waiting {
                sql.push(" AND c.rank_band < 2");
            }
            match cursor {
                Some(Cursor::Urgency { band, at, id }) => {
                    sql.push(" AND (c.rank_band, c.rank_at, c.id) > (")
                        .push_bind(band);
                    sql.push(", ")
                        .push_bind(at)
                        .push(", ")
                        .push_bind(id)
                        .push(")");
                }
                Some(Cursor::Activity { at, id }) => {
                    sql.push(" AND (c.last_activity_at, c.id) < (")
                        .push_bind(at);
                    sql.push(", ").push_bind(id).push(")");
                }
                None => {}
            }
            sql.push(match query.order {
                ConversationOrder::Urgency => " ORDER BY c.rank_band, c.rank_at, c.id",
                ConversationOrder::Activity => " ORDER BY c.last_activity_at DESC, c.id DESC",
            });
            sql.push(" LIMIT ").push_bind(i64::from(limit) + 1);
            let rows: Vec<SummaryRow> = sql.build_query_as().fetch_all(conn).await.map_err(db)?;
            page(rows, query.order, limit)
        }

        /// A page of at most `limit` rows out of `limit + 1` fetched, with the cursor after it.
        fn page(
            rows: Vec<SummaryRow>,
            order: ConversationOrder,
            limit: u32,
        ) -> StoreResult<ConversationPage> {
            let more = rows.len() > limit as usize;
            let mut items = Vec::with_capacity(rows.len());
            let mut last = None;
            for row in rows.into_iter().take(limit as usize) {
                let (summary, rank) = row.into_summary()?;
                last = Some(Cursor::after(
                    order,
                    rank,
                    summary.conversation.last_activity_at,
                    summary.conversation.id.0,
                ));
                items.push(summary);
            }
            let next = if more { last.map(Cursor::encode) } else { None };
            Ok(ConversationPage { items, next })
        }

        pub(crate) async fn conversation(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ConversationId,
        ) -> StoreResult<ConversationSummary> {
            let row: Option<SummaryRow> = sqlx::query_as(const_format(
                SUMMARY,
                " WHERE c.workspace_id = $1 AND c.id = $2",
            ))
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            Ok(row
                .ok_or(StoreError::NotFound("conversation"))?
                .into_summary()?
                .0)
        }

        pub(crate) async fn messages(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ConversationId,
        ) -> StoreResult<Vec<Message>> {
            check_conversation(conn, ws, id).await?;
            let rows: Vec<MessageRow> = sqlx::query_as(const_format(
                MESSAGE,
                " WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY at, id",
            ))
            .bind(ws.0)
            .bind(id.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
            rows.into_iter()
                .map(|r| r.into_message().map(|(_, m)| m))
                .collect()
        }

        pub(crate) async fn set_status(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ConversationId,
            status: Status,
            by: Option<UserId>,
            now: Millis,
        ) -> StoreResult<(Conversation, Vec<InboxEvent>, Vec<Change>)> {
            lock_conversation_inbox(conn, ws, id).await?;
            let mut stored = load_conversation(conn, ws, id).await?;
            if let Some(user) = by {
                require_member(conn, ws, user).await?;
            }
            if stored.conversation.status == status {
                return Ok((stored.conversation, Vec::new(), Vec::new()));
            }
            let inbox = stored.conversation.inbox;
            let at = stored.status_at.map_or(now, |s| s.max(now));
            let event = append_event(
                conn,
                ws,
                inbox,
                at,
                InboxFact::Status {
                    conversation: id,
                    status,
                    by,
                },
            )
            .await?;
            stored.conversation.status = status;
            stored.status_at = Some(at);
            save_conversation(conn, &stored).await?;
            let changes = record_changes(
                conn,
                ws,
                now,
                vec![ChangeKind::ConversationUpdated {
                    inbox,
                    conversation: id,
                }],
            )
            .await?;
            Ok((stored.conversation, vec![event], changes))
        }

        pub(crate) async fn assign(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ConversationId,
            assignee: Option<UserId>,
            now: Millis,
        ) -> StoreResult<(Conversation, Vec<Change>)> {
            // The inbox first, as everything that takes the conversation and then the change
            // feed's lock does: an ingest holds its inbox while it goes from conversation to
            // conversation, so taking the conversation before the inbox would deadlock with it.
            lock_conversation_inbox(conn, ws, id).await?;
            let mut stored = load_conversation(conn, ws, id).await?;
            if let Some(user) = assignee {
                require_member(conn, ws, user).await?;
            }
            if stored.conversation.assignee == assignee {
                return Ok((stored.conversation, Vec::new()));
            }
            stored.conversation.assignee = assignee;
            save_conversation(conn, &stored).await?;
            let inbox = stored.conversation.inbox;
            let changes = record_changes(
                conn,
                ws,
                now,
                vec![ChangeKind::ConversationUpdated {
                    inbox,
                    conversation: id,
                }],
            )
            .await?;
            Ok((stored.conversation, changes))
        }

        pub(crate) async fn reply(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: ConversationId,
            agent: UserId,
            text: String,
            now: Millis,
        ) -> StoreResult<(Message, OutboxEntry, Vec<Change>)> {
            if text.trim().is_empty() {
                return Err(StoreError::Invalid("a reply needs a text".into()));
            }
            // The inbox before the conversation (see `assign`).
            lock_conversation_inbox(conn, ws, id).await?;
            let mut stored = load_conversation(conn, ws, id).await?;
            require_member(conn, ws, agent).await?;
            let inbox = stored.conversation.inbox;
            let channel = self::inbox(conn, ws, inbox).await?.channel;
            let contact = contact(conn, ws, stored.conversation.contact).await?;
            let message = insert_message(
                conn,
                NewMessage {
                    ws,
                    inbox,
                    conversation: id,
                    author: Author::Agent,
                    agent: Some(agent),
                    channel_message_id: None,
                    at: now,
                    text: &text,
                    attachments: &[],
                    delivery: Delivery::Queued,
                },
            )
            .await?;
            let outbox_id = next_id(conn, "outbox").await?;
            sqlx::query(
                "INSERT INTO outbox (workspace_id, id, inbox_id, channel, conversation_id, message_id, contact_external_id, text, state, attempts, due_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $9)",
            )
            .bind(ws.0)
            .bind(outbox_id)
            .bind(inbox.0)
            .bind(channel.as_str())
            .bind(id.0)
            .bind(message.id.0)
            .bind(&contact.external_id)
            .bind(&text)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            touch(&mut stored.conversation, now, &text, &[]);
            save_conversation(conn, &stored).await?;
            let kinds = vec![
                ChangeKind::MessageCreated {
                    inbox,
                    conversation: id,
                    message: message.id,
                },
                ChangeKind::ConversationUpdated {
                    inbox,
                    conversation: id,
                },
            ];
            let changes = record_changes(conn, ws, now, kinds).await?;
            let entry = OutboxEntry {
                id: OutboxId(outbox_id),
                workspace: ws,
                inbox,
                channel,
                conversation: id,
                message: message.id,
                contact_external_id: contact.external_id,
                text,
                attempts: 0,
                created_at: now,
            };
            Ok((message, entry, changes))
        }

        pub(crate) async fn claim_outbox(
            conn: &mut Conn,
            channel: ChannelKind,
            limit: u32,
            now: Millis,
        ) -> StoreResult<Vec<OutboxEntry>> {
            let rows: Vec<OutboxRow> = sqlx::query_as(CLAIM_OUTBOX)
            .bind(channel.as_str())
            .bind(i64::from(limit))
            .bind(now)
            .bind(OUTBOX_LEASE)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            let mut entries = rows
                .into_iter()
                .map(OutboxEntry::try_from)
                .collect::<StoreResult<Vec<_>>>()?;
            entries.sort_by_key(|e| (e.created_at, e.workspace, e.id));
            for entry in &entries {
                set_delivery(conn, entry.workspace, entry.message, &Delivery::Sending).await?;
            }
            Ok(entries)
        }

        pub(crate) async fn finish_send(
            conn: &mut Conn,
            entry: OutboxEntry,
            outcome: SendOutcome,
            now: Millis,
            rules: Rules,
        ) -> StoreResult<(Message, Vec<InboxEvent>, Vec<Change>)> {
            let ws = entry.workspace;
            let pending: Option<i64> = sqlx::query_scalar(
                "SELECT inbox_id FROM outbox WHERE workspace_id = $1 AND id = $2 AND message_id = $3",
            )
            .bind(ws.0)
            .bind(entry.id.0)
            .bind(entry.message.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            let pending = relock_outbox_entry(conn, ws, &entry, pending).await?;
            let mut message = load_message(conn, ws, entry.message)
                .await?
                .ok_or(StoreError::NotFound("message"))?;
            let Some(inbox) = pending.map(InboxId) else {
                // Finished already (by another sender whose lease had run out): nothing more to do.
                return match message.delivery {
                    Delivery::Sent | Delivery::Failed(_) => Ok((message, Vec::new(), Vec::new())),
                    _ => Err(StoreError::NotFound("outbox entry")),
                };
            };
            let conversation = message.conversation;
            let mut events = Vec::new();
            let mut kinds = vec![ChangeKind::MessageUpdated {
                inbox,
                conversation,
                message: message.id,
            }];
            match outcome {
                SendOutcome::Accepted {
                    channel_message_id,
                    at,
                } => {
                    // The channel's echo of this very reply may have been ingested first: it already
                    // counts, as an agent message; it is folded into this one.
                    let echo: Option<(i64, i64)> = sqlx::query_as(
                        "SELECT id, at FROM messages WHERE workspace_id = $1 AND inbox_id = $2 AND channel_message_id = $3 AND id <> $4",
                    )
                    .bind(ws.0)
                    .bind(inbox.0)
                    .bind(&channel_message_id)
                    .bind(message.id.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
                    let at = match echo {
                        Some((echo_id, echo_at)) => {
                            sqlx::query("DELETE FROM messages WHERE workspace_id = $1 AND id = $2")
                                .bind(ws.0)
                                .bind(echo_id)
                                .execute(&mut *conn)
                                .await
                                .map_err(db)?;
                            echo_at
                        }
                        None => at,
                    };
                    sqlx::query(
                        "UPDATE messages SET delivery = 'sent', delivery_reason = NULL, at = $3, channel_message_id = $4 \
                         WHERE workspace_id = $1 AND id = $2",
                    )
                    .bind(ws.0)
                    .bind(message.id.0)
                    .bind(at)
                    .bind(&channel_message_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
                    message.at = at;
                    message.channel_message_id = Some(channel_message_id);
                    message.delivery = Delivery::Sent;
                    let mut stored = load_conversation(conn, ws, conversation).await?;
                    if echo.is_none() {
                        let fact = InboxFact::Message {
                            conversation,
                            author: Author::Agent,
                        };
                        events.push(append_event(conn, ws, inbox, at, fact).await?);
                        take_into_urgency(conn, &mut stored.conversation, Author::Agent, at, &rules)
                            .await?;
                    }
                    stored.conversation.last_activity_at = stored.conversation.last_activity_at.max(at);
                    save_conversation(conn, &stored).await?;
                    delete_outbox(conn, ws, entry.id).await?;
                    kinds.push(ChangeKind::ConversationUpdated {
                        inbox,
                        conversation,
                    });
                }
                SendOutcome::Retry { reason, retry_at } => {
                    sqlx::query("UPDATE outbox SET state = 'queued', due_at = $3, last_error = $4 WHERE workspace_id = $1 AND id = $2")
                        .bind(ws.0)
                        .bind(entry.id.0)
                        .bind(retry_at)
                        .bind(reason)
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    message.delivery = Delivery::Queued;
                    set_delivery(conn, ws, message.id, &message.delivery).await?;
                }
                SendOutcome::Failed { reason } => {
                    message.delivery = Delivery::Failed(reason);
                    set_delivery(conn, ws, message.id, &message.delivery).await?;
                    delete_outbox(conn, ws, entry.id).await?;
                }
            }
            let changes = record_changes(conn, ws, now, kinds).await?;
            Ok((message, events, changes))
        }

        async fn delete_outbox(conn: &mut Conn, ws: WorkspaceId, id: OutboxId) -> StoreResult<()> {
            sqlx::query("DELETE FROM outbox WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .execute(conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn outbox_depth(conn: &mut Conn) -> StoreResult<u64> {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                .fetch_one(conn)
                .await
                .map_err(db)?;
            Ok(count.unsigned_abs())
        }

        // Availability, the log, snapshots, the change feed.

        pub(crate) async fn set_availability(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            availability: Availability,
            by: Option<UserId>,
            now: Millis,
        ) -> StoreResult<(InboxEvent, Vec<Change>)> {
            self::inbox(conn, ws, inbox).await?;
            if let Some(user) = by {
                require_member(conn, ws, user).await?;
            }
            if let Availability::Away { until: Some(until) } = availability
                && until <= now
            {
                return Err(StoreError::Invalid(
                    "an Away's end must be after its start".into(),
                ));
            }
            let event = append_event(
                conn,
                ws,
                inbox,
                now,
                InboxFact::Availability { availability, by },
            )
            .await?;
            let changes = record_changes(
                conn,
                ws,
                now,
                vec![ChangeKind::AvailabilityChanged { inbox }],
            )
            .await?;
            Ok((event, changes))
        }

        pub(crate) async fn availability(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
        ) -> StoreResult<Option<InboxEvent>> {
            self::inbox(conn, ws, inbox).await?;
            let row: Option<EventRow> = sqlx::query_as(const_format(
                EVENT,
                " WHERE workspace_id = $1 AND inbox_id = $2 AND kind = 'availability' ORDER BY at DESC, seq DESC LIMIT 1",
            ))
            .bind(ws.0)
            .bind(inbox.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
            row.map(InboxEvent::try_from).transpose()
        }

        pub(crate) async fn inbox_events(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            after_seq: i64,
            limit: u32,
        ) -> StoreResult<Vec<InboxEvent>> {
            self::inbox(conn, ws, inbox).await?;
            let rows: Vec<EventRow> = sqlx::query_as(const_format(
                EVENT,
                " WHERE workspace_id = $1 AND inbox_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
            ))
            .bind(ws.0)
            .bind(inbox.0)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db)?;
            let mut events = rows
                .into_iter()
                .map(InboxEvent::try_from)
                .collect::<StoreResult<Vec<_>>>()?;
            events.sort_by_key(|e| (e.at, e.seq));
            Ok(events)
        }

        pub(crate) async fn conversation_events(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            conversations: &[ConversationId],
            through_seq: i64,
        ) -> StoreResult<Vec<InboxEvent>> {
            self::inbox(conn, ws, inbox).await?;
            // Each id once: an id in two pieces of the list would bring its events twice.
            let mut ids: Vec<i64> = conversations.iter().map(|c| c.0).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut events = Vec::new();
            for piece in ids.chunks(IDS_PER_STATEMENT) {
                let mut sql = QueryBuilder::<Db>::new(EVENT);
                sql.push(BY_CONVERSATION)
                    .push(" WHERE workspace_id = ")
                    .push_bind(ws.0)
                    .push(" AND inbox_id = ")
                    .push_bind(inbox.0)
                    .push(" AND conversation_id");
                push_id_list(&mut sql, piece);
                sql.push(" AND seq <= ").push_bind(through_seq);
                let rows: Vec<EventRow> =
                    sql.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
                for row in rows {
                    events.push(InboxEvent::try_from(row)?);
                }
            }
            events.sort_by_key(|e| (e.at, e.seq));
            Ok(events)
        }

        pub(crate) async fn availability_before(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            before: Millis,
            through_seq: i64,
        ) -> StoreResult<Vec<InboxEvent>> {
            self::inbox(conn, ws, inbox).await?;
            let rows: Vec<EventRow> = sqlx::query_as(const_format(
                EVENT,
                " WHERE workspace_id = $1 AND inbox_id = $2 AND kind = 'availability' AND at < $3 AND seq <= $4 \
                 ORDER BY at, seq",
            ))
            .bind(ws.0)
            .bind(inbox.0)
            .bind(before)
            .bind(through_seq)
            .fetch_all(conn)
            .await
            .map_err(db)?;
            rows.into_iter().map(InboxEvent::try_from).collect()
        }

        pub(crate) async fn save_snapshot(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
            seq: i64,
            bytes: Vec<u8>,
        ) -> StoreResult<()> {
            self::inbox(conn, ws, inbox).await?;
            sqlx::query(
                "INSERT INTO snapshots (workspace_id, inbox_id, seq, bytes) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, inbox_id) DO UPDATE SET seq = excluded.seq, bytes = excluded.bytes \
                 WHERE excluded.seq >= snapshots.seq",
            )
            .bind(ws.0)
            .bind(inbox.0)
            .bind(seq)
            .bind(bytes)
            .execute(conn)
            .await
            .map_err(db)?;
            Ok(())
        }

        pub(crate) async fn snapshot(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: InboxId,
        ) -> StoreResult<Option<(i64, Vec<u8>)>> {
            self::inbox(conn, ws, inbox).await?;
            sqlx::query_as("SELECT seq, bytes FROM snapshots WHERE workspace_id = $1 AND inbox_id = $2")
                .bind(ws.0)
                .bind(inbox.0)
                .fetch_optional(conn)
                .await
                .map_err(db)
        }

        pub(crate) async fn changes_since(
            conn: &mut Conn,
            ws: WorkspaceId,
            after: i64,
            limit: u32,
        ) -> StoreResult<Vec<Change>> {
            let rows: Vec<ChangeRow> = sqlx::query_as("SELECT workspace_id, id, at, kind FROM changes WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(ws.0)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
                .map_err(db)?;
            Ok(rows.into_iter().map(Change::from).collect())
        }

        // Reply templates.

        const TEMPLATE: &str = "SELECT workspace_id, id, title, text, language, created_by, created_at, updated_at FROM templates";

        /// A write's error, with a duplicate title (the unique index on (workspace_id, title)) named.
        fn title_taken(error: sqlx::Error, title: &str) -> StoreError {
            match db(error) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a template titled {title:?} exists already"))
                }
                other => other,
            }
        }

        pub(crate) async fn create_template(
            conn: &mut Conn,
            ws: WorkspaceId,
            new: NewTemplate,
            created_by: Option<UserId>,
            now: Millis,
        ) -> StoreResult<Template> {
            workspace_exists(conn, ws).await?;
            if let Some(user) = created_by {
                require_member(conn, ws, user).await?;
            }
            let id = next_id(conn, "templates").await?;
            sqlx::query(
                "INSERT INTO templates (workspace_id, id, title, text, language, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(ws.0)
            .bind(id)
            .bind(new.title())
            .bind(new.text())
            .bind(new.language())
            .bind(created_by.map(|user| user.0))
            .bind(now)
            .bind(now)
            .execute(conn)
            .await
            .map_err(|e| title_taken(e, new.title()))?;
            Ok(Template {
                id: TemplateId(id),
                workspace: ws,
                title: new.title().to_owned(),
                text: new.text().to_owned(),
                language: new.language().map(str::to_owned),
                created_by,
                created_at: now,
                updated_at: now,
            })
        }

        /// The workspace's templates in [`pronto_core::template::template_order`].
        pub(crate) async fn templates(conn: &mut Conn, ws: WorkspaceId) -> StoreResult<Vec<Template>> {
            let rows: Vec<TemplateRow> = sqlx::query_as(const_format(
                TEMPLATE,
                " WHERE workspace_id = $1 ORDER BY title, id",
            ))
            .bind(ws.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
            let mut templates: Vec<Template> = rows.into_iter().map(Template::from).collect();
            sort_templates(&mut templates);
            Ok(templates)
        }

        pub(crate) async fn update_template(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: TemplateId,
            update: TemplateUpdate,
            now: Millis,
        ) -> StoreResult<Template> {
            let row: Option<TemplateRow> = sqlx::query_as(const_format(
                TEMPLATE,
                concat!(" WHERE workspace_id = $1 AND id = $2", $lock),
            ))
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            let mut current = Template::from(row.ok_or(StoreError::NotFound("template"))?);
            if !update.apply(&mut current, now) {
                return Ok(current);
            }
            sqlx::query(
                "UPDATE templates SET title = $3, text = $4, language = $5, updated_at = $6 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws.0)
            .bind(id.0)
            .bind(&current.title)
            .bind(&current.text)
            .bind(&current.language)
            .bind(current.updated_at)
            .execute(conn)
            .await
            .map_err(|e| title_taken(e, &current.title))?;
            Ok(current)
        }

        pub(crate) async fn delete_template(
            conn: &mut Conn,
            ws: WorkspaceId,
            id: TemplateId,
        ) -> StoreResult<()> {
            let done = sqlx::query("DELETE FROM templates WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .execute(conn)
                .await
                .map_err(db)?;
            (done.rows_affected() == 1)
                .then_some(())
                .ok_or(StoreError::NotFound("template"))
        }

        pub(crate) async fn conversation_counts(
            conn: &mut Conn,
            ws: WorkspaceId,
            inbox: Option<InboxId>,
            me: UserId,
        ) -> StoreResult<pronto_core::store::ConversationCounts> {
            // The few counter rows of the inbox (one per assignee) and the deltas not folded
            // yet, in one statement so that both are read at the same instant.
            let mut sql = QueryBuilder::<Db>::new(
                "SELECT CAST(COALESCE(SUM(unanswered), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN assignee_id = ",
            );
            sql.push_bind(me.0).push(
                " THEN open ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN assignee_id = 0 THEN open ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(open), 0) AS BIGINT), CAST(COALESCE(SUM(done), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(spam), 0) AS BIGINT) FROM (",
            );
            for (i, table) in ["view_counts", "view_count_deltas"].into_iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push("SELECT assignee_id, unanswered, open, done, spam FROM ")
                    .push(table)
                    .push(" WHERE workspace_id = ")
                    .push_bind(ws.0);
                if let Some(inbox) = inbox {
                    sql.push(" AND inbox_id = ").push_bind(inbox.0);
                }
            }
            sql.push(") v");
            let (unanswered, mine, unassigned, open, done, spam): (i64, i64, i64, i64, i64, i64) =
                sql.build_query_as().fetch_one(conn).await.map_err(db)?;
            let n = |v: i64| v.max(0) as u64;
            Ok(pronto_core::store::ConversationCounts {
                unanswered: n(unanswered),
                mine: n(mine),
                unassigned: n(unassigned),
                open: n(open),
                done: n(done),
                spam: n(spam),
            })
        }

        pub(crate) async fn fresh_ids(
            conn: &mut Conn,
            kind: pronto_core::history::IdKind,
            count: usize,
        ) -> StoreResult<Vec<i64>> {
            use pronto_core::history::IdKind;
            let table = match kind {
                IdKind::Contact => "contacts",
                IdKind::Conversation => "conversations",
                IdKind::Message => "messages",
            };
            if count == 0 {
                return Ok(Vec::new());
            }
            next_ids(conn, table, count).await
        }

        /// Splits `rows` for multi-row INSERTs of `columns` columns: pieces of a power of two
        /// rows, under the bind limits of both databases (SQLite 32,766), so that a load
        /// prepares a dozen statements per table and then reuses them, instead of parsing a
        /// statement of thousands of placeholders for every odd remainder.
        fn pieces<T>(rows: &[T], columns: usize) -> impl Iterator<Item = &[T]> {
            let largest = 1usize << (30_000 / columns).ilog2();
            let mut rest = rows;
            std::iter::from_fn(move || {
                if rest.is_empty() {
                    return None;
                }
                let size = largest.min(1 << rest.len().ilog2());
                let (piece, after) = rest.split_at(size);
                rest = after;
                Some(piece)
            })
        }

        pub(crate) async fn load_history(
            conn: &mut Conn,
            ws: WorkspaceId,
            chunk: &pronto_core::history::HistoryChunk,
        ) -> StoreResult<()> {
            for rows in pieces(&chunk.contacts, 5) {
                let mut sql = QueryBuilder::<Db>::new(
                    "INSERT INTO contacts (workspace_id, id, inbox_id, external_id, name) ",
                );
                sql.push_values(rows, |mut b, c| {
                    b.push_bind(ws.0)
                        .push_bind(c.id.0)
                        .push_bind(c.inbox.0)
                        .push_bind(&c.external_id)
                        .push_bind(&c.name);
                });
                sql.build().execute(&mut *conn).await.map_err(db)?;
            }
            for rows in pieces(&chunk.conversations, 15) {
                let mut sql = QueryBuilder::<Db>::new(
                    "INSERT INTO conversations (workspace_id, id, inbox_id, contact_id, status, status_at, assignee_id, \
                     last_message_at, waiting_since, unanswered_since, reply_window_closes_at, last_activity_at, preview, \
                     rank_band, rank_at) ",
                );
                sql.push_values(rows, |mut b, h| {
                    let c = &h.conversation;
                    let (band, rank_at) =
                        conversation_rank(c.status, &c.urgency, c.last_activity_at);
                    b.push_bind(ws.0)
                        .push_bind(c.id.0)
                        .push_bind(c.inbox.0)
                        .push_bind(c.contact.0)
                        .push_bind(c.status.as_str())
                        .push_bind(h.status_at)
                        .push_bind(c.assignee.map(|u| u.0))
                        .push_bind(c.urgency.last_message_at)
                        .push_bind(c.urgency.waiting_since)
                        .push_bind(c.urgency.unanswered_since)
                        .push_bind(c.urgency.reply_window_closes_at)
                        .push_bind(c.last_activity_at)
                        .push_bind(&c.preview)
                        .push_bind(band_number(band))
                        .push_bind(rank_at);
                });
                sql.build().execute(&mut *conn).await.map_err(db)?;
            }
            for rows in pieces(&chunk.messages, 12) {
                let mut sql = QueryBuilder::<Db>::new(
                    "INSERT INTO messages (workspace_id, id, inbox_id, conversation_id, author, agent_id, \
                     channel_message_id, at, text, attachments, delivery, delivery_reason) ",
                );
                sql.push_values(rows, |mut b, (inbox, m)| {
                    let (delivery, reason) = delivery_columns(&m.delivery);
                    b.push_bind(ws.0)
                        .push_bind(m.id.0)
                        .push_bind(inbox.0)
                        .push_bind(m.conversation.0)
                        .push_bind(m.author.as_str())
                        .push_bind(m.agent.map(|u| u.0))
                        .push_bind(m.channel_message_id.as_deref())
                        .push_bind(m.at)
                        .push_bind(&m.text)
                        .push_bind(Json(&m.attachments))
                        .push_bind(delivery)
                        .push_bind(reason);
                });
                sql.build().execute(&mut *conn).await.map_err(db)?;
            }
            let mut last_seqs: Vec<(InboxId, i64)> = Vec::new();
            for rows in pieces(&chunk.events, 11) {
                let mut sql = QueryBuilder::<Db>::new(
                    "INSERT INTO inbox_events (workspace_id, inbox_id, seq, at, kind, conversation_id, author, status, \
                     availability, until, by_user) ",
                );
                sql.push_values(rows, |mut b, e| {
                    let c = EventColumns::of(&e.fact);
                    b.push_bind(ws.0)
                        .push_bind(e.inbox.0)
                        .push_bind(e.seq)
                        .push_bind(e.at)
                        .push_bind(c.kind)
                        .push_bind(c.conversation_id)
                        .push_bind(c.author)
                        .push_bind(c.status)
                        .push_bind(c.availability)
                        .push_bind(c.until)
                        .push_bind(c.by_user);
                });
                sql.build().execute(&mut *conn).await.map_err(db)?;
                for e in rows {
                    match last_seqs.iter_mut().find(|(inbox, _)| *inbox == e.inbox) {
                        Some((_, seq)) => *seq = (*seq).max(e.seq),
                        None => last_seqs.push((e.inbox, e.seq)),
                    }
                }
            }
            last_seqs.sort();
            for (inbox, seq) in last_seqs {
                let moved = sqlx::query(
                    "UPDATE inboxes SET last_seq = $3 WHERE workspace_id = $1 AND id = $2 AND last_seq < $3",
                )
                .bind(ws.0)
                .bind(inbox.0)
                .bind(seq)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
                if moved.rows_affected() == 0 {
                    self::inbox(conn, ws, inbox).await?;
                }
            }
            Ok(())
        }

        pub(crate) async fn finish_history(conn: &mut Conn) -> StoreResult<()> {
            for &statement in AFTER_HISTORY {
                sqlx::query(statement).execute(&mut *conn).await.map_err(db)?;
            }
            Ok(())
        }

        pub(crate) async fn fold_view_counts(conn: &mut Conn) -> StoreResult<u64> {
            // The first statement upserts the totals: its rows are the counters that changed.
            let mut changed = None;
            for &statement in FOLD_VIEW_COUNTS {
                let done = sqlx::query(statement).execute(&mut *conn).await.map_err(db)?;
                changed.get_or_insert(done.rows_affected());
            }
            Ok(changed.unwrap_or(0))
        }
    };
}
