-- Pronto's schema on PostgreSQL. Every tenant table carries workspace_id and it leads every
-- primary key and index, and no query joins across workspaces, so that the tables can be
-- distributed by workspace (Citus) later. The global lookups are the channel key -> inbox
-- directory (channel_keys) and the auth directory (users by email, sessions and API tokens by
-- hash, a user's memberships): small tables that would be reference tables.
-- Instants are integer milliseconds since the epoch (UTC).

CREATE SEQUENCE workspaces_id AS BIGINT;
CREATE SEQUENCE users_id AS BIGINT;
CREATE SEQUENCE api_tokens_id AS BIGINT;
CREATE SEQUENCE inboxes_id AS BIGINT;
CREATE SEQUENCE contacts_id AS BIGINT;
CREATE SEQUENCE conversations_id AS BIGINT;
CREATE SEQUENCE messages_id AS BIGINT;
CREATE SEQUENCE outbox_id AS BIGINT;
-- Change-feed ids: unique in the installation; taken under the workspace's row lock, so that
-- within a workspace they increase in commit order.
CREATE SEQUENCE changes_id AS BIGINT;

CREATE TABLE workspaces (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX workspaces_name ON workspaces (name);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    email TEXT NOT NULL,
    -- The email, trimmed and lower-cased: what logins look up.
    email_key TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email_key);

CREATE TABLE members (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    presence TEXT NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'busy', 'offline')),
    PRIMARY KEY (workspace_id, user_id)
);
-- The auth directory: the workspaces of a user.
CREATE INDEX members_user ON members (user_id, workspace_id);

CREATE TABLE sessions (
    workspace_id BIGINT NOT NULL,
    token_hash BYTEA NOT NULL,
    user_id BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, token_hash),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_member ON sessions (workspace_id, user_id);

CREATE TABLE api_tokens (
    workspace_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    label TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_tokens_token ON api_tokens (token_hash);
CREATE INDEX api_tokens_member ON api_tokens (workspace_id, user_id);

CREATE TABLE inboxes (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_key TEXT,
    settings JSONB NOT NULL DEFAULT '{}',
    sealed_secrets BYTEA,
    created_at BIGINT NOT NULL,
    -- The last sequence number handed to an event of this inbox; updating it locks the row
    -- until commit, so sequences are gapless, unique and in commit order.
    last_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id)
);

-- The one global lookup of the data: a channel's key (a page id) -> its inbox.
CREATE TABLE channel_keys (
    channel TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    workspace_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    PRIMARY KEY (channel, channel_key),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX channel_keys_inbox ON channel_keys (workspace_id, inbox_id);

CREATE TABLE contacts (
    workspace_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX contacts_external ON contacts (workspace_id, inbox_id, external_id);

CREATE TABLE conversations (
    workspace_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'spam')),
    -- The instant of the latest status event (a reopen is never placed before it).
    status_at BIGINT,
    assignee_id BIGINT,
    -- The urgency (pronto_core::conversation::Urgency), kept up to date message by message.
    last_message_at BIGINT,
    waiting_since BIGINT,
    unanswered_since BIGINT,
    reply_window_closes_at BIGINT,
    last_activity_at BIGINT NOT NULL,
    preview TEXT NOT NULL,
    -- pronto_core::store::conversation_rank: the urgency order is a scan of an index.
    rank_band BIGINT NOT NULL,
    rank_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX conversations_thread ON conversations (workspace_id, inbox_id, contact_id);
CREATE INDEX conversations_contact ON conversations (workspace_id, contact_id);
CREATE INDEX conversations_urgency ON conversations (workspace_id, rank_band, rank_at, id);
CREATE INDEX conversations_inbox_urgency ON conversations (workspace_id, inbox_id, rank_band, rank_at, id);
CREATE INDEX conversations_activity ON conversations (workspace_id, last_activity_at, id);
CREATE INDEX conversations_inbox_activity ON conversations (workspace_id, inbox_id, last_activity_at, id);

-- Message texts and attachments, apart from the events: erasing them never changes the figures.
CREATE TABLE messages (
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
    delivery TEXT NOT NULL CHECK (delivery IN ('received', 'queued', 'sending', 'sent', 'failed')),
    delivery_reason TEXT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id) ON DELETE CASCADE
);
-- Ingest is idempotent on (inbox, channel message id); NULLs (replies not yet sent) are distinct.
CREATE UNIQUE INDEX messages_channel_id ON messages (workspace_id, inbox_id, channel_message_id);
CREATE INDEX messages_conversation ON messages (workspace_id, conversation_id, at, id);

-- The badge log: append-only facts with a per-inbox sequence number.
CREATE TABLE inbox_events (
    workspace_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'status', 'availability')),
    conversation_id BIGINT,
    author TEXT CHECK (author IN ('customer', 'agent', 'automation')),
    status TEXT CHECK (status IN ('open', 'done', 'spam')),
    availability TEXT CHECK (availability IN ('away', 'available')),
    until BIGINT,
    by_user BIGINT,
    PRIMARY KEY (workspace_id, inbox_id, seq),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX inbox_events_availability ON inbox_events (workspace_id, inbox_id, at, seq)
    WHERE kind = 'availability';
CREATE FUNCTION inbox_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'inbox events are append-only';
END;
$$;
CREATE TRIGGER inbox_events_append_only BEFORE UPDATE ON inbox_events
    FOR EACH ROW EXECUTE FUNCTION inbox_events_append_only();

-- Replies on their way out. A row lives from the reply until the channel accepts it or refuses
-- it for good; the message keeps the outcome.
CREATE TABLE outbox (
    workspace_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    conversation_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    contact_external_id TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- When it is due: queued, its (re)try time; sending, the end of its sender's lease.
    due_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, message_id) REFERENCES messages (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX outbox_message ON outbox (workspace_id, message_id);
CREATE INDEX outbox_due ON outbox (workspace_id, channel, due_at);

CREATE TABLE snapshots (
    workspace_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (workspace_id, inbox_id),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
);

-- The change feed of a workspace (SSE ids).
CREATE TABLE changes (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind JSONB NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
