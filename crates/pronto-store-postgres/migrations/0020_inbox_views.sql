-- The inbox's views without scanning every conversation: Mine and Unassigned by urgency, Done
-- and Spam by activity. Their (capped) counts read these indexes alone, the inbox too.
CREATE INDEX conversations_assignee_urgency ON conversations (workspace_id, assignee_id, status, rank_band, rank_at, id, inbox_id);
CREATE INDEX conversations_status_activity ON conversations (workspace_id, status, last_activity_at, id, inbox_id);
