/** GET /api/v1/principals: identities seen as caller or server, with namespace and first/last seen. */
import { PrincipalSchema, PrincipalsQuerySchema, pageOf } from '../../schemas/api.js';
import { principalRows, queryPrincipals } from '../store/principals.query.js';
import type { Store } from '../store/store.js';
import { csvColumns } from './csv.js';
import { streamExport } from './export.js';
import { route, type RouteSpec } from './route-spec.js';

const columns = csvColumns(PrincipalSchema);

/** The principal routes over `store`. */
export function principalsRoutes(store: Store): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/principals', access: 'read', query: PrincipalsQuerySchema,
      summary: 'Identities seen (as source and as destination), per namespace, with first and last sighting.',
      response: pageOf(PrincipalSchema), produces: ['application/x-ndjson', 'text/csv'],
      handle: ({ res, query }) => (query.format === 'ndjson' || query.format === 'csv'
        ? streamExport(res, { format: query.format, name: 'principals', columns, rows: (after) => principalRows(store, query, after), after: query.cursor, limit: query.limit }).then(() => undefined)
        : queryPrincipals(store, query)),
    }),
  ];
}
