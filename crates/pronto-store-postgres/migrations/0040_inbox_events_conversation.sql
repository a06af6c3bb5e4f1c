-- A conversation's badge events without reading its inbox's whole log: a live badge that let
-- go of a long-silent conversation reads them to take it back when a new event arrives for it.
-- Covering (every column the read needs), so that a conversation's events, scattered over
-- months of the table, come from a few adjacent index pages: an index-only scan read about a
-- sixth of the pages for a thousand conversations of a ten-million-event log.
CREATE INDEX inbox_events_conversation ON inbox_events (workspace_id, inbox_id, conversation_id, seq)
    INCLUDE (at, kind, author, status, availability, until, by_user)
    WHERE conversation_id IS NOT NULL;
