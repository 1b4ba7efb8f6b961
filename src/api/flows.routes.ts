/**
 * Flows: the filtered, cursor-paginated list (and its ndjson/csv export), one flow by id, and
 * every hop of one request.
 */
import { z } from 'zod';
import { HopsSchema } from '../../schemas/hop.js';
import { joinHops } from '../enrich/hop-join.js';
import {
  FlowIdParamsSchema, FlowsQuerySchema, RequestHopSchema, RequestHopsPageSchema, RequestParamsSchema, RequestQuerySchema,
  StoredFlowSchema, pageOf,
} from '../../schemas/api.js';
import type { FlowsQuery } from '../../schemas/api.js';
import { flowRows, getFlow, queryFlows, queryRequestHops, requestExists, requestHopRows } from '../store/flows.query.js';
import type { Store } from '../store/store.js';
import { csvColumns } from './csv.js';
import { streamExport } from './export.js';
import { problem } from './problem.js';
import { route, type RouteSpec } from './route-spec.js';

const EXPORTS = ['application/x-ndjson', 'text/csv'];
const flowColumns = csvColumns(StoredFlowSchema);
const hopColumns = csvColumns(RequestHopSchema);

/** The flow routes over `store`. */
const MAX_JOINED_LINES = 1000;
const RequestJoinedHopsSchema = z.object({ request_id: z.string(), truncated: z.boolean(), hops: HopsSchema });

export function flowsRoutes(store: Store): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/flows', access: 'read', query: FlowsQuerySchema,
      summary: 'Flows in time order, filtered; one page, or every match as ndjson/csv.',
      response: pageOf(StoredFlowSchema), produces: EXPORTS,
      handle: ({ res, query }) => (query.format === 'ndjson' || query.format === 'csv'
        ? streamExport(res, { format: query.format, name: 'flows', columns: flowColumns, rows: (after) => flowRows(store, query, after), after: query.cursor, limit: query.limit }).then(() => undefined)
        : queryFlows(store, query)),
    }),
    route({
      method: 'get', path: '/api/v1/flows/{id}', access: 'read', params: FlowIdParamsSchema,
      summary: 'One flow by id.', response: StoredFlowSchema,
      handle: ({ params }) => {
        const flow = getFlow(store, params.id);
        if (!flow) throw problem(404, 'Not Found', `no flow with id ${params.id}`);
        return flow;
      },
    }),
    route({
      method: 'get', path: '/api/v1/requests/{request_id}', access: 'read', params: RequestParamsSchema, query: RequestQuerySchema,
      summary: 'Every hop of one request (flows sharing its x-request-id) in time order, with both sides\' principals and TLS facts.',
      response: RequestHopsPageSchema, produces: EXPORTS,
      handle: ({ res, params, query }) => {
        if (query.format === 'ndjson' || query.format === 'csv') {
          if (!requestExists(store, params.request_id)) throw problem(404, 'Not Found', 'no flow carries this request id');
          return streamExport(res, { format: query.format, name: 'request', columns: hopColumns, rows: (after) => requestHopRows(store, params.request_id, after), after: query.cursor, limit: query.limit })
            .then(() => undefined);
        }
        const page = queryRequestHops(store, params.request_id, query);
        if (!page) throw problem(404, 'Not Found', 'no flow carries this request id');
        return page;
      },
    }),
    route({
      method: 'get', path: '/api/v1/requests/{request_id}/hops', access: 'read', params: RequestParamsSchema,
      summary: 'The request\'s hops joined: each client-side (outbound) line paired with the server-side (inbound) line of the same call, both views side by side.',
      response: RequestJoinedHopsSchema,
      handle: ({ params }) => {
        // A request has a handful of hops; the cap bounds a hostile id shared by many lines.
        const flows = [...flowRows(store, { request_id: params.request_id, limit: MAX_JOINED_LINES } as FlowsQuery, undefined, MAX_JOINED_LINES)].map((r) => r.item);
        if (flows.length === 0) throw problem(404, 'Not Found', 'no flow carries this request id');
        return { request_id: params.request_id, truncated: flows.length >= MAX_JOINED_LINES, hops: joinHops(flows) };
      },
    }),
  ];
}
