/**
 * Rollups: per-minute and per-hour aggregates per edge, and the identities seen (tables in
 * migrations/0002_rollups.sql). They are maintained by a {@link BatchHook}, inside the batch's
 * transaction, so a rollup never counts a flow that was not committed and never misses one that
 * was: both commit or neither does.
 *
 * The hook does not trust its `written` list alone: it rolls up every flow whose id is above the
 * stored watermark (`rollup_state.last_flow_id`), so flows written by a process that ran without
 * the hook are counted by the next batch that has it. Flow ids only grow (rows are appended by
 * the one writer), which is what makes the watermark sound.
 */
import type { Db } from './db.js';
import { mtlsRollupHook } from './mtls-rollup.js';
import type { BatchHook, Store } from './store.js';

const ERROR = 'CASE WHEN f.response_code >= 500 OR (f.response_code = 0 AND f.response_flags_id IS NOT NULL) THEN 1 ELSE 0 END';

const EDGE_KEY = `bucket, source_principal_id, source_namespace_id, destination_service_id, destination_namespace_id,
    destination_port, direction, reporter_kind`;
const EDGE_COLUMNS = `${EDGE_KEY}, requests, errors, mtls, plaintext, bytes, first_seen, last_seen`;

/**
 * The batch's flows grouped per minute edge, once: both rollups are upserted from this (the hour
 * rollup regroups the minute rows). The inner query groups by reporter string id, so the reporter
 * JSON is read once per group rather than once per flow; the outer one merges reporters of the
 * same kind.
 */
const EDGE_BATCH = `
  INSERT INTO temp.edge_rollup_batch (${EDGE_COLUMNS})
  SELECT g.bucket, g.sp, g.sn, g.ds, g.dn, g.dp, g.dir, coalesce(json_extract(r.value, '$.kind'), 'unknown'),
    sum(g.requests), sum(g.errors), sum(g.mtls), sum(g.plaintext), sum(g.bytes), min(g.first_seen), max(g.last_seen)
  FROM (
    SELECT f.ts - f.ts % 60000 AS bucket, coalesce(f.source_principal_id, 0) AS sp, coalesce(f.source_namespace_id, 0) AS sn,
      coalesce(f.destination_service_id, 0) AS ds, coalesce(f.destination_namespace_id, 0) AS dn,
      coalesce(f.destination_port, -1) AS dp, coalesce(f.direction, 0) AS dir, f.reporter_id,
      count(*) AS requests, sum(${ERROR}) AS errors, sum(CASE WHEN f.mtls = 1 THEN 1 ELSE 0 END) AS mtls,
      sum(CASE WHEN f.mtls = 0 THEN 1 ELSE 0 END) AS plaintext,
      sum(coalesce(f.bytes_received, 0) + coalesce(f.bytes_sent, 0)) AS bytes, min(f.ts) AS first_seen, max(f.ts) AS last_seen
    FROM flows f
    WHERE f.id > ? AND f.id <= ?
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  ) g JOIN strings r ON r.id = g.reporter_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`;

const edgeUpsert = (table: 'edge_rollup_minute' | 'edge_rollup_hour', width: number): string => `
  INSERT INTO ${table} (${EDGE_COLUMNS})
  SELECT bucket - bucket % ${width}, source_principal_id, source_namespace_id, destination_service_id, destination_namespace_id,
    destination_port, direction, reporter_kind,
    sum(requests), sum(errors), sum(mtls), sum(plaintext), sum(bytes), min(first_seen), max(last_seen)
  FROM temp.edge_rollup_batch
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  ON CONFLICT (${EDGE_KEY}) DO UPDATE SET
    requests = requests + excluded.requests, errors = errors + excluded.errors, mtls = mtls + excluded.mtls,
    plaintext = plaintext + excluded.plaintext, bytes = bytes + excluded.bytes,
    first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`;

const principalUpsert = (side: 'source' | 'destination'): string => `
  INSERT INTO principal_rollup (principal_id, namespace_id, as_source, as_destination, first_seen, last_seen)
  SELECT f.${side}_principal_id, coalesce(f.${side}_namespace_id, 0),
    ${side === 'source' ? 'count(*), 0' : '0, count(*)'}, min(f.ts), max(f.ts)
  FROM flows f
  WHERE f.id > ? AND f.id <= ? AND f.${side}_principal_id IS NOT NULL
  GROUP BY 1, 2
  ON CONFLICT (principal_id, namespace_id) DO UPDATE SET
    as_source = as_source + excluded.as_source, as_destination = as_destination + excluded.as_destination,
    first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`;

/** Creates the rollup hook for `db` (statements prepared once, here). */
export function rollupHook(db: Db): BatchHook {
  const watermark = db.prepare<[], { last_flow_id: number }>("SELECT last_flow_id FROM rollup_state WHERE name = 'flows'");
  const maxId = db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM flows');
  const setWatermark = db.prepare<[number]>("INSERT INTO rollup_state (name, last_flow_id) VALUES ('flows', ?) ON CONFLICT (name) DO UPDATE SET last_flow_id = excluded.last_flow_id");
  // A connection's own scratch table (temp schema, in memory: temp_store = MEMORY), emptied before
  // each fill; it rolls back with the batch's transaction like everything else.
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS edge_rollup_batch (${EDGE_COLUMNS})`);
  const clearBatch = db.prepare('DELETE FROM temp.edge_rollup_batch');
  const fillBatch = db.prepare<[number, number]>(EDGE_BATCH);
  const edgeUpserts = [db.prepare(edgeUpsert('edge_rollup_minute', 60_000)), db.prepare(edgeUpsert('edge_rollup_hour', 3_600_000))];
  const principalUpserts = [db.prepare<[number, number]>(principalUpsert('source')), db.prepare<[number, number]>(principalUpsert('destination'))];
  return () => {
    const last = watermark.get()?.last_flow_id ?? 0;
    const max = maxId.get()?.id ?? 0;
    if (max <= last) return;
    clearBatch.run();
    fillBatch.run(last, max);
    for (const s of edgeUpserts) s.run();
    for (const s of principalUpserts) s.run(last, max);
    setWatermark.run(max);
  };
}

const registered = new WeakSet<Store>();

/**
 * Registers the rollup hook on `store` (idempotent). Call it wherever a Store that writes flows
 * is created, before the first batch.
 */
export function registerRollups(store: Store): void {
  if (registered.has(store)) return;
  registered.add(store);
  store.addHook(rollupHook(store.db));
  store.addHook(mtlsRollupHook(store.db));
}
