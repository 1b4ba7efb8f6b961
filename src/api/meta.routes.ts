/** Routes about the service itself: liveness, the OpenAPI document, the docs page, metrics. */
import { HealthSchema } from '../../schemas/api.js';
import { countRows } from '../store/flows.query.js';
import type { Store } from '../store/store.js';
import type { Registry } from '../telemetry/metrics.js';
import { renderDocs } from './docs.js';
import { route, type RouteSpec } from './route-spec.js';

/** The meta routes; `document` returns the OpenAPI document of every mounted route. */
export function metaRoutes(store: Store, document: () => Record<string, unknown>, metrics: Registry | undefined): RouteSpec[] {
  let docs: ReturnType<typeof renderDocs> | undefined;
  return [
    route({
      method: 'get', path: '/healthz', access: 'public', summary: 'Liveness, with row counts. Never needs a token.', response: HealthSchema,
      handle: () => ({ status: 'ok', ...countRows(store) }),
    }),
    route({
      method: 'get', path: '/api/v1/openapi.json', access: 'read', summary: 'This OpenAPI 3.1 document, generated from the request schemas.',
      handle: () => document(),
    }),
    route({
      method: 'get', path: '/api/docs', access: 'public', summary: 'A human-readable list of the routes (HTML, no scripts).', produces: ['text/html'],
      handle: ({ res }) => {
        docs ??= renderDocs(document());
        res.set('Content-Security-Policy', docs.csp).type('text/html; charset=utf-8').send(docs.html);
      },
    }),
    ...(metrics ? [route({
      method: 'get', path: '/metrics', access: 'read', summary: 'Prometheus metrics (text exposition format 0.0.4).', produces: ['text/plain'],
      handle: ({ res }) => { res.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()); },
    })] : []),
  ];
}
