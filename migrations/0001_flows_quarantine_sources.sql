-- Interned strings: repeated low-cardinality values (clusters, authorities, user agents,
-- principals, reporters, ...) are stored once and referenced by id, which keeps flow rows narrow.
CREATE TABLE strings (
  id    INTEGER PRIMARY KEY,
  value TEXT NOT NULL UNIQUE
);

-- One row per input stream (a file fingerprint, stdin content, a Kafka topic/partition).
-- `position` is the committed resume point (next byte offset / next Kafka offset), written in
-- the same transaction as the rows it covers.
CREATE TABLE sources (
  id         INTEGER PRIMARY KEY,
  key        TEXT NOT NULL UNIQUE,
  label      TEXT,
  position   INTEGER,
  meta       TEXT,
  updated_at INTEGER NOT NULL
);

CREATE TABLE flows (
  id                                   INTEGER PRIMARY KEY,
  source_id                            INTEGER NOT NULL REFERENCES sources(id),
  pos                                  INTEGER NOT NULL,
  line                                 INTEGER,
  -- start_time in epoch ms; when the line had no time, the ingest time, with ts_estimated = 1
  ts                                   INTEGER NOT NULL,
  ts_estimated                         INTEGER NOT NULL DEFAULT 0,
  method_id                            INTEGER,
  path                                 TEXT,
  protocol_id                          INTEGER,
  response_code                        INTEGER,
  response_flags_id                    INTEGER,
  response_code_details_id             INTEGER,
  connection_termination_details_id    INTEGER,
  upstream_transport_failure_reason_id INTEGER,
  bytes_received                       INTEGER,
  bytes_sent                           INTEGER,
  duration                             NUMERIC,
  upstream_service_time                NUMERIC,
  x_forwarded_for                      TEXT,
  user_agent_id                        INTEGER,
  request_id                           TEXT,
  authority_id                         INTEGER,
  upstream_host                        TEXT,
  upstream_cluster_id                  INTEGER,
  upstream_local_address               TEXT,
  downstream_local_address             TEXT,
  downstream_remote_address            TEXT,
  requested_server_name_id             INTEGER,
  route_name_id                        INTEGER,
  direction                            INTEGER, -- 1 inbound, 2 outbound, NULL unknown
  destination_service_id               INTEGER,
  destination_port                     INTEGER,
  reporter_id                          INTEGER NOT NULL,
  format_id                            INTEGER NOT NULL,
  source_principal_id                  INTEGER,
  source_principal_from_id             INTEGER,
  source_namespace_id                  INTEGER,
  source_namespace_from_id             INTEGER,
  source_service_account_id            INTEGER,
  source_workload_id                   INTEGER,
  destination_principal_id             INTEGER,
  destination_principal_from_id        INTEGER,
  destination_namespace_id             INTEGER,
  destination_namespace_from_id        INTEGER,
  destination_service_account_id       INTEGER,
  destination_workload_id              INTEGER,
  mtls                                 INTEGER, -- 1 true, 0 false, NULL unknown
  mtls_evidence_id                     INTEGER,
  tls_version_id                       INTEGER,
  tls_cipher_id                        INTEGER,
  extra                                TEXT     -- JSON object, NULL when empty
);

-- The source position is the idempotency key: a replayed record is a no-op.
CREATE UNIQUE INDEX flows_position ON flows (source_id, pos);
CREATE INDEX flows_ts ON flows (ts);
CREATE INDEX flows_request_id ON flows (request_id) WHERE request_id IS NOT NULL;

-- Input that could not become a flow: kept with its reason, raw bytes and position.
CREATE TABLE quarantine (
  id          INTEGER PRIMARY KEY,
  source_id   INTEGER NOT NULL REFERENCES sources(id),
  pos         INTEGER NOT NULL,
  line        INTEGER,
  reason      TEXT NOT NULL,
  detail      TEXT NOT NULL,
  raw         BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX quarantine_position ON quarantine (source_id, pos);
