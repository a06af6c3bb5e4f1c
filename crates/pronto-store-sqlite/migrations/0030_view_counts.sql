-- The sizes of the inbox's views, kept as counters rather than counted per request. Every
-- change of a conversation appends its difference to view_count_deltas (triggers, so that no
-- writer can forget it); a worker folds the deltas into view_counts now and then. A count is
-- the sum of an inbox's few counter rows (one per assignee) and its unfolded deltas.
-- assignee_id 0 is "nobody".
CREATE TABLE view_counts (
    workspace_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    assignee_id INTEGER NOT NULL,
    unanswered INTEGER NOT NULL,
    open INTEGER NOT NULL,
    done INTEGER NOT NULL,
    spam INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, inbox_id, assignee_id)
) WITHOUT ROWID;

CREATE TABLE view_count_deltas (
    workspace_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    assignee_id INTEGER NOT NULL,
    unanswered INTEGER NOT NULL,
    open INTEGER NOT NULL,
    done INTEGER NOT NULL,
    spam INTEGER NOT NULL
);
CREATE INDEX view_count_deltas_inbox ON view_count_deltas (workspace_id, inbox_id);

INSERT INTO view_counts (workspace_id, inbox_id, assignee_id, unanswered, open, done, spam)
SELECT workspace_id, inbox_id, COALESCE(assignee_id, 0), SUM(rank_band < 2), SUM(status = 'open'),
       SUM(status = 'done'), SUM(status = 'spam')
FROM conversations GROUP BY workspace_id, inbox_id, COALESCE(assignee_id, 0);

CREATE TRIGGER view_counts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO view_count_deltas VALUES (NEW.workspace_id, NEW.inbox_id, COALESCE(NEW.assignee_id, 0),
        NEW.rank_band < 2, NEW.status = 'open', NEW.status = 'done', NEW.status = 'spam');
END;

CREATE TRIGGER view_counts_update AFTER UPDATE OF inbox_id, status, assignee_id, rank_band ON conversations
WHEN OLD.inbox_id IS NOT NEW.inbox_id OR OLD.status IS NOT NEW.status
    OR OLD.assignee_id IS NOT NEW.assignee_id OR (OLD.rank_band < 2) IS NOT (NEW.rank_band < 2)
BEGIN
    INSERT INTO view_count_deltas VALUES (OLD.workspace_id, OLD.inbox_id, COALESCE(OLD.assignee_id, 0),
        -(OLD.rank_band < 2), -(OLD.status = 'open'), -(OLD.status = 'done'), -(OLD.status = 'spam'));
    INSERT INTO view_count_deltas VALUES (NEW.workspace_id, NEW.inbox_id, COALESCE(NEW.assignee_id, 0),
        NEW.rank_band < 2, NEW.status = 'open', NEW.status = 'done', NEW.status = 'spam');
END;

CREATE TRIGGER view_counts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO view_count_deltas VALUES (OLD.workspace_id, OLD.inbox_id, COALESCE(OLD.assignee_id, 0),
        -(OLD.rank_band < 2), -(OLD.status = 'open'), -(OLD.status = 'done'), -(OLD.status = 'spam'));
END;
