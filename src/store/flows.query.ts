/**
 * Read queries over flows and quarantine. Filters arrive already validated (schemas/api.ts)
 * and are always bound as parameters, never spliced into SQL text: the SQL text is chosen from
 * a fixed set of clauses, so each combination is prepared once and cached. Pagination is by
 * cursor on (ts, id), so a page costs the same however deep it is.
 *
 * Every list has two readers: a page (`query*`) and a lazy row iterator (`*Rows`) that streaming
 * exports pull from. The iterators use better-sqlite3's `.iterate()`; callers must finish or
 * `return()` an iterator before they yield to the event loop, so no statement stays open
 * across ticks on the shared connection.
 */
import type { FlowsQuery, QuarantineQuery, RequestHop, RequestQuery } from '../../schemas/api.js';
import { DEFAULT_PAGE_SIZE, encodeCursor } from '../../schemas/api.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { FLOW_SELECT, requestIdKey, type FlowRow, type StoredFlow } from './flows.repository.js';
import { QuarantineRepository, type QuarantineEntry } from './quarantine.repository.js';
import type { Store } from './store.js';

/** A page of results. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A row of a lazily read list, with the sort key that resumes right after it. */
export interface Keyed<T, K> {
  item: T;
  key: K;
}

/** The (ts, id) sort key of time-ordered lists. */
export interface TimeKey {
  ts: number;
  id: number;
}

const statements = new WeakMap<Db, Map<string, Statement>>();

/**
 * The prepared statement for `sql` on `db`, prepared on first use. Only for SQL assembled from
 * fixed fragments (the number of distinct texts is bounded), never for SQL holding values.
 */
