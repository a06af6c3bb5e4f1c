-- The sizes of the inbox's views, kept as counters rather than counted per request. Every
-- change of a conversation appends its difference to view_count_deltas (triggers, so that no
-- writer can forget it). Appending never waits for a lock, so concurrent writers on several
-- nodes never contend or deadlock on a counter row; a worker folds the deltas into
-- view_counts now and then. A count is the sum of an inbox's few counter rows (one per
-- assignee) and its unfolded deltas. assignee_id 0 is "nobody".
CREATE TABLE view_counts (
    workspace_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    unanswered BIGINT NOT NULL,
    open BIGINT NOT NULL,
    done BIGINT NOT NULL,
    spam BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, inbox_id, assignee_id)
);

CREATE TABLE view_count_deltas (
    workspace_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    unanswered BIGINT NOT NULL,
    open BIGINT NOT NULL,
    done BIGINT NOT NULL,
    spam BIGINT NOT NULL
);
CREATE INDEX view_count_deltas_inbox ON view_count_deltas (workspace_id, inbox_id);

INSERT INTO view_counts (workspace_id, inbox_id, assignee_id, unanswered, open, done, spam)
SELECT workspace_id, inbox_id, COALESCE(assignee_id, 0), COUNT(*) FILTER (WHERE rank_band < 2),
       COUNT(*) FILTER (WHERE status = 'open'), COUNT(*) FILTER (WHERE status = 'done'),
       COUNT(*) FILTER (WHERE status = 'spam')
FROM conversations GROUP BY workspace_id, inbox_id, COALESCE(assignee_id, 0);

CREATE FUNCTION view_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO view_count_deltas VALUES (OLD.workspace_id, OLD.inbox_id, COALESCE(OLD.assignee_id, 0),
            -(OLD.rank_band < 2)::int, -(OLD.status = 'open')::int, -(OLD.status = 'done')::int,
            -(OLD.status = 'spam')::int);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO view_count_deltas VALUES (NEW.workspace_id, NEW.inbox_id, COALESCE(NEW.assignee_id, 0),
            (NEW.rank_band < 2)::int, (NEW.status = 'open')::int, (NEW.status = 'done')::int,
            (NEW.status = 'spam')::int);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER view_counts_insert_delete AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION view_counts_track();
CREATE TRIGGER view_counts_update AFTER UPDATE OF inbox_id, status, assignee_id, rank_band ON conversations
    FOR EACH ROW WHEN (OLD.inbox_id IS DISTINCT FROM NEW.inbox_id OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR (OLD.rank_band < 2) IS DISTINCT FROM (NEW.rank_band < 2))
    EXECUTE FUNCTION view_counts_track();
