/**
 * policy-pitfall: an AuthorizationPolicy that uses mTLS-only fields (`principals`, `namespaces`,
 * `serviceAccounts`, their `not*` forms, `source.principal`/`source.namespace` conditions) on a
 * workload that receives plaintext. Plaintext carries no peer identity, so those fields silently
 * never match it (ISTIO-SECURITY-2021-004):
 * - DENY with a positive field -> the DENY never fires for plaintext callers (high);
 * - ALLOW with a negated field -> `notPrincipals` matches every plaintext caller (high);
 * - ALLOW with a positive field / DENY with a negated one -> fails closed (low: legitimate
 *   plaintext callers are refused, which is at least safe).
 * One observation per (plaintext line, applicable policy); the key is policy + workload + port.
 */
import type { AuthorizationPolicy } from '../../schemas/istio-policy.js';
import type { Severity } from '../../schemas/finding.js';
import { candidatePolicies } from '../policy/authorization.js';
import type { CompiledPolicySet } from '../policy/compile.js';
import { count, isHealthCheck, part, type DetectorFn, type Observation } from './context.js';
import { isInboundAtWorkload, workloadPort } from './hops.js';
import { callerIp, destinationWorkload } from './workload.js';

/** The mTLS-only fields a policy uses, positive and negated. */
interface MtlsFieldUse {
  positive: string[];
  negative: string[];
}

const POSITIVE = ['principals', 'namespaces', 'serviceAccounts'] as const;
const NEGATIVE = ['notPrincipals', 'notNamespaces', 'notServiceAccounts'] as const;

/** The mTLS-only fields `p` uses (pure; exported for tests and replay). */
export function mtlsOnlyFields(p: AuthorizationPolicy): MtlsFieldUse {
  const positive = new Set<string>();
  const negative = new Set<string>();
  for (const rule of p.spec.rules ?? []) {
    for (const { source } of rule.from ?? []) {
      const s = source as Record<string, unknown>;
      for (const f of POSITIVE) if (Array.isArray(s[f]) && (s[f] as unknown[]).length > 0) positive.add(f);
      for (const f of NEGATIVE) if (Array.isArray(s[f]) && (s[f] as unknown[]).length > 0) negative.add(f);
    }
    for (const c of rule.when ?? []) {
      if (c.key !== 'source.principal' && c.key !== 'source.namespace') continue;
      if ((c.values ?? []).length > 0) positive.add(`when ${c.key}`);
      if ((c.notValues ?? []).length > 0) negative.add(`when ${c.key} notValues`);
    }
  }
  return { positive: [...positive], negative: [...negative] };
}

const cache = new WeakMap<CompiledPolicySet, Map<string, { policy: AuthorizationPolicy; use: MtlsFieldUse }>>();

/** Policies (by id) that use mTLS-only fields, computed once per compiled set. */
function pitfallPolicies(set: CompiledPolicySet): Map<string, { policy: AuthorizationPolicy; use: MtlsFieldUse }> {
  let m = cache.get(set);
  if (m !== undefined) return m;
  m = new Map();
  for (const p of set.source.authorizationPolicies) {
    const use = mtlsOnlyFields(p);
    if (use.positive.length + use.negative.length > 0) m.set(`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, { policy: p, use });
  }
  cache.set(set, m);
  return m;
}

/** The policy-pitfall detector. */
export const policyPitfallDetector: DetectorFn = (flows, ctx) => {
  const observations: Observation[] = [];
  const counters: Record<string, number> = {};
  if (ctx.policies === null) return { observations, counters };
  const pitfalls = pitfallPolicies(ctx.policies);
  if (pitfalls.size === 0) return { observations, counters };
  for (const { id, ts, flow } of flows) {
    if (flow.mtls !== false || !isInboundAtWorkload(flow)) continue;
    if (isHealthCheck(flow, ctx.config.health_check_user_agents)) { count(counters, 'health_check'); continue; }
    const w = destinationWorkload(flow, ctx.config.service_labels);
    if (w.namespace === null) { count(counters, 'namespace_unknown'); continue; }
    const port = workloadPort(flow);
    for (const c of candidatePolicies(ctx.policies, w.namespace)) {
      const hit = pitfalls.get(c.id);
      if (hit === undefined || c.dryRun || c.targets !== null) continue;
      if (c.action !== 'ALLOW' && c.action !== 'DENY') continue;
      let selectorNote: string | null = null;
      if (c.selector !== null) {
        if (w.labels === null) selectorNote = 'workload labels unknown: the selector may not select this workload';
        else if (!Object.entries(c.selector).every(([k, v]) => w.labels![k] === v)) continue;
      }
      const { positive, negative } = hit.use;
      let severity: Severity;
      let effect: string;
      if (c.action === 'DENY' && positive.length > 0) {
        severity = 'high';
        effect = `its DENY rules on ${positive.join(', ')} never match plaintext callers, so they are not denied`;
      } else if (c.action === 'ALLOW' && negative.length > 0) {
        severity = 'high';
        effect = `its ALLOW rules on ${negative.join(', ')} match every plaintext caller, so they are allowed`;
      } else if (c.action === 'ALLOW') {
        severity = 'low';
        effect = `its ALLOW rules on ${positive.join(', ')} never match plaintext callers, so they are refused (fails closed)`;
      } else {
        severity = 'low';
        effect = `its DENY rules on ${negative.join(', ')} match every plaintext caller, so they are refused (fails closed)`;
      }
      const dest = w.name !== null ? `${w.namespace}/${w.name}` : w.service;
      observations.push({
        detector: 'policy-pitfall',
        severity,
        title: `AuthorizationPolicy ${c.id} uses mTLS-only fields on ${dest ?? 'a workload'}${port !== null ? ` port ${port}` : ''}, which receives plaintext: ${effect}.`,
        key_source: `policy:${c.id}`,
        key_destination: part(dest),
        source_principal: null,
        source_workload: null,
        source_namespace: null,
        destination_service: w.service,
        destination_namespace: w.namespace,
        destination: flow.downstream_local_address,
        destination_port: port,
        evidence: {
          policy: c.id, action: c.action, mtls_only_fields: positive, negated_mtls_only_fields: negative,
          advisory: 'ISTIO-SECURITY-2021-004', plaintext_caller_ip: callerIp(flow), mtls_evidence: flow.mtls_evidence,
          ...(selectorNote !== null ? { selector_note: selectorNote } : {}),
          ...(w.inference !== null ? { workload_inference: w.inference } : {}),
        },
        flow_id: id,
        ts,
        request_id: flow.request_id,
      });
    }
  }
  return { observations, counters };
};
