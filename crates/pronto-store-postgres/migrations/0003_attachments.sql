-- Attachments kept by Pronto: channels' attachment URLs expire (Meta's do), so files are
-- fetched once and kept here, size-limited. attachment_fetches is the durable queue of files
-- still to fetch, written in the transaction that stores the message.

CREATE SEQUENCE files_id AS BIGINT;

CREATE TABLE files (
    workspace_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, message_id) REFERENCES messages (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX files_message ON files (workspace_id, message_id);

CREATE TABLE attachment_fetches (
    workspace_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, message_id, position),
    FOREIGN KEY (workspace_id, message_id) REFERENCES messages (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX attachment_fetches_due ON attachment_fetches (due_at);
