/**
 * unexpected-principal: a caller (a principal, or no identity at all) whose request the loaded
 * AuthorizationPolicies do not permit, or that lies outside the learned baseline of edges.
 *
 * Judged on inbound lines at the workload (the enforcement point):
 * - 403 with `rbac_access_denied_matched_policy[...]`: a blocked attempt (medium); the matched
 *   policy is parsed out (`none`: no ALLOW policy matched).
 * - the policies deny it and it was answered 2xx-3xx: the policy is not enforced (high).
 * - an `unknown` evaluation (a needed fact is not in the log): not a finding, counted `undecided`.
 * - allowed by an explicit ALLOW rule: expected (policies seed the baseline).
 * - otherwise, with the baseline enabled: an edge seen during the learning window is expected and
 *   learned (returned in `learned`); after it, an edge never seen is a finding (medium).
 * A caller whose identity the log does not show (mTLS without a logged principal) cannot be
 * compared with the baseline: counted `identity_unknown`.
 */
import { evaluateAuthorization, type AuthorizationDecision } from '../policy/authorization.js';
import { requestFactsFromFlow } from '../policy/request-facts.js';
import { count, isHealthCheck, matchesAllowEntry, part, type DetectorFn, type Observation } from './context.js';
import { isInboundAtWorkload, workloadPort } from './hops.js';
import { callerIp, destinationWorkload, sourceWorkload } from './workload.js';

/** The policy named in Envoy's RBAC denial detail: `ns/name` (rule index apart), `none`, or null. */
export function parseRbacDenied(details: string | null): { policy: string; rule: number | null } | null {
  if (details === null || !details.startsWith('rbac_access_denied')) return null;
  const m = /^rbac_access_denied_matched_policy\[(.*)\]$/.exec(details);
  if (!m) return { policy: 'unknown', rule: null };
  const inner = m[1]!;
  const parts = /^ns\[([^\]]*)\]-policy\[([^\]]*)\]-rule\[(\d+)\]$/.exec(inner);
  if (parts) return { policy: `${parts[1]}/${parts[2]}`, rule: Number(parts[3]) };
  return { policy: inner, rule: null };
}

/** The baseline edge of a caller at a workload port. */
export function edgeKey(caller: string, namespace: string | null, workload: string | null, port: number | null): string {
  return `${caller}|${part(namespace)}|${part(workload)}|${part(port)}`;
}

/** The unexpected-principal detector. */
export const unexpectedPrincipalDetector: DetectorFn = (flows, ctx) => {
  const observations: Observation[] = [];
  const counters: Record<string, number> = {};
  const learned: string[] = [];
  const seen = new Set<string>();
  for (const { id, ts, flow } of flows) {
    if (!isInboundAtWorkload(flow)) continue;
    if (isHealthCheck(flow, ctx.config.health_check_user_agents)) { count(counters, 'health_check'); continue; }
    const principal = flow.mtls === false ? null : flow.source_principal;
    if (principal !== null && ctx.config.allow.principals.some((e) => matchesAllowEntry(e, principal, null))) { count(counters, 'allow_listed'); continue; }
    const w = destinationWorkload(flow, ctx.config.service_labels);
    const port = workloadPort(flow);
    const caller = principal ?? (flow.mtls === false ? 'no-identity' : null);
    // Everything below the verdict is built only for the few flows that become observations.
    const describe = () => {
      const dest = w.namespace !== null && w.name !== null ? `${w.namespace}/${w.name}` : w.service;
      return {
        base: {
          detector: 'unexpected-principal' as const,
          key_source: part(caller ?? 'unknown-identity'),
          key_destination: part(dest),
          source_principal: principal,
          source_workload: sourceWorkload(flow),
          source_namespace: flow.source_namespace,
          destination_service: w.service,
          destination_namespace: w.namespace,
          destination: flow.downstream_local_address,
          destination_port: port,
          flow_id: id,
          ts,
          request_id: flow.request_id,
        },
        who: caller === 'no-identity' ? `a caller without identity (${callerIp(flow) ?? 'unknown address'})` : caller ?? 'a caller of unknown identity',
        where: `${dest ?? 'an unknown workload'}${port !== null ? ` port ${port}` : ''}`,
        request: { method: flow.method, path: flow.path, response_code: flow.response_code, caller_ip: callerIp(flow) },
        labels: { ...(w.labels_from !== null ? { workload_labels_from: w.labels_from } : {}), ...(w.inference !== null ? { workload_inference: w.inference } : {}) },
      };
    };

    const rbac = flow.response_code === 403 ? parseRbacDenied(flow.response_code_details) : null;
    if (rbac !== null) {
      const { base, who, where, request, labels: labelsEvidence } = describe();
      observations.push({
        ...base, severity: 'medium',
        title: `Blocked attempt: ${who} was denied at ${where} by ${rbac.policy === 'none' ? 'the ALLOW policies (no rule matched)' : `policy ${rbac.policy}`}.`,
        evidence: { kind: 'blocked_attempt', matched_policy: rbac.policy, matched_rule: rbac.rule, response_code_details: flow.response_code_details, ...request, ...labelsEvidence },
      });
      continue;
    }

    let d: AuthorizationDecision | null = null;
    if (ctx.policies !== null && w.namespace !== null) {
      d = evaluateAuthorization(ctx.policies, { namespace: w.namespace, labels: w.labels }, requestFactsFromFlow(flow));
    }
    const code = flow.response_code ?? 0;
    if (d !== null && d.decision === 'deny') {
      if (code >= 200 && code < 400) {
        const { base, who, where, request, labels: labelsEvidence } = describe();
        observations.push({
          ...base, severity: 'high',
          title: `Policy not enforced: ${who} was answered ${code} at ${where} although the AuthorizationPolicies deny it.`,
          evidence: { kind: 'policy_not_enforced', decision: d.decision, reason: d.reason, matched: d.matched ?? null, notes: d.notes, ...request, ...labelsEvidence },
        });
      } else count(counters, 'denied_not_answered');
      continue;
    }
    if (d !== null && d.decision === 'unknown') { count(counters, 'undecided'); continue; }
    if (d !== null && d.matched?.action === 'ALLOW') { count(counters, 'allowed_by_rule'); continue; }
    if (!ctx.baseline.enabled) continue;
    if (caller === null) { count(counters, 'identity_unknown'); continue; }
    const edge = edgeKey(caller, w.namespace, w.name, port);
    if (ctx.baseline.learning(ts)) {
      if (!seen.has(edge)) { seen.add(edge); learned.push(edge); }
      continue;
    }
    if (seen.has(edge) || ctx.baseline.has(edge)) continue;
    const { base, who, where, request, labels: labelsEvidence } = describe();
    observations.push({
      ...base, severity: 'medium',
      title: `Unexpected caller: ${who} called ${where}, an edge outside the learned baseline${d === null ? '' : ' and not granted by any ALLOW rule'}.`,
      evidence: { kind: 'outside_baseline', edge, decision: d?.decision ?? 'no policies loaded', reason: d?.reason ?? null, ...request, ...labelsEvidence },
    });
  }
  return { observations, counters, learned };
};
