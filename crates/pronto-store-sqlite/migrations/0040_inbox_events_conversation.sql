-- A conversation's badge events without reading its inbox's whole log: a live badge that let
-- go of a long-silent conversation reads them to take it back when a new event arrives for it.
CREATE INDEX inbox_events_conversation ON inbox_events (workspace_id, inbox_id, conversation_id, seq)
    WHERE conversation_id IS NOT NULL;
