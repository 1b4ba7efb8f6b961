-- Rollups: per-minute and per-hour aggregates of flows per edge, and the identities seen. They
-- answer /edges, /stats/timeseries, /principals and period mTLS reports without scanning flows.
-- Maintained in the batch transaction by src/store/rollups.ts (a BatchHook), which rolls up
-- every flow with an id above rollup_state.last_flow_id, so a writer that ran without the hook
-- is caught up by the next one that has it.
--
-- Unknown key parts are stored as sentinels, not NULL (a NULL never conflicts in a UNIQUE key,
-- which would defeat the upsert): string ids 0, destination_port -1, direction 0.
-- The mTLS verdict and the status are counters, not key parts: that keeps one row per edge
-- per bucket instead of up to fifteen.

CREATE TABLE edge_rollup_minute (
  bucket                   INTEGER NOT NULL, -- bucket start, epoch ms (multiple of 60000)
  source_principal_id      INTEGER NOT NULL, -- strings.id; 0 unknown
  source_namespace_id      INTEGER NOT NULL, -- strings.id; 0 unknown
  destination_service_id   INTEGER NOT NULL, -- strings.id; 0 unknown
  destination_namespace_id INTEGER NOT NULL, -- strings.id; 0 unknown
  destination_port         INTEGER NOT NULL, -- -1 unknown
  direction                INTEGER NOT NULL, -- 1 inbound, 2 outbound, 0 unknown
  reporter_kind            TEXT    NOT NULL, -- sidecar, gateway, ztunnel, ...
  requests                 INTEGER NOT NULL,
  errors                   INTEGER NOT NULL, -- 5xx, or response_code 0 with response flags
  mtls                     INTEGER NOT NULL, -- verdict true
  plaintext                INTEGER NOT NULL, -- verdict false (unknown = requests - mtls - plaintext)
  bytes                    INTEGER NOT NULL, -- bytes_received + bytes_sent
  first_seen               INTEGER NOT NULL, -- epoch ms
  last_seen                INTEGER NOT NULL, -- epoch ms
  PRIMARY KEY (bucket, source_principal_id, source_namespace_id, destination_service_id,
               destination_namespace_id, destination_port, direction, reporter_kind)
) WITHOUT ROWID;

CREATE TABLE edge_rollup_hour (
  bucket                   INTEGER NOT NULL, -- bucket start, epoch ms (multiple of 3600000)
  source_principal_id      INTEGER NOT NULL,
  source_namespace_id      INTEGER NOT NULL,
  destination_service_id   INTEGER NOT NULL,
  destination_namespace_id INTEGER NOT NULL,
  destination_port         INTEGER NOT NULL,
  direction                INTEGER NOT NULL,
  reporter_kind            TEXT    NOT NULL,
  requests                 INTEGER NOT NULL,
  errors                   INTEGER NOT NULL,
  mtls                     INTEGER NOT NULL,
  plaintext                INTEGER NOT NULL,
  bytes                    INTEGER NOT NULL,
  first_seen               INTEGER NOT NULL,
  last_seen                INTEGER NOT NULL,
  PRIMARY KEY (bucket, source_principal_id, source_namespace_id, destination_service_id,
               destination_namespace_id, destination_port, direction, reporter_kind)
) WITHOUT ROWID;

-- Every identity seen, per namespace it was seen in, with how often on each side.
CREATE TABLE principal_rollup (
  principal_id   INTEGER NOT NULL, -- strings.id
  namespace_id   INTEGER NOT NULL, -- strings.id; 0 unknown
  as_source      INTEGER NOT NULL,
  as_destination INTEGER NOT NULL,
  first_seen     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL,
  PRIMARY KEY (principal_id, namespace_id)
) WITHOUT ROWID;

-- How far the rollups have read the flows table.
CREATE TABLE rollup_state (
  name         TEXT PRIMARY KEY,
  last_flow_id INTEGER NOT NULL
);

-- "Everything this principal did between 02:00 and 02:15" is the first investigation query.
CREATE INDEX flows_source_principal ON flows (source_principal_id, ts) WHERE source_principal_id IS NOT NULL;

-- Backfill from the flows already stored (a fresh table: GROUP BY keeps the keys unique).
INSERT INTO edge_rollup_minute
SELECT f.ts - f.ts % 60000, coalesce(f.source_principal_id, 0), coalesce(f.source_namespace_id, 0),
       coalesce(f.destination_service_id, 0), coalesce(f.destination_namespace_id, 0), coalesce(f.destination_port, -1),
       coalesce(f.direction, 0), coalesce(json_extract(r.value, '$.kind'), 'unknown'),
       count(*),
       sum(CASE WHEN f.response_code >= 500 OR (f.response_code = 0 AND f.response_flags_id IS NOT NULL) THEN 1 ELSE 0 END),
       sum(CASE WHEN f.mtls = 1 THEN 1 ELSE 0 END), sum(CASE WHEN f.mtls = 0 THEN 1 ELSE 0 END),
       sum(coalesce(f.bytes_received, 0) + coalesce(f.bytes_sent, 0)), min(f.ts), max(f.ts)
FROM flows f JOIN strings r ON r.id = f.reporter_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO edge_rollup_hour
SELECT bucket - bucket % 3600000, source_principal_id, source_namespace_id, destination_service_id, destination_namespace_id,
       destination_port, direction, reporter_kind, sum(requests), sum(errors), sum(mtls), sum(plaintext), sum(bytes),
       min(first_seen), max(last_seen)
FROM edge_rollup_minute
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO principal_rollup
SELECT principal_id, namespace_id, sum(src), sum(dst), min(first_seen), max(last_seen) FROM (
  SELECT source_principal_id AS principal_id, coalesce(source_namespace_id, 0) AS namespace_id, count(*) AS src, 0 AS dst, min(ts) AS first_seen, max(ts) AS last_seen
  FROM flows WHERE source_principal_id IS NOT NULL GROUP BY 1, 2
  UNION ALL
  SELECT destination_principal_id, coalesce(destination_namespace_id, 0), 0, count(*), min(ts), max(ts)
  FROM flows WHERE destination_principal_id IS NOT NULL GROUP BY 1, 2
) GROUP BY 1, 2;

INSERT INTO rollup_state (name, last_flow_id) VALUES ('flows', (SELECT coalesce(max(id), 0) FROM flows));
