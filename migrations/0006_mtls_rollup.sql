-- Hourly rollup of server-side (inbound) flows for the mTLS evidence report
-- (src/report/mtls-report.ts): exactly the groups the report used to compute from raw flows, so a
-- 30-day report reads a few thousand rows instead of every flow, and still counts the flows that
-- retention.flows_days has deleted (this table is kept retention.rollups_days).
-- Maintained in the batch transaction by src/store/mtls-rollup.ts (a BatchHook with its own
-- watermark, rollup_state name 'mtls_rollup_hour'); the same statement as the backfill below.
--
-- Unknown key parts are sentinels, not NULL (a NULL never conflicts in a primary key, which would
-- defeat the upsert), chosen to sort where NULL sorts (first): string ids 0, port -1,
-- local_address '' (parsers store an empty field as NULL, so '' never occurs), mtls -1.
-- The plaintext caller is a key part only for plaintext (mtls = 0) rows, and as the report names
-- it: the SPIFFE principal, or when there is none the host of the remote address (its ephemeral
-- port dropped: one row per caller host, not per connection). Other rows have 0 and ''.

CREATE TABLE mtls_rollup_hour (
  bucket                   INTEGER NOT NULL, -- bucket start, epoch ms (multiple of 3600000)
  destination_namespace_id INTEGER NOT NULL, -- strings.id; 0 unknown
  destination_workload_id  INTEGER NOT NULL, -- strings.id; 0 unknown
  destination_service_id   INTEGER NOT NULL, -- strings.id; 0 unknown
  destination_port         INTEGER NOT NULL, -- -1 unknown
  local_address            TEXT    NOT NULL, -- downstream_local_address (pod ip:port); '' unknown
  reporter_id              INTEGER NOT NULL, -- strings.id of the reporter JSON (workload labels)
  mtls                     INTEGER NOT NULL, -- 1 verified, 0 plaintext, -1 unknown
  evidence_id              INTEGER NOT NULL, -- strings.id of mtls_evidence (or why unknown); 0 none
  tls_version_id           INTEGER NOT NULL, -- strings.id; 0 none
  caller_principal_id      INTEGER NOT NULL, -- plaintext rows: source principal strings.id; else 0
  caller_host              TEXT    NOT NULL, -- plaintext rows without principal: remote host; else ''
  requests                 INTEGER NOT NULL,
  first_seen               INTEGER NOT NULL, -- epoch ms
  last_seen                INTEGER NOT NULL, -- epoch ms
  PRIMARY KEY (bucket, destination_namespace_id, destination_workload_id, destination_service_id,
               destination_port, local_address, reporter_id, mtls, evidence_id, tls_version_id,
               caller_principal_id, caller_host)
) WITHOUT ROWID;

-- Backfill from the flows still stored (a fresh table: GROUP BY keeps the keys unique). Flows
-- that retention deleted before this migration cannot be counted: the retention cutoff of the
-- flows is carried over as this table's, so reports over that period say they are incomplete.
WITH
  src AS (
    SELECT f.ts - f.ts % 3600000 AS bucket, f.ts,
      coalesce(f.destination_namespace_id, 0) AS ns, coalesce(f.destination_workload_id, 0) AS wl,
      coalesce(f.destination_service_id, 0) AS svc, coalesce(f.destination_port, -1) AS port,
      coalesce(f.downstream_local_address, '') AS local_address, f.reporter_id,
      coalesce(f.mtls, -1) AS mtls, coalesce(f.mtls_evidence_id, 0) AS evidence, coalesce(f.tls_version_id, 0) AS tls,
      CASE WHEN f.mtls = 0 THEN coalesce(f.source_principal_id, 0) ELSE 0 END AS principal,
      CASE WHEN f.mtls = 0 AND f.source_principal_id IS NULL THEN coalesce(f.downstream_remote_address, '') END AS remote
    FROM flows f
    WHERE f.direction = 1),
  -- The host of `remote`, as hostOf() in src/report/mtls-report.ts: /^\[?([^\]]+?)\]?:\d+$/,
  -- else the address itself. Step by step: drop ":<digits>", then one "]", then one "[".
  unported AS (SELECT *, rtrim(remote, '0123456789') AS t FROM src),
  ported AS (SELECT *, CASE WHEN length(t) < length(remote) AND substr(t, -1) = ':' THEN substr(t, 1, length(t) - 1) END AS p FROM unported),
  unclosed AS (SELECT *, CASE WHEN substr(p, -1) = ']' THEN substr(p, 1, length(p) - 1) ELSE p END AS p2 FROM ported),
  unopened AS (SELECT *, CASE WHEN substr(p2, 1, 1) = '[' AND length(p2) > 1 THEN substr(p2, 2) ELSE p2 END AS x FROM unclosed)
INSERT INTO mtls_rollup_hour (bucket, destination_namespace_id, destination_workload_id, destination_service_id,
  destination_port, local_address, reporter_id, mtls, evidence_id, tls_version_id, caller_principal_id, caller_host,
  requests, first_seen, last_seen)
SELECT bucket, ns, wl, svc, port, local_address, reporter_id, mtls, evidence, tls, principal,
  CASE WHEN remote IS NULL OR remote = '' THEN '' WHEN length(x) > 0 AND instr(x, ']') = 0 THEN x ELSE remote END,
  count(*), min(ts), max(ts)
FROM unopened
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

INSERT INTO rollup_state (name, last_flow_id) VALUES ('mtls_rollup_hour', (SELECT coalesce(max(id), 0) FROM flows));

INSERT INTO retention_state (name, cutoff, updated_at)
SELECT 'mtls_rollup_hour', cutoff, updated_at FROM retention_state WHERE name = 'flows';
