/**
 * Read queries over the edge rollups (migrations/0002_rollups.sql): the call graph of a time
 * window and request/error/plaintext time series. They never scan flows, so their cost depends
 * on the number of edges and buckets in the window, not on the number of flows.
 *
 * Rollups have minute resolution: windows are widened to whole minutes, and the answer states the
 * window it actually covers. The whole hours of a window are read from the hourly table and only
 * its ragged ends from the minute table: the same sums, 60 times fewer rows over long windows.
 */
import type { Edge, EdgesQuery, Timeseries, TimeseriesQuery } from '../../schemas/api.js';
import { DEFAULT_PAGE_SIZE, STEP_MINUTES, encodeKey } from '../../schemas/api.js';
import { pageFrom, prepared, type Keyed, type Page } from './flows.query.js';
import type { Store } from './store.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** The (source principal id, destination service id, port) key of an edge; 0 and -1 mean unknown. */
export type EdgeKey = [number, number, number];

/** The window a rollup query reads: aligned bounds and the table holding that resolution. */
export interface RollupWindow {
  from: number;
  to: number;
  table: 'edge_rollup_minute' | 'edge_rollup_hour';
}

const floorTo = (t: number, step: number) => t - (((t % step) + step) % step);
const ceilTo = (t: number, step: number) => { const f = floorTo(t, step); return f === t ? t : f + step; };

/** Aligns [from, to) to the coarsest rollup that answers it exactly (hours when both ends allow). */
export function rollupWindow(from: number, to: number): RollupWindow {
  if (from % HOUR === 0 && to % HOUR === 0) return { from, to, table: 'edge_rollup_hour' };
  return { from: floorTo(from, MINUTE), to: ceilTo(to, MINUTE), table: 'edge_rollup_minute' };
}

interface Filters { namespace?: string | undefined; direction?: 'inbound' | 'outbound' | undefined }

const ROLLUP_COLUMNS = `bucket, source_principal_id, source_namespace_id, destination_service_id, destination_namespace_id,
  destination_port, direction, requests, errors, mtls, plaintext, bytes, first_seen, last_seen`;

/**
 * The rollup rows of a window as one FROM source (aliased `e`): the hourly table for the whole
 * hours inside it and the minute table for the partial hours at either end. A window of less than
 * two whole hours reads its own table alone.
 */
function rollupSource(w: RollupWindow): { sql: string; params: unknown[] } {
  const arm = (table: RollupWindow['table']) => `SELECT ${ROLLUP_COLUMNS} FROM ${table} WHERE bucket >= ? AND bucket < ?`;
  const hoursFrom = ceilTo(w.from, HOUR);
  const hoursTo = floorTo(w.to, HOUR);
  if (w.table === 'edge_rollup_hour' || hoursTo - hoursFrom < 2 * HOUR) return { sql: `(${arm(w.table)}) e`, params: [w.from, w.to] };
  return {
    sql: `(${arm('edge_rollup_minute')} UNION ALL ${arm('edge_rollup_hour')} UNION ALL ${arm('edge_rollup_minute')}) e`,
    params: [w.from, hoursFrom, hoursFrom, hoursTo, hoursTo, w.to],
  };
}

/** WHERE clauses common to edges and timeseries, bucket range included; null when the namespace was never seen. */
function rollupWhere(store: Store, w: RollupWindow, f: Filters): { clauses: string[]; params: unknown[] } | null {
  const clauses = ['e.bucket >= ?', 'e.bucket < ?'];
  const params: unknown[] = [w.from, w.to];
  if (f.namespace !== undefined) {
    const id = store.strings.lookup(f.namespace);
    if (id === undefined) return null;
    clauses.push('(e.source_namespace_id = ? OR e.destination_namespace_id = ?)');
    params.push(id, id);
  }
  if (f.direction) { clauses.push('e.direction = ?'); params.push(f.direction === 'inbound' ? 1 : 2); }
  return { clauses, params };
}

interface EdgeRow {
  sp: number; ds: number; port: number; requests: number; errors: number; mtls: number; plaintext: number;
  bytes: number; first_seen: number; last_seen: number;
}

/** Edges of the window in key order, after `after`, read lazily. */
export function* edgeRows(store: Store, q: EdgesQuery, after: EdgeKey | undefined = q.cursor, limit = -1): Generator<Keyed<Edge, EdgeKey>> {
  const window = rollupWindow(q.from, q.to);
  const w = rollupWhere(store, window, q);
  if (!w) return;
  const source = rollupSource(window);
  if (after) { w.clauses.push('(e.source_principal_id, e.destination_service_id, e.destination_port) > (?, ?, ?)'); w.params.push(...after); }
  const sql = `SELECT e.source_principal_id AS sp, e.destination_service_id AS ds, e.destination_port AS port,
      sum(e.requests) AS requests, sum(e.errors) AS errors, sum(e.mtls) AS mtls, sum(e.plaintext) AS plaintext,
      sum(e.bytes) AS bytes, min(e.first_seen) AS first_seen, max(e.last_seen) AS last_seen
    FROM ${source.sql} WHERE ${w.clauses.join(' AND ')}
    GROUP BY sp, ds, port ORDER BY sp, ds, port LIMIT ?`;
  const str = (id: number) => (id === 0 ? null : store.strings.value(id));
  for (const r of prepared(store.db, sql).iterate(...source.params, ...w.params, limit) as IterableIterator<EdgeRow>) {
    yield {
      item: {
        source_principal: str(r.sp), destination_service: str(r.ds), destination_port: r.port === -1 ? null : r.port,
        requests: r.requests, errors: r.errors, mtls: r.mtls, plaintext: r.plaintext, unknown: r.requests - r.mtls - r.plaintext,
        bytes: r.bytes, first_seen: new Date(r.first_seen).toISOString(), last_seen: new Date(r.last_seen).toISOString(),
      },
      key: [r.sp, r.ds, r.port],
    };
  }
}

/** A page of the edges of a window, with the window actually covered. */
export function queryEdges(store: Store, q: EdgesQuery): Page<Edge> & { from: string; to: string } {
  const w = rollupWindow(q.from, q.to);
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  const page = pageFrom(edgeRows(store, q, q.cursor, limit + 1), limit, encodeKey);
  return { from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString(), ...page };
}

const METRIC_COLUMN = { requests: 'e.requests', errors: 'e.errors', plaintext: 'e.plaintext' } as const;

/** One metric per step over the window, zeros included. */
export function queryTimeseries(store: Store, q: TimeseriesQuery): Timeseries {
  const step = STEP_MINUTES[q.step] * MINUTE;
  const from = floorTo(q.from, step);
  const to = Math.max(ceilTo(q.to, step), from);
  const window: RollupWindow = { from, to, table: step >= HOUR ? 'edge_rollup_hour' : 'edge_rollup_minute' };
  const values = new Map<number, number>();
  const w = rollupWhere(store, window, q);
  if (w) {
    const sql = `SELECT e.bucket - ((e.bucket % ?) + ?) % ? AS t, sum(${METRIC_COLUMN[q.metric]}) AS v
      FROM ${window.table} e WHERE ${w.clauses.join(' AND ')} GROUP BY t`;
    for (const r of prepared(store.db, sql).all(step, step, step, ...w.params) as { t: number; v: number }[]) values.set(r.t, r.v);
  }
  const points: Timeseries['points'] = [];
  for (let t = from; t < to; t += step) points.push({ t: new Date(t).toISOString(), value: values.get(t) ?? 0 });
  return { metric: q.metric, step: q.step, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points };
}
