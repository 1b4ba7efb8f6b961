/**
 * The hourly mTLS rollup (migrations/0006_mtls_rollup.sql): server-side flows grouped exactly as
 * the mTLS evidence report groups them, maintained by a {@link BatchHook} inside the batch's
 * transaction, like the edge rollups (rollups.ts): every flow with an id above the watermark
 * (`rollup_state` name 'mtls_rollup_hour') is counted by the next batch, so a writer that ran
 * without the hook is caught up, and a rollup never counts an uncommitted flow.
 *
 * The statement is the migration's backfill with the id range added: keep the two in step.
 */
import type { Db } from './db.js';
import type { BatchHook } from './store.js';

/** The rollup's table (and its name in `rollup_state` and `retention_state`). */
export const MTLS_ROLLUP_TABLE = 'mtls_rollup_hour';

/** Bucket width, ms. */
export const MTLS_ROLLUP_BUCKET_MS = 3_600_000;

const UPSERT = `
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
      WHERE f.id > ? AND f.id <= ? AND f.direction = 1),
    -- hostOf() of the report in SQL (see the migration): drop ":<digits>", one "]", one "[".
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
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  ON CONFLICT (bucket, destination_namespace_id, destination_workload_id, destination_service_id, destination_port,
    local_address, reporter_id, mtls, evidence_id, tls_version_id, caller_principal_id, caller_host) DO UPDATE SET
    requests = requests + excluded.requests,
    first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`;

/** Creates the mTLS rollup hook for `db` (statements prepared once, here). */
export function mtlsRollupHook(db: Db): BatchHook {
  const watermark = db.prepare<[string], { last_flow_id: number }>('SELECT last_flow_id FROM rollup_state WHERE name = ?');
  const maxId = db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM flows');
  const setWatermark = db.prepare<[string, number]>('INSERT INTO rollup_state (name, last_flow_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_flow_id = excluded.last_flow_id');
  const upsert = db.prepare<[number, number]>(UPSERT);
  return () => {
    const last = watermark.get(MTLS_ROLLUP_TABLE)?.last_flow_id ?? 0;
    const max = maxId.get()?.id ?? 0;
    if (max <= last) return;
    upsert.run(last, max);
    setWatermark.run(MTLS_ROLLUP_TABLE, max);
  };
}

/** How far a rollup has read the flows (0 when it never ran). */
export function rollupWatermark(db: Db, name: 'flows' | typeof MTLS_ROLLUP_TABLE): number {
  const row = db.prepare<[string], { last_flow_id: number }>('SELECT last_flow_id FROM rollup_state WHERE name = ?').get(name);
  return row?.last_flow_id ?? 0;
}
