/**
 * Read queries over the principals rollup: every identity seen as caller or server, per
 * namespace, with first and last sighting. Reads principal_rollup only, never flows.
 */
import type { Principal, PrincipalsQuery } from '../../schemas/api.js';
import { DEFAULT_PAGE_SIZE, encodeKey } from '../../schemas/api.js';
import { pageFrom, prepared, type Keyed, type Page } from './flows.query.js';
import type { Store } from './store.js';

/** The (principal, namespace id) sort key of /principals. */
export type PrincipalKey = [string, number];

/**
 * Principals matching `q` in principal order, after `after`, read lazily. `from`/`to` keep the
 * principals whose [first_seen, last_seen] overlaps the window.
 */
export function* principalRows(store: Store, q: PrincipalsQuery, after: PrincipalKey | undefined = q.cursor, limit = -1): Generator<Keyed<Principal, PrincipalKey>> {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (q.namespace !== undefined) {
    const id = store.strings.lookup(q.namespace);
    if (id === undefined) return;
    clauses.push('p.namespace_id = ?');
    params.push(id);
  }
  if (q.from !== undefined) { clauses.push('p.last_seen >= ?'); params.push(q.from); }
  if (q.to !== undefined) { clauses.push('p.first_seen < ?'); params.push(q.to); }
  if (q.role === 'source') clauses.push('p.as_source > 0');
  if (q.role === 'destination') clauses.push('p.as_destination > 0');
  if (after) { clauses.push('(s.value, p.namespace_id) > (?, ?)'); params.push(...after); }
  const sql = `SELECT s.value AS principal, p.namespace_id, p.as_source, p.as_destination, p.first_seen, p.last_seen
    FROM principal_rollup p JOIN strings s ON s.id = p.principal_id
    ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY s.value, p.namespace_id LIMIT ?`;
  type Row = { principal: string; namespace_id: number; as_source: number; as_destination: number; first_seen: number; last_seen: number };
  for (const r of prepared(store.db, sql).iterate(...params, limit) as IterableIterator<Row>) {
    yield {
      item: {
        principal: r.principal, namespace: r.namespace_id === 0 ? null : store.strings.value(r.namespace_id),
        as_source: r.as_source, as_destination: r.as_destination,
        first_seen: new Date(r.first_seen).toISOString(), last_seen: new Date(r.last_seen).toISOString(),
      },
      key: [r.principal, r.namespace_id],
    };
  }
}

/** A page of principals. */
export function queryPrincipals(store: Store, q: PrincipalsQuery): Page<Principal> {
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  return pageFrom(principalRows(store, q, q.cursor, limit + 1), limit, encodeKey);
}
