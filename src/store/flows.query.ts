/**
 * Read queries over flows and quarantine. Filters arrive already validated (schemas/api.ts)
 * and are always bound as parameters, never spliced into SQL text. Pagination is by cursor on
 * (ts, id), so a page costs the same however deep it is.
 */
import type { FlowsQuery, QuarantineQuery } from '../../schemas/api.js';
import { encodeCursor } from '../../schemas/api.js';
import { FLOW_SELECT, type FlowRow, type StoredFlow } from './flows.repository.js';
import { QuarantineRepository, type QuarantineEntry } from './quarantine.repository.js';
import type { Store } from './store.js';

/** A page of results. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Lists flows in time order matching `q`. */
export function queryFlows(store: Store, q: FlowsQuery): Page<StoredFlow> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.from !== undefined) { where.push('f.ts >= ?'); params.push(q.from); }
  if (q.to !== undefined) { where.push('f.ts < ?'); params.push(q.to); }
  if (q.direction) { where.push('f.direction = ?'); params.push(q.direction === 'inbound' ? 1 : 2); }
  if (q.response_code) {
    if ('code' in q.response_code) { where.push('f.response_code = ?'); params.push(q.response_code.code); }
    else { where.push('f.response_code >= ? AND f.response_code < ?'); params.push(q.response_code.classOf * 100, q.response_code.classOf * 100 + 100); }
  }
  if (q.destination_service !== undefined) {
    const id = store.strings.lookup(q.destination_service);
    if (id === undefined) return { items: [], next_cursor: null };
    where.push('f.destination_service_id = ?');
    params.push(id);
  }
  if (q.request_id !== undefined) { where.push('f.request_id = ?'); params.push(q.request_id); }
  if (q.cursor) { where.push('(f.ts, f.id) > (?, ?)'); params.push(q.cursor.ts, q.cursor.id); }
  const sql = `SELECT ${FLOW_SELECT} FROM flows f JOIN sources s ON s.id = f.source_id
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY f.ts, f.id LIMIT ?`;
  params.push(q.limit + 1);
  const rows = store.db.prepare(sql).all(...params) as FlowRow[];
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map((r) => store.flows.fromRow(r)),
    next_cursor: more && last ? encodeCursor(Number(last.ts), last.id) : null,
  };
}

/** Lists quarantined records, oldest first. */
export function queryQuarantine(store: Store, q: QuarantineQuery): Page<QuarantineEntry> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.reason !== undefined) { where.push('q.reason = ?'); params.push(q.reason); }
  if (q.cursor) { where.push('(q.received_at, q.id) > (?, ?)'); params.push(q.cursor.ts, q.cursor.id); }
  const sql = `SELECT q.*, s.key AS source_key, s.label AS source_label FROM quarantine q JOIN sources s ON s.id = q.source_id
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY q.received_at, q.id LIMIT ?`;
  params.push(q.limit + 1);
  const rows = store.db.prepare(sql).all(...params) as Record<string, unknown>[];
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map((r) => QuarantineRepository.fromRow(r)),
    next_cursor: more && last ? encodeCursor(Number(last.received_at), Number(last.id)) : null,
  };
}

/** Row counts, for /healthz and the CLI summary. */
export function countRows(store: Store): { flows: number; quarantine: number } {
  const one = (sql: string) => (store.db.prepare(sql).get() as { n: number }).n;
  return { flows: one('SELECT count(*) AS n FROM flows'), quarantine: one('SELECT count(*) AS n FROM quarantine') };
}
