/** The call graph and time series, both read from the rollups. */
import { EdgeSchema, EdgesPageSchema, EdgesQuerySchema, TimeseriesQuerySchema, TimeseriesSchema } from '../../schemas/api.js';
import { edgeRows, queryEdges, queryTimeseries } from '../store/edges.query.js';
import type { Store } from '../store/store.js';
import { csvColumns } from './csv.js';
import { streamExport } from './export.js';
import { route, type RouteSpec } from './route-spec.js';

const columns = csvColumns(EdgeSchema);

/** The edge and statistics routes over `store`. */
export function edgesRoutes(store: Store): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/edges', access: 'read', query: EdgesQuerySchema,
      summary: 'Edges (source principal, destination service, port) of a time window with requests, errors and mTLS/plaintext/unknown counts.',
      response: EdgesPageSchema, produces: ['application/x-ndjson', 'text/csv'],
      handle: ({ res, query }) => (query.format === 'ndjson' || query.format === 'csv'
        ? streamExport(res, { format: query.format, name: 'edges', columns, rows: (after) => edgeRows(store, query, after), after: query.cursor, limit: query.limit }).then(() => undefined)
        : queryEdges(store, query)),
    }),
    route({
      method: 'get', path: '/api/v1/stats/timeseries', access: 'read', query: TimeseriesQuerySchema,
      summary: 'requests, errors or plaintext flows per step (1m, 5m, 1h, 1d) over a window.',
      response: TimeseriesSchema,
      handle: ({ query }) => queryTimeseries(store, query),
    }),
  ];
}
