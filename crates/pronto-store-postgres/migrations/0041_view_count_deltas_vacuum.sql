-- The counters' deltas are inserted and deleted all day, and a count reads the ones not yet
-- folded: vacuum them after a fixed number of dead rows rather than a share of the table, so
-- that a count never walks a long trail of dead ones (a bulk load leaves a million at once,
-- and counts took 30-60 ms instead of 1 ms until autovacuum got to them).
ALTER TABLE view_count_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
