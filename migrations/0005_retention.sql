-- Retention (src/store/retention.ts) deletes quarantined records by the time they were received;
-- without this index every pass would scan the whole table while holding the write lock.
-- (flows are deleted by ts, which flows_ts already indexes; the rollup tables' primary keys
-- start with bucket.)
CREATE INDEX quarantine_received_at ON quarantine (received_at);

-- How far back each table has been cut by retention (epoch ms): rows older than `cutoff` may have
-- been deleted. Reports over windows that start before it say they are incomplete instead of
-- presenting a partial count as the whole period.
CREATE TABLE retention_state (
  name       TEXT PRIMARY KEY,
  cutoff     INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
