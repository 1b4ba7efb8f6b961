/**
 * `GET /api/v1/coverage?from&to`: what the stored flows let meshtrail prove, per reporter kind
 * and direction (flows by mTLS verdict and evidence kind, share with principals, formats seen).
 *
 * Exported two ways: `coverageRoutes(store)` for the app's route table (mounted and documented in
 * OpenAPI like every other route, via `AppDeps.extraRoutes` or the list in app.ts), and
 * `coverageRouter(store)` as a ready express Router for mounting after the app's `/api/v1`
 * authentication (it adds no guard of its own).
 */
import express, { type Router } from 'express';
import { CoverageQuerySchema, CoverageResponseSchema } from '../../schemas/coverage-api.js';
import { queryCoverage } from '../store/coverage.query.js';
import type { Store } from '../store/store.js';
import { mountRoutes, route, type RouteSpec } from './route-spec.js';

/** The coverage route over `store`, as a route-table entry. */
export function coverageRoutes(store: Store): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/coverage', access: 'read', query: CoverageQuerySchema,
      summary: 'Identity/TLS coverage of the stored flows in a window: per reporter kind and direction, flows by mTLS verdict and evidence kind, share with principals, formats seen.',
      response: CoverageResponseSchema,
      handle: ({ query }) => queryCoverage(store, query),
    }),
  ];
}

/** An express Router serving {@link coverageRoutes}; the query is validated with `validateQuery` (400 problem+json). */
export function coverageRouter(store: Store): Router {
  const router = express.Router();
  mountRoutes(router, coverageRoutes(store), () => []);
  return router;
}
