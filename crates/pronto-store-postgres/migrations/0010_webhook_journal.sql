-- The webhook journal: a channel's delivery, verified, is written here (one row, one
-- statement) before the channel hears 200; a processor then takes it into conversations,
-- messages and the badge log, idempotently. The 200 means "durably stored" at the speed of
-- one insert; what a delivery carries is never lost between the two.
CREATE TABLE webhook_journal (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body BYTEA NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX webhook_journal_due ON webhook_journal (due_at, id);
