//! The [`Store`](pronto_core::store::Store) implementation shared by the SQL stores: each
//! method runs its function of the adapter's `sql` module (expanded from
//! [`sql_ops!`](crate::sql_ops)) on a connection the adapter gives.

/// Implements `Store` for `$store`, in a module that has the adapter's `sql` module, its
/// imports of the domain's types (`pronto_core::*`, `pronto_core::store::*`, templates,
/// `pronto_badge`'s), and two macros of the form `$m!(store, |conn| body)`: `$write`, which runs
/// `body` as one atomic write and returns its result, and `$read`, which runs it on a
/// connection outside any write. `$store` has a `rules: Rules` field and a
/// `publish(&self, &[Change])` method, called with the changes of each committed write that
/// has some for the other nodes. `journal_write`/`journal_read` (by default `write`/`read`)
/// run the webhook journal's functions, which an adapter may keep apart from the rest (SQLite
/// keeps the journal in a file of its own, so that taking deliveries in never waits for
/// processing them).
#[macro_export]
macro_rules! impl_store {
    ($store:ty, write = $write:ident, read = $read:ident) => {
        $crate::impl_store!(
            $store,
            write = $write,
            read = $read,
            journal_write = $write,
            journal_read = $read
        );
    };
    ($store:ty, write = $write:ident, read = $read:ident, journal_write = $jwrite:ident, journal_read = $jread:ident) => {
        impl ::pronto_core::store::Store for $store {
            async fn create_workspace(&self, name: &str, now: Millis) -> StoreResult<Workspace> {
                let name = name.to_owned();
                $write!(self, |conn| sql::create_workspace(conn, name, now).await)
            }

            async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
                $read!(self, |conn| sql::workspace_by_name(conn, name).await)
            }

            async fn create_user(
                &self,
                email: &str,
                name: &str,
                password_hash: &str,
                now: Millis,
            ) -> StoreResult<User> {
                let (email, name, hash) =
                    (email.to_owned(), name.to_owned(), password_hash.to_owned());
                $write!(self, |conn| sql::create_user(conn, email, name, hash, now)
                    .await)
            }

            async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                $read!(self, |conn| sql::user_by_email(conn, email).await)
            }

            async fn set_password(&self, user: UserId, password_hash: &str) -> StoreResult<()> {
                let hash = password_hash.to_owned();
                $write!(self, |conn| sql::set_password(conn, user, hash).await)
            }

            async fn set_member(
                &self,
                workspace: WorkspaceId,
                user: UserId,
                role: Role,
            ) -> StoreResult<()> {
                $write!(self, |conn| sql::set_member(conn, workspace, user, role)
                    .await)
            }

            async fn member(
                &self,
                workspace: WorkspaceId,
                user: UserId,
            ) -> StoreResult<Option<Member>> {
                $read!(self, |conn| sql::member(conn, workspace, user).await)
            }

            async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<Member>> {
                $read!(self, |conn| sql::members(conn, workspace).await)
            }

            async fn memberships(&self, user: UserId) -> StoreResult<Vec<(Workspace, Role)>> {
                $read!(self, |conn| sql::memberships(conn, user).await)
            }

            async fn set_presence(
                &self,
                workspace: WorkspaceId,
                user: UserId,
                presence: Presence,
            ) -> StoreResult<()> {
                $write!(self, |conn| sql::set_presence(
                    conn, workspace, user, presence
                )
                .await)
            }

            async fn set_user_active(&self, user: UserId, active: bool) -> StoreResult<()> {
                $write!(self, |conn| sql::set_user_active(conn, user, active).await)
            }

            async fn user_count(&self) -> StoreResult<u64> {
                $read!(self, |conn| sql::user_count(conn).await)
            }

            async fn create_session(&self, session: &Session) -> StoreResult<()> {
                let session = session.clone();
                $write!(self, |conn| sql::create_session(conn, session).await)
            }

            async fn session(
                &self,
                token_hash: &[u8],
                now: Millis,
            ) -> StoreResult<Option<Session>> {
                $read!(self, |conn| sql::session(conn, token_hash, now).await)
            }

            async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
                let hash = token_hash.to_vec();
                $write!(self, |conn| sql::delete_session(conn, hash).await)
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
                $write!(self, |conn| sql::create_api_token(
                    conn, workspace, user, label, hash, now
                )
                .await)
            }

            async fn use_api_token(
                &self,
                token_hash: &[u8],
                now: Millis,
            ) -> StoreResult<Option<ApiToken>> {
                // A read, and a write only when the last use recorded is older than the resolution.
                let token = $read!(self, |conn| sql::api_token(conn, token_hash).await)?;
                match token {
                    Some(token) if sql::token_use_is_news(token.last_used_at, now) => {
                        let hash = token_hash.to_vec();
                        $write!(self, |conn| sql::mark_api_token_used(conn, hash, now).await)
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
                $write!(self, |conn| sql::create_inbox(conn, workspace, inbox, now)
                    .await)
            }

            async fn inboxes(&self, workspace: WorkspaceId) -> StoreResult<Vec<Inbox>> {
                $read!(self, |conn| sql::inboxes(conn, workspace).await)
            }

            async fn inbox(&self, workspace: WorkspaceId, inbox: InboxId) -> StoreResult<Inbox> {
                $read!(self, |conn| sql::inbox(conn, workspace, inbox).await)
            }

            async fn update_inbox(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
                update: &InboxUpdate,
            ) -> StoreResult<Inbox> {
                let update = update.clone();
                $write!(self, |conn| sql::update_inbox(
                    conn, workspace, inbox, update
                )
                .await)
            }

            async fn delete_inbox(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
            ) -> StoreResult<()> {
                $write!(self, |conn| sql::delete_inbox(conn, workspace, inbox).await)
            }

            async fn inbox_by_channel_key(
                &self,
                channel: ChannelKind,
                key: &str,
            ) -> StoreResult<Option<Inbox>> {
                $read!(self, |conn| sql::inbox_by_channel_key(conn, channel, key)
                    .await)
            }

            async fn all_inboxes(&self) -> StoreResult<Vec<Inbox>> {
                $read!(self, |conn| sql::all_inboxes(conn).await)
            }

            async fn create_template(
                &self,
                workspace: WorkspaceId,
                template: &NewTemplate,
                created_by: Option<UserId>,
                now: Millis,
            ) -> StoreResult<Template> {
                let template = template.clone();
                $write!(self, |conn| sql::create_template(
                    conn, workspace, template, created_by, now
                )
                .await)
            }

            async fn templates(&self, workspace: WorkspaceId) -> StoreResult<Vec<Template>> {
                $read!(self, |conn| sql::templates(conn, workspace).await)
            }

            async fn update_template(
                &self,
                workspace: WorkspaceId,
                template: TemplateId,
                update: &TemplateUpdate,
                now: Millis,
            ) -> StoreResult<Template> {
                let update = update.clone();
                $write!(self, |conn| sql::update_template(
                    conn, workspace, template, update, now
                )
                .await)
            }

            async fn delete_template(
                &self,
                workspace: WorkspaceId,
                template: TemplateId,
            ) -> StoreResult<()> {
                $write!(self, |conn| sql::delete_template(conn, workspace, template)
                    .await)
            }

            async fn ingest(
                &self,
                workspace: WorkspaceId,
                incoming: &Incoming,
            ) -> StoreResult<Ingested> {
                let (incoming, rules) = (incoming.clone(), self.rules);
                let ingested = $write!(self, |conn| sql::ingest(conn, workspace, incoming, rules)
                    .await)?;
                if let Ingested::Stored { changes, .. } = &ingested {
                    self.publish(changes);
                }
                Ok(ingested)
            }

            async fn take_in(&self, items: &[(WorkspaceId, Inbound)]) -> StoreResult<Vec<Taken>> {
                let (items, rules) = (items.to_vec(), self.rules);
                let taken = $write!(self, |conn| sql::take_in(conn, items, rules).await)?;
                for item in &taken {
                    let (_, changes) = item.events_and_changes();
                    if !changes.is_empty() {
                        self.publish(changes);
                    }
                }
                Ok(taken)
            }

            async fn conversations(
                &self,
                workspace: WorkspaceId,
                query: &ConversationQuery,
            ) -> StoreResult<ConversationPage> {
                $read!(self, |conn| sql::conversations(conn, workspace, query)
                    .await)
            }

            async fn conversation(
                &self,
                workspace: WorkspaceId,
                conversation: ConversationId,
            ) -> StoreResult<ConversationSummary> {
                $read!(self, |conn| sql::conversation(
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
                $read!(self, |conn| sql::messages(conn, workspace, conversation)
                    .await)
            }

            async fn contact(
                &self,
                workspace: WorkspaceId,
                contact: ContactId,
            ) -> StoreResult<Contact> {
                $read!(self, |conn| sql::contact(conn, workspace, contact).await)
            }

            async fn rename_contact(
                &self,
                workspace: WorkspaceId,
                contact: ContactId,
                name: &str,
                now: Millis,
            ) -> StoreResult<Vec<Change>> {
                let name = name.to_owned();
                let changes = $write!(self, |conn| sql::rename_contact(
                    conn, workspace, contact, name, now
                )
                .await)?;
                self.publish(&changes);
                Ok(changes)
            }

            async fn set_status(
                &self,
                workspace: WorkspaceId,
                conversation: ConversationId,
                status: Status,
                by: Option<UserId>,
                now: Millis,
            ) -> StoreResult<(Conversation, Vec<InboxEvent>, Vec<Change>)> {
                let done = $write!(self, |conn| sql::set_status(
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
                let done = $write!(self, |conn| sql::assign(
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
                let done = $write!(self, |conn| sql::reply(
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
                $write!(self, |conn| sql::claim_outbox(conn, channel, limit, now)
                    .await)
            }

            async fn finish_send(
                &self,
                entry: &OutboxEntry,
                outcome: &SendOutcome,
                now: Millis,
            ) -> StoreResult<(Message, Vec<InboxEvent>, Vec<Change>)> {
                let (entry, outcome, rules) = (entry.clone(), outcome.clone(), self.rules);
                let done = $write!(self, |conn| sql::finish_send(
                    conn, entry, outcome, now, rules
                )
                .await)?;
                self.publish(&done.2);
                Ok(done)
            }

            async fn claim_attachment_fetches(
                &self,
                limit: u32,
                now: Millis,
            ) -> StoreResult<Vec<AttachmentFetch>> {
                $write!(self, |conn| sql::claim_attachment_fetches(conn, limit, now)
                    .await)
            }

            async fn finish_attachment_fetch(
                &self,
                fetch: &AttachmentFetch,
                outcome: &FetchOutcome,
                now: Millis,
            ) -> StoreResult<Vec<Change>> {
                let (fetch, outcome) = (fetch.clone(), outcome.clone());
                let changes = $write!(self, |conn| sql::finish_attachment_fetch(
                    conn, fetch, outcome, now
                )
                .await)?;
                self.publish(&changes);
                Ok(changes)
            }

            async fn journal_delivery(
                &self,
                source: &str,
                body: &[u8],
                now: Millis,
            ) -> StoreResult<i64> {
                let (source, body) = (source.to_owned(), body.to_vec());
                $jwrite!(self, |conn| sql::journal_delivery(conn, source, body, now)
                    .await)
            }

            async fn claim_deliveries(
                &self,
                limit: u32,
                now: Millis,
            ) -> StoreResult<Vec<JournaledDelivery>> {
                $jwrite!(self, |conn| sql::claim_deliveries(conn, limit, now).await)
            }

            async fn finish_deliveries(&self, ids: &[i64]) -> StoreResult<()> {
                let ids = ids.to_vec();
                $jwrite!(self, |conn| sql::finish_deliveries(conn, ids).await)
            }

            async fn defer_delivery(
                &self,
                id: i64,
                retry_at: Option<Millis>,
                error: &str,
            ) -> StoreResult<()> {
                let error = error.to_owned();
                $jwrite!(self, |conn| sql::defer_delivery(conn, id, retry_at, error)
                    .await)
            }

            async fn journal_depth(&self) -> StoreResult<u64> {
                $jread!(self, |conn| sql::journal_depth(conn).await)
            }

            async fn file(&self, workspace: WorkspaceId, file: FileId) -> StoreResult<StoredFile> {
                $read!(self, |conn| sql::file(conn, workspace, file).await)
            }

            async fn outbox_depth(&self) -> StoreResult<u64> {
                $read!(self, |conn| sql::outbox_depth(conn).await)
            }

            async fn set_availability(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
                availability: Availability,
                by: Option<UserId>,
                now: Millis,
            ) -> StoreResult<(InboxEvent, Vec<Change>)> {
                let done = $write!(self, |conn| sql::set_availability(
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
                $read!(self, |conn| sql::availability(conn, workspace, inbox).await)
            }

            async fn inbox_events(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
                after_seq: i64,
                limit: u32,
            ) -> StoreResult<Vec<InboxEvent>> {
                $read!(self, |conn| sql::inbox_events(
                    conn, workspace, inbox, after_seq, limit
                )
                .await)
            }

            async fn conversation_events(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
                conversations: &[ConversationId],
                through_seq: i64,
            ) -> StoreResult<Vec<InboxEvent>> {
                if conversations.is_empty() {
                    return Ok(Vec::new());
                }
                $read!(self, |conn| sql::conversation_events(
                    conn,
                    workspace,
                    inbox,
                    conversations,
                    through_seq
                )
                .await)
            }

            async fn availability_before(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
                before: Millis,
                through_seq: i64,
            ) -> StoreResult<Vec<InboxEvent>> {
                $read!(self, |conn| sql::availability_before(
                    conn,
                    workspace,
                    inbox,
                    before,
                    through_seq
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
                $write!(self, |conn| sql::save_snapshot(
                    conn, workspace, inbox, seq, bytes
                )
                .await)
            }

            async fn snapshot(
                &self,
                workspace: WorkspaceId,
                inbox: InboxId,
            ) -> StoreResult<Option<(i64, Vec<u8>)>> {
                $read!(self, |conn| sql::snapshot(conn, workspace, inbox).await)
            }

            async fn changes_since(
                &self,
                workspace: WorkspaceId,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<Change>> {
                $read!(self, |conn| sql::changes_since(
                    conn, workspace, after, limit
                )
                .await)
            }

            async fn conversation_counts(
                &self,
                workspace: WorkspaceId,
                inbox: Option<InboxId>,
                me: UserId,
            ) -> StoreResult<pronto_core::store::ConversationCounts> {
                $read!(self, |conn| sql::conversation_counts(
                    conn, workspace, inbox, me
                )
                .await)
            }

            async fn fold_view_counts(&self) -> StoreResult<u64> {
                $write!(self, |conn| sql::fold_view_counts(conn).await)
            }
        }

        impl ::pronto_core::history::HistoryLoader for $store {
            async fn fresh_ids(
                &self,
                kind: ::pronto_core::history::IdKind,
                count: usize,
            ) -> StoreResult<Vec<i64>> {
                $write!(self, |conn| sql::fresh_ids(conn, kind, count).await)
            }

            async fn load_history(
                &self,
                workspace: WorkspaceId,
                chunk: ::pronto_core::history::HistoryChunk,
            ) -> StoreResult<()> {
                $write!(self, |conn| sql::load_history(conn, workspace, &chunk)
                    .await)
            }

            async fn finish_history(&self) -> StoreResult<()> {
                $write!(self, |conn| sql::finish_history(conn).await)
            }
        }
    };
}
