/**
 * Findings routes: GET /api/v1/findings (filters, cursor pagination), GET /api/v1/findings/{id}
 * (with its sample flows), PATCH /api/v1/findings/{id} (status + reason; a resolve writes its
 * outbox event in the same transaction), GET /api/v1/detectors/counters (coverage gaps and
 * undecided evaluations the detectors counted instead of reporting).
 *
 * `findingsRoutes` returns route specs for `createApp({ extraRoutes })` (documented in OpenAPI,
 * guarded like the built-in routes); `findingsRouter` mounts the same specs on a bare Router.
 */
import express, { type Router } from 'express';
import {
  DetectorCountersSchema, FindingDetailSchema, FindingIdParamsSchema, FindingPatchSchema, FindingsPageSchema, FindingsQuerySchema,
} from '../../schemas/findings-api.js';
import { FindingSchema } from '../../schemas/finding.js';
import { DEFAULT_PAGE_SIZE } from '../../schemas/api.js';
import { getFlow } from '../store/flows.query.js';
import { FindingsRepository } from '../store/findings.repository.js';
import type { Store } from '../store/store.js';
import { problem } from './problem.js';
import { mountRoutes, route, type RouteSpec } from './route-spec.js';

/** The findings routes over `store`. */
export function findingsRoutes(store: Store, findings: FindingsRepository = new FindingsRepository(store.db)): RouteSpec[] {
  const notFound = (id: string) => problem(404, 'Not Found', `no finding with id ${id}`);
  return [
    route({
      method: 'get', path: '/api/v1/findings', access: 'read', query: FindingsQuerySchema, response: FindingsPageSchema,
      summary: 'Findings, most recently seen first; filter by detector, severity, status, caller, destination and time.',
      handle: ({ query }) => findings.list({ ...query, limit: query.limit ?? DEFAULT_PAGE_SIZE }),
    }),
    route({
      method: 'get', path: '/api/v1/detectors/counters', access: 'read', response: DetectorCountersSchema,
      summary: 'What the detectors counted instead of reporting: unknown mTLS verdicts (coverage gaps), undecided policy evaluations, health checks, allow-listed traffic.',
      handle: () => findings.counters(),
    }),
    route({
      method: 'get', path: '/api/v1/findings/{id}', access: 'read', params: FindingIdParamsSchema, response: FindingDetailSchema,
      summary: 'One finding with its sample flows.',
      handle: ({ params }) => {
        const f = findings.get(params.id);
        if (f === undefined) throw notFound(params.id);
        const sample_flows = f.sample_flow_ids.map((id) => getFlow(store, id)).filter((x) => x !== undefined);
        return { ...f, sample_flows };
      },
    }),
    route({
      method: 'patch', path: '/api/v1/findings/{id}', access: 'admin', params: FindingIdParamsSchema, body: FindingPatchSchema, response: FindingSchema,
      summary: 'Changes a finding\'s status: acknowledged, resolved or suppressed (with a reason), or open again.',
      handle: ({ params, body }) => {
        const f = findings.setStatus(params.id, body.status, body.reason ?? null);
        if (f === undefined) throw notFound(params.id);
        return f;
      },
    }),
  ];
}

/** The findings routes on a bare Router (JSON body parsing included, no auth). */
export function findingsRouter(store: Store, findings?: FindingsRepository): Router {
  const router = express.Router();
  router.use(express.json({ limit: 64 * 1024 }));
  mountRoutes(router, findingsRoutes(store, findings), () => []);
  return router;
}
