/**
 * GET /api/v1/sinks: each SIEM sink's delivery state (cursor, lag in events, last success, last
 * error, parked reason), so an operator sees a rejected token or a receiver that is down
 * without reading logs. Exported both as an express Router (mount it on the app) and as a
 * RouteSpec (for `createApp({ extraRoutes })`, which also documents it in OpenAPI).
 */
import { Router } from 'express';
import { SinksStatusResponseSchema, type SinkStatus } from '../../schemas/sinks-config.js';
import { route, type RouteSpec } from './route-spec.js';

/** The slice of the dispatcher the route needs. */
export interface SinkStatusSource {
  status(): SinkStatus[];
}

/** The body of GET /api/v1/sinks. */
export function sinksBody(source: SinkStatusSource): { items: SinkStatus[] } {
  return { items: source.status() };
}

/** An express Router serving `GET /api/v1/sinks` (mount at the app root, behind the API auth). */
export function sinksRouter(source: SinkStatusSource): Router {
  const router = Router();
  router.get('/api/v1/sinks', (_req, res) => { res.json(sinksBody(source)); });
  return router;
}

/** The same route as a RouteSpec, for `createApp({ extraRoutes: sinksRoutes(dispatcher) })`. */
export function sinksRoutes(source: SinkStatusSource): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/sinks', access: 'read',
      summary: 'Delivery state of every SIEM sink: cursor, lag, last success, last error, parked reason.',
      response: SinksStatusResponseSchema,
      handle: () => sinksBody(source),
    }),
  ];
}
