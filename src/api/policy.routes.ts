/**
 * POST /api/v1/policy/replay: evaluates stored flows against a candidate AuthorizationPolicy set
 * and answers what it would deny that was allowed, and allow that was denied.
 *
 * Safety: the candidate comes inline (`policies_yaml`, bounded by the body limit) or, only when
 * the operator configured `detectors.replay_policies_dir`, from that one directory
 * (`"policies": "configured"`). The API never reads a path a client names. A candidate with
 * refused documents is a 400 naming them: a replay of half a policy set would mislead.
 */
import express, { type Router } from 'express';
import { ReplayRequestSchema, ReplayResponseSchema } from '../../schemas/findings-api.js';
import type { DetectorsConfig } from '../../schemas/detectors-config.js';
import { buildPolicySet, loadPolicies, parsePolicyDocuments, type PolicyProblem } from '../policy/load.js';
import { replayPolicies } from '../detect/replay.js';
import type { Store } from '../store/store.js';
import { ProblemError } from './problem.js';
import { mountRoutes, route, type RouteSpec } from './route-spec.js';

/** Options of {@link policyRoutes}. */
export interface PolicyRoutesOptions {
  /** The only server-side directory a replay may read (config `detectors.replay_policies_dir`). */
  replayPoliciesDir?: string | null;
  serviceLabels?: DetectorsConfig['service_labels'];
  /** Most flows one request scans (it runs on the event loop). Default 200 000. */
  maxFlows?: number;
}

function invalid(parameter: string, messages: string[]): ProblemError {
  return new ProblemError({
    type: 'https://meshtrail.dev/problems/invalid-parameter', title: 'Invalid request parameter', status: 400,
    detail: messages.map((m) => `${parameter}: ${m}`).join('; '), errors: messages.map((message) => ({ parameter, message })),
  });
}

const describe = (p: PolicyProblem) => `document ${p.document}${p.path ? ` ${p.path}` : ''}: ${p.message}`;

/** The policy routes over `store`. */
export function policyRoutes(store: Store, options: PolicyRoutesOptions = {}): RouteSpec[] {
  return [
    route({
      method: 'post', path: '/api/v1/policy/replay', access: 'admin', body: ReplayRequestSchema, response: ReplayResponseSchema,
      summary: 'Replays stored inbound flows against candidate AuthorizationPolicies: what they would deny that was allowed, and allow that was denied.',
      handle: ({ body }) => {
        let problems: PolicyProblem[];
        let policies;
        if (body.policies_yaml !== undefined) {
          const parsed = parsePolicyDocuments(body.policies_yaml, 'policies_yaml');
          const built = buildPolicySet(parsed.resources);
          problems = [...parsed.problems, ...built.problems];
          policies = built.policies;
          const errors = problems.filter((p) => p.severity === 'error');
          if (errors.length > 0) throw invalid('policies_yaml', errors.map(describe));
        } else {
          const dir = options.replayPoliciesDir ?? null;
          if (dir === null) throw invalid('policies', ['no server-side policy directory is configured (detectors.replay_policies_dir); send policies_yaml']);
          const loaded = loadPolicies(dir);
          problems = loaded.problems;
          policies = loaded.policies;
        }
        const report = replayPolicies(store, policies, { from: body.from, to: body.to, maxFlows: options.maxFlows ?? 200_000, serviceLabels: options.serviceLabels ?? {} });
        return {
          ...report,
          // File paths of the server's directory are not the client's business.
          problems: problems.map((p) => ({ document: p.document, severity: p.severity, kind: p.kind, resource: p.resource, path: p.path, message: p.message })),
        };
      },
    }),
  ];
}

/** The policy routes on a bare Router (JSON body parsing included, no auth). */
export function policyRouter(store: Store, options: PolicyRoutesOptions = {}): Router {
  const router = express.Router();
  router.use(express.json({ limit: 64 * 1024 }));
  mountRoutes(router, policyRoutes(store, options), () => []);
  return router;
}