export function prepared(db: Db, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

/** Takes up to `limit` keyed rows and the cursor of the next page (read one row ahead). */
export function pageFrom<T, K>(rows: Iterable<Keyed<T, K>>, limit: number, encode: (key: K) => string): Page<T> {
  const items: T[] = [];
  let lastKey: K | undefined;
  let more = false;
  for (const row of rows) {
    if (items.length === limit) { more = true; break; }
    items.push(row.item);
    lastKey = row.key;
  }
  return { items, next_cursor: more && lastKey !== undefined ? encode(lastKey) : null };
}

/**
 * SQL conditions and their bound values; `null` when the filter cannot match anything.
 * `principals`, when set, holds the caller ids a principal namespace or prefix filter resolved
 * to: the query reads each id's (source_principal_id, ts) index range in time order and merges
 * them (one UNION ALL arm per id), instead of collecting every matching row and sorting it.
 */
interface Where {
  clauses: string[];
  params: unknown[];
  principals?: number[];
}

const whereSql = (w: Where): string => (w.clauses.length ? `WHERE ${w.clauses.join(' AND ')}` : '');

/**
 * Up to this many principal ids get an index arm each; more (a namespace with hundreds of
 * callers) are filtered with IN on the time-ordered scan, which finds a page quickly when the
 * filter matches that much. Arm counts are rounded up to a power of two (padded with the id -1,
 * which no string has) so the number of distinct SQL texts stays small.
 */
const MAX_PRINCIPAL_ARMS = 64;

/** The ids of interned strings matching a principal namespace or prefix filter, ascending. */
function principalIds(store: Store, p: { kind: 'namespace' | 'prefix'; value: string }): number[] {
  const stmt = p.kind === 'namespace'
    // The namespace is a validated DNS label, so it holds no GLOB metacharacters.
    ? prepared(store.db, 'SELECT id FROM strings WHERE value GLOB ? ORDER BY id').pluck()
    // A range on the unique index of strings.value, then an exact prefix test (GLOB would
    // treat `*?[` in the prefix as patterns).
    : prepared(store.db, 'SELECT id FROM strings WHERE value >= ? AND value < ? AND substr(value, 1, ?) = ? ORDER BY id').pluck();
  const args = p.kind === 'namespace' ? [`spiffe://*/ns/${p.value}/*`] : [p.value, `${p.value}\u{10FFFF}`, [...p.value].length, p.value];
  return stmt.all(...args) as number[];
}

/** Row ids per chunk of the request-id index (`id >> 16`, migrations/0009_request_id_chunks.sql). */
const REQUEST_CHUNK_BITS = 16;

/**
 * `f.id IN (the flows carrying the request id bound to ?)`. The request-id index is chunked by row
 * id so ingest writes to one cached stretch of it; a lookup walks the chunks from the oldest
 * stored row to the newest and seeks each (CROSS JOIN keeps the chunks the outer loop: the other
 * order scans the whole index). About 150 seeks at 10M flows.
 */
export const REQUEST_ID_IN = `f.id IN (WITH RECURSIVE chunk(k) AS (
    SELECT (SELECT min(id) FROM flows) >> ${REQUEST_CHUNK_BITS}
    UNION ALL SELECT k + 1 FROM chunk WHERE k < (SELECT max(id) FROM flows) >> ${REQUEST_CHUNK_BITS})
  SELECT r.id FROM chunk CROSS JOIN flows r ON (r.id >> ${REQUEST_CHUNK_BITS}) = chunk.k AND r.request_id_key = ?)`;

/** Builds the WHERE clause of a flows query (without the cursor). */
function flowsWhere(store: Store, q: FlowsQuery): Where | null {
  const w: Where = { clauses: [], params: [] };
  const add = (clause: string, ...params: unknown[]) => { w.clauses.push(clause); w.params.push(...params); };
  if (q.from !== undefined) add('f.ts >= ?', q.from);
  if (q.to !== undefined) add('f.ts < ?', q.to);
  if (q.direction) add('f.direction = ?', q.direction === 'inbound' ? 1 : 2);
  if (q.response_code) {
    if ('code' in q.response_code) add('f.response_code = ?', q.response_code.code);
    else add('f.response_code >= ? AND f.response_code < ?', q.response_code.classOf * 100, q.response_code.classOf * 100 + 100);
  }
  if (q.destination_service !== undefined) {
    const id = store.strings.lookup(q.destination_service);
    if (id === undefined) return null;
    add('f.destination_service_id = ?', id);
  }
  if (q.request_id !== undefined) add(REQUEST_ID_IN, requestIdKey(q.request_id));
  if (q.source_principal) {
    const p = q.source_principal;
    const ids = p.kind === 'exact' ? [store.strings.lookup(p.value)].filter((id) => id !== undefined) : principalIds(store, p);
    if (ids.length === 0) return null;
    if (ids.length === 1) add('f.source_principal_id = ?', ids[0]);
    else if (ids.length <= MAX_PRINCIPAL_ARMS) w.principals = ids;
    // Unary + keeps the planner off the principal index here: many ids mean a broad filter.
    else add('+f.source_principal_id IN (SELECT value FROM json_each(?))', JSON.stringify(ids));
  }
  if (q.namespace !== undefined) {
    const id = store.strings.lookup(q.namespace);
    if (id === undefined) return null;
    add('(f.source_namespace_id = ? OR f.destination_namespace_id = ?)', id, id);
  }
  if (q.response_flag !== undefined) {
    // Flags are stored as one interned comma-joined string; match the flag as a whole element.
    const f = q.response_flag;
    add('f.response_flags_id IN (SELECT id FROM strings WHERE value = ? OR value GLOB ? OR value GLOB ? OR value GLOB ?)', f, `${f},*`, `*,${f}`, `*,${f},*`);
  }
  if (q.mtls === 'true') add('f.mtls = 1');
  else if (q.mtls === 'false') add('f.mtls = 0');
  else if (q.mtls === 'unknown') add('f.mtls IS NULL');
  if (q.reporter_pod !== undefined) {
    // The reporter is stored as interned JSON. CASE guards json_extract from non-JSON strings.
    add(`f.reporter_id IN (SELECT id FROM strings WHERE value GLOB '{*}' AND CASE WHEN json_valid(value) THEN json_extract(value, '$.pod') END = ?)`, q.reporter_pod);
  }
  return w;
}

/** The SQL and parameters reading flows matching `w`, in (ts, id) order (the LIMIT value is bound last). */
function flowsSql(w: Where): { sql: string; params: unknown[] } {
  const from = `FROM flows f JOIN sources s ON s.id = f.source_id`;
  if (!w.principals) return { sql: `SELECT ${FLOW_SELECT} ${from} ${whereSql(w)} ORDER BY f.ts, f.id LIMIT ?`, params: w.params };
  let arms = 2;
  while (arms < w.principals.length) arms *= 2;
  const arm = `SELECT f.ts AS k_ts, f.id AS k_id, ${FLOW_SELECT} ${from} ${whereSql({ clauses: ['f.source_principal_id = ?', ...w.clauses], params: [] })}`;
  const params: unknown[] = [];
  for (let i = 0; i < arms; i++) params.push(w.principals[i] ?? -1, ...w.params);
  // A compound ORDER BY on the arms' own order: SQLite merges the arms instead of sorting.
  return { sql: `${Array(arms).fill(arm).join(' UNION ALL ')} ORDER BY k_ts, k_id LIMIT ?`, params };
}

/** Flows matching `q` after `after`, in (ts, id) order, read lazily. */
export function* flowRows(store: Store, q: FlowsQuery, after: TimeKey | undefined = q.cursor, limit = -1): Generator<Keyed<StoredFlow, TimeKey>> {
  const w = flowsWhere(store, q);
  if (!w) return;
  if (after) { w.clauses.push('(f.ts, f.id) > (?, ?)'); w.params.push(after.ts, after.id); }
  const { sql, params } = flowsSql(w);
  for (const row of prepared(store.db, sql).iterate(...params, limit) as IterableIterator<FlowRow>) {
    yield { item: store.flows.fromRow(row), key: { ts: Number(row.ts), id: row.id } };
  }
}

const timeCursor = (k: TimeKey) => encodeCursor(k.ts, k.id);

/** Lists flows in time order matching `q`. */
export function queryFlows(store: Store, q: FlowsQuery): Page<StoredFlow> {
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  return pageFrom(flowRows(store, q, q.cursor, limit + 1), limit, timeCursor);
}

/** One flow by id, or undefined. */
export function getFlow(store: Store, id: number): StoredFlow | undefined {
  const row = prepared(store.db, `SELECT ${FLOW_SELECT} FROM flows f JOIN sources s ON s.id = f.source_id WHERE f.id = ?`).get(id) as FlowRow | undefined;
  return row ? store.flows.fromRow(row) : undefined;
}

/** Maps a stored flow to its hop view: both sides' identities and the TLS facts. */
function hopOf(f: StoredFlow, hop: number): RequestHop {
  return {
    hop,
    flow_id: f.id,
    start_time: f.start_time,
    reporter: f.reporter,
    direction: f.direction,
    source: { principal: f.source_principal, namespace: f.source_namespace, service_account: f.source_service_account, workload: f.source_workload, address: f.downstream_remote_address },
    destination: {
      principal: f.destination_principal, namespace: f.destination_namespace, service_account: f.destination_service_account,
      workload: f.destination_workload, service: f.destination_service, port: f.destination_port, upstream_host: f.upstream_host,
    },
    tls: { mtls: f.mtls, mtls_evidence: f.mtls_evidence, tls_version: f.tls_version, tls_cipher: f.tls_cipher, requested_server_name: f.requested_server_name },
    method: f.method,
    path: f.path,
    response_code: f.response_code,
    response_flags: f.response_flags,
    duration: f.duration,
  };
}

/** The hops of one request (flows sharing its x-request-id), in time order, read lazily. */
export function* requestHopRows(store: Store, requestId: string, after: TimeKey | undefined, limit = -1): Generator<Keyed<RequestHop, TimeKey>> {
  // The hop number is the row's rank in the whole request, also on later pages.
  let hop = after
    ? (prepared(store.db, `SELECT count(*) AS n FROM flows f WHERE ${REQUEST_ID_IN} AND (f.ts, f.id) <= (?, ?)`).get(requestIdKey(requestId), after.ts, after.id) as { n: number }).n
    : 0;
  for (const row of flowRows(store, { request_id: requestId }, after, limit)) {
    yield { item: hopOf(row.item, ++hop), key: row.key };
  }
}

/** A page of the hops of one request; `undefined` when no flow carries that request id. */
export function queryRequestHops(store: Store, requestId: string, q: RequestQuery): (Page<RequestHop> & { request_id: string }) | undefined {
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  const page = pageFrom(requestHopRows(store, requestId, q.cursor, limit + 1), limit, timeCursor);
  if (page.items.length === 0 && !q.cursor && !requestExists(store, requestId)) return undefined;
  return { request_id: requestId, ...page };
}

/** Whether any flow carries `requestId`. */
export function requestExists(store: Store, requestId: string): boolean {
  return prepared(store.db, `SELECT 1 FROM flows f WHERE ${REQUEST_ID_IN} LIMIT 1`).get(requestIdKey(requestId)) !== undefined;
}

/** Quarantined records matching `q` after `after`, oldest first, read lazily. */
export function* quarantineRows(store: Store, q: QuarantineQuery, after: TimeKey | undefined = q.cursor, limit = -1): Generator<Keyed<QuarantineEntry, TimeKey>> {
  const w: Where = { clauses: [], params: [] };
  if (q.reason !== undefined) { w.clauses.push('q.reason = ?'); w.params.push(q.reason); }
  if (after) { w.clauses.push('(q.received_at, q.id) > (?, ?)'); w.params.push(after.ts, after.id); }
  const sql = `SELECT q.*, s.key AS source_key, s.label AS source_label FROM quarantine q JOIN sources s ON s.id = q.source_id
    ${whereSql(w)} ORDER BY q.received_at, q.id LIMIT ?`;
  for (const row of prepared(store.db, sql).iterate(...w.params, limit) as IterableIterator<Record<string, unknown>>) {
    yield { item: QuarantineRepository.fromRow(row), key: { ts: Number(row.received_at), id: Number(row.id) } };
  }
}

/** Lists quarantined records, oldest first. */
export function queryQuarantine(store: Store, q: QuarantineQuery): Page<QuarantineEntry> {
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  return pageFrom(quarantineRows(store, q, q.cursor, limit + 1), limit, timeCursor);
}

/** Row counts, for /healthz and the CLI summary. */
export function countRows(store: Store): { flows: number; quarantine: number } {
  const one = (sql: string) => (prepared(store.db, sql).get() as { n: number }).n;
  return { flows: one('SELECT count(*) AS n FROM flows'), quarantine: one('SELECT count(*) AS n FROM quarantine') };
}
