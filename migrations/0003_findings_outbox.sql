-- Findings: one row per problem (detector + source + destination + port), maintained by the
-- detectors' BatchHook in the same transaction as the flows that raised them. Times are epoch ms;
-- evidence and sample_flow_ids are JSON. `events` numbers the outbox events of the finding, so
-- event ids (`<id>:<n>`) are stable across replays.
CREATE TABLE findings (
  id                    TEXT PRIMARY KEY,
  key                   TEXT NOT NULL UNIQUE,
  detector              TEXT NOT NULL,
  severity              TEXT NOT NULL,
  status                TEXT NOT NULL DEFAULT 'open',
  status_reason         TEXT,
  title                 TEXT NOT NULL,
  source_principal      TEXT,
  source_workload       TEXT,
  source_namespace      TEXT,
  destination_service   TEXT,
  destination_namespace TEXT,
  destination           TEXT,
  destination_port      INTEGER,
  first_seen            INTEGER NOT NULL,
  last_seen             INTEGER NOT NULL,
  count                 INTEGER NOT NULL,
  evidence              TEXT NOT NULL,
  sample_flow_ids       TEXT NOT NULL,
  request_id            TEXT,
  events                INTEGER NOT NULL DEFAULT 0,
  updated_at            INTEGER NOT NULL
);
CREATE INDEX findings_last_seen ON findings (last_seen, id);
CREATE INDEX findings_status ON findings (status, last_seen);

-- What changed about a finding, for the sinks (each reads it in seq order with its own cursor).
CREATE TABLE outbox (
  seq      INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  type     TEXT NOT NULL,
  at       INTEGER NOT NULL,
  finding  TEXT NOT NULL
);

-- The learned baseline of expected edges (caller|namespace|workload|port).
CREATE TABLE baseline_edges (
  edge       TEXT PRIMARY KEY,
  first_seen INTEGER NOT NULL
) WITHOUT ROWID;

-- Small detector state (e.g. when baseline learning started).
CREATE TABLE detector_state (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Running counters the detectors expose (coverage gaps, undecided evaluations, skipped checks).
CREATE TABLE detector_counters (
  detector TEXT NOT NULL,
  counter  TEXT NOT NULL,
  value    INTEGER NOT NULL,
  PRIMARY KEY (detector, counter)
) WITHOUT ROWID;
