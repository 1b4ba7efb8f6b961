/**
 * A sink's `flows:` filter as SQL conditions over `flows f`, with the meaning the same words have
 * in `GET /api/v1/flows` (mtls true/false/unknown, direction, namespace = source or destination,
 * response_code = a code or a class). The SQL text comes from fixed fragments only (values are
 * bound), so the few combinations are prepared once. Pure apart from the string lookup.
 */
import { ResponseCodeFilterSchema } from '../../schemas/api.js';
import type { SinkFlowsFilter } from '../../schemas/sinks-config.js';

/** SQL conditions (joined with AND by the caller) and their bound values. */
export interface FlowFilterSql {
  clauses: string[];
  params: unknown[];
}

/** Stored codes of flows.mtls and flows.direction (migration 0001). */
const MTLS_SQL = { true: 'f.mtls = 1', false: 'f.mtls = 0', unknown: 'f.mtls IS NULL' } as const;
const DIRECTION_CODE = { inbound: 1, outbound: 2 } as const;

/**
 * The conditions of `filter`; `null` when nothing can match right now (a namespace no flow has
 * carried yet: no flow can reference a string that is not interned). `lookup` is the interned
 * id of a string, if it exists.
 */
export function flowFilterSql(filter: SinkFlowsFilter, lookup: (value: string) => number | undefined): FlowFilterSql | null {
  const w: FlowFilterSql = { clauses: [], params: [] };
  if (filter.mtls && filter.mtls.length < 3) {
    w.clauses.push(`(${filter.mtls.map((v) => MTLS_SQL[v]).join(' OR ')})`);
  }
  if (filter.direction) {
    w.clauses.push('f.direction = ?');
    w.params.push(DIRECTION_CODE[filter.direction]);
  }
  if (filter.response_code !== undefined) {
    const rc = ResponseCodeFilterSchema.parse(filter.response_code);
    if ('code' in rc) {
      w.clauses.push('f.response_code = ?');
      w.params.push(rc.code);
    } else {
      w.clauses.push('f.response_code >= ? AND f.response_code < ?');
      w.params.push(rc.classOf * 100, rc.classOf * 100 + 100);
    }
  }
  if (filter.namespace !== undefined) {
    const id = lookup(filter.namespace);
    if (id === undefined) return null;
    w.clauses.push('(f.source_namespace_id = ? OR f.destination_namespace_id = ?)');
    w.params.push(id, id);
  }
  return w;
}
