-- Pronto's schema on SQLite. It mirrors the PostgreSQL one (crates/pronto-store-postgres):
-- every tenant table carries workspace_id and it leads every primary key and index; the
-- global lookups are the channel key -> inbox directory (channel_keys) and the auth
-- directory (users by email, sessions and API tokens by hash, a user's memberships).
-- Instants are integer milliseconds since the epoch (UTC).

-- Ids come from counters, allocated by the single writer: a primary key led by the workspace
-- cannot be a rowid alias, and a counter never hands out an id twice (a rowid can, after a
-- delete).
CREATE TABLE id_counters (
    name TEXT PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO id_counters (name, last) VALUES
    ('workspaces', 0), ('users', 0), ('api_tokens', 0), ('inboxes', 0), ('contacts', 0),
    ('conversations', 0), ('messages', 0), ('outbox', 0), ('changes', 0);

CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX workspaces_name ON workspaces (name);

-- The auth directory: users belong to one or more workspaces (members).
CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    -- The email, trimmed and lower-cased: what logins look up.
    email_key TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email_key);

CREATE TABLE members (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    presence TEXT NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'busy', 'offline')),
    PRIMARY KEY (workspace_id, user_id)
) WITHOUT ROWID;
-- The auth directory: the workspaces of a user.
CREATE INDEX members_user ON members (user_id, workspace_id);

CREATE TABLE sessions (
    workspace_id INTEGER NOT NULL,
    token_hash BLOB NOT NULL,
    user_id INTEGER NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, token_hash),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;
-- The auth directory: a cookie's session.
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_member ON sessions (workspace_id, user_id);

CREATE TABLE api_tokens (
    workspace_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    label TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;
-- The auth directory: a bearer token's record.
CREATE UNIQUE INDEX api_tokens_token ON api_tokens (token_hash);
CREATE INDEX api_tokens_member ON api_tokens (workspace_id, user_id);

CREATE TABLE inboxes (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_key TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    sealed_secrets BLOB,
    created_at INTEGER NOT NULL,
    -- The last sequence number handed to an event of this inbox.
    last_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- The one global lookup of the data: a channel's key (a page id) -> its inbox.
CREATE TABLE channel_keys (
    channel TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    workspace_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    PRIMARY KEY (channel, channel_key),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX channel_keys_inbox ON channel_keys (workspace_id, inbox_id);

CREATE TABLE contacts (
    workspace_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE UNIQUE INDEX contacts_external ON contacts (workspace_id, inbox_id, external_id);

CREATE TABLE conversations (
    workspace_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'spam')),
    -- The instant of the latest status event (a reopen is never placed before it).
    status_at INTEGER,
    assignee_id INTEGER,
    -- The urgency (pronto_core::conversation::Urgency), kept up to date message by message.
    last_message_at INTEGER,
    waiting_since INTEGER,
    unanswered_since INTEGER,
    reply_window_closes_at INTEGER,
    last_activity_at INTEGER NOT NULL,
    preview TEXT NOT NULL,
    -- pronto_core::store::conversation_rank: the urgency order is a scan of an index.
    rank_band INTEGER NOT NULL,
    rank_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE UNIQUE INDEX conversations_thread ON conversations (workspace_id, inbox_id, contact_id);
CREATE INDEX conversations_contact ON conversations (workspace_id, contact_id);
CREATE INDEX conversations_urgency ON conversations (workspace_id, rank_band, rank_at, id);
CREATE INDEX conversations_inbox_urgency ON conversations (workspace_id, inbox_id, rank_band, rank_at, id);
CREATE INDEX conversations_activity ON conversations (workspace_id, last_activity_at, id);
CREATE INDEX conversations_inbox_activity ON conversations (workspace_id, inbox_id, last_activity_at, id);

-- Message texts and attachments, apart from the events: erasing them never changes the figures.
CREATE TABLE messages (
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
    delivery TEXT NOT NULL CHECK (delivery IN ('received', 'queued', 'sending', 'sent', 'failed')),
    delivery_reason TEXT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
-- Ingest is idempotent on (inbox, channel message id); NULLs (replies not yet sent) are distinct.
CREATE UNIQUE INDEX messages_channel_id ON messages (workspace_id, inbox_id, channel_message_id);
CREATE INDEX messages_conversation ON messages (workspace_id, conversation_id, at, id);

-- The badge log: append-only facts with a per-inbox sequence number.
CREATE TABLE inbox_events (
    workspace_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'status', 'availability')),
    conversation_id INTEGER,
    author TEXT CHECK (author IN ('customer', 'agent', 'automation')),
    status TEXT CHECK (status IN ('open', 'done', 'spam')),
    availability TEXT CHECK (availability IN ('away', 'available')),
    until INTEGER,
    by_user INTEGER,
    PRIMARY KEY (workspace_id, inbox_id, seq),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX inbox_events_availability ON inbox_events (workspace_id, inbox_id, at, seq)
    WHERE kind = 'availability';
CREATE TRIGGER inbox_events_append_only BEFORE UPDATE ON inbox_events
BEGIN
    SELECT RAISE(ABORT, 'inbox events are append-only');
END;

-- Replies on their way out. A row lives from the reply until the channel accepts it or refuses
-- it for good; the message keeps the outcome.
CREATE TABLE outbox (
    workspace_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    contact_external_id TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- When it is due: queued, its (re)try time; sending, the end of its sender's lease.
    due_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, message_id) REFERENCES messages (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE UNIQUE INDEX outbox_message ON outbox (workspace_id, message_id);
CREATE INDEX outbox_due ON outbox (workspace_id, channel, due_at);

CREATE TABLE snapshots (
    workspace_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (workspace_id, inbox_id),
    FOREIGN KEY (workspace_id, inbox_id) REFERENCES inboxes (workspace_id, id) ON DELETE CASCADE
);

-- The change feed of a workspace (SSE ids).
CREATE TABLE changes (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
