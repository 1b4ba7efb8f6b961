-- One row per configured sink: how far it has delivered the findings outbox, and how its last
-- attempts went. `seq` is the outbox seq of the last event the receiver acknowledged (0 = none);
-- it only moves forward, after an acknowledged send, so a restart resumes right after it.
-- Times are epoch ms. A sink that was renamed or removed keeps its row (harmless, shows history).
CREATE TABLE sink_cursors (
  sink            TEXT PRIMARY KEY,
  seq             INTEGER NOT NULL DEFAULT 0,
  delivered       INTEGER NOT NULL DEFAULT 0,
  failures        INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER,
  last_error      TEXT,
  last_error_code TEXT,
  last_error_at   INTEGER,
  updated_at      INTEGER NOT NULL
);
