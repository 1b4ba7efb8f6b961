/** GET /api/v1/quarantine: input that could not be parsed, with reason, raw text and position. */
import { QuarantineEntrySchema, QuarantineQuerySchema, pageOf } from '../../schemas/api.js';
import { queryQuarantine, quarantineRows } from '../store/flows.query.js';
import type { Store } from '../store/store.js';
import { csvColumns } from './csv.js';
import { streamExport } from './export.js';
import { route, type RouteSpec } from './route-spec.js';

const columns = csvColumns(QuarantineEntrySchema);

/** The quarantine routes over `store`. */
export function quarantineRoutes(store: Store): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/quarantine', access: 'read', query: QuarantineQuerySchema,
      summary: 'Quarantined input, oldest first: reason, raw line, source and position.',
      response: pageOf(QuarantineEntrySchema), produces: ['application/x-ndjson', 'text/csv'],
      handle: ({ res, query }) => (query.format === 'ndjson' || query.format === 'csv'
        ? streamExport(res, { format: query.format, name: 'quarantine', columns, rows: (after) => quarantineRows(store, query, after), after: query.cursor, limit: query.limit }).then(() => undefined)
        : queryQuarantine(store, query)),
    }),
  ];
}
