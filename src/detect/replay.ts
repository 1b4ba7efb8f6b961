/**
 * Policy replay: evaluate stored flows against a candidate AuthorizationPolicy set and report
 * what would change: requests it would deny that were allowed, and requests it would allow that
 * were denied (Envoy's RBAC 403), grouped by caller, destination, method/path and port.
 *
 * Only inbound lines at a workload are judged (that is where the policies are enforced). An
 * `unknown` evaluation (a fact the log lacks) is reported as undecided, never guessed. The
 * historical outcome is "denied" for a 403 with `rbac_access_denied*` details, "allowed"
 * otherwise. The scan is bounded (`maxFlows`); `truncated` says when it stopped early.
 */
import type { Flow } from '../../schemas/flow.js';
import type { DetectorsConfig } from '../../schemas/detectors-config.js';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { evaluateAuthorization } from '../policy/authorization.js';
import { compiledPolicySet, type CompiledPolicySet } from '../policy/compile.js';
import { policySetDigest } from '../policy/load.js';
import { requestFactsFromFlow } from '../policy/request-facts.js';
import { flowRows } from '../store/flows.query.js';
import type { Store } from '../store/store.js';
import { isInboundAtWorkload, workloadPort } from './hops.js';
import { parseRbacDenied } from './unexpected-principal.detector.js';
import { callerIp, destinationWorkload } from './workload.js';

/** One group of requests whose outcome the candidate would change. */
export interface ReplayGroup {
  /** Caller principal, or `no-identity` (plaintext), or `unknown-identity`. */
  caller: string;
  source_principal: string | null;
  destination: string;
  destination_namespace: string | null;
  method: string | null;
  path: string | null;
  port: number | null;
  count: number;
  first_seen: string;
  last_seen: string;
  sample_flow_ids: number[];
  /** Why the candidate decides as it does (the evaluator's sentence), latest flow. */
  reason: string;
  /** The rule that decided, when one did. */
  matched: string | null;
  /** Caller IPs seen (bounded), useful for plaintext callers. */
  caller_ips: string[];
}

/** The replay result. */
export interface ReplayReport {
  policy_digest: string;
  from: string | null;
  to: string | null;
  flows_scanned: number;
  evaluated: number;
  truncated: boolean;
  /** Allowed then, denied by the candidate: what the candidate would break. */
  would_deny: ReplayGroup[];
  /** Denied then, allowed by the candidate. */
  would_allow: ReplayGroup[];
  /** Evaluations the log could not decide, grouped the same way. */
  undecided: ReplayGroup[];
  /** `unresolved`: inbound requests whose workload namespace the log does not tell (not evaluated). */
  totals: { would_deny: number; would_allow: number; undecided: number; unchanged_allowed: number; unchanged_denied: number; unresolved: number };
}

/** Options of {@link replayPolicies}. */
export interface ReplayOptions {
  from?: number | undefined;
  to?: number | undefined;
  maxFlows?: number;
  /** Most groups per list. */
  maxGroups?: number;
  serviceLabels?: DetectorsConfig['service_labels'];
}

type Acc = ReplayGroup & { first: number; last: number };

/** Replays `flows` (pure): the core of {@link replayPolicies}. */
export function replayFlows(
  flows: Iterable<{ id: number; ts: number; flow: Flow }>,
  candidate: PolicySet | CompiledPolicySet,
  options: ReplayOptions = {},
): Omit<ReplayReport, 'from' | 'to' | 'policy_digest'> {
  const compiled = compiledPolicySet(candidate);
  const maxFlows = options.maxFlows ?? 1_000_000;
  const maxGroups = options.maxGroups ?? 1000;
  const labels = options.serviceLabels ?? {};
  const lists = { would_deny: new Map<string, Acc>(), would_allow: new Map<string, Acc>(), undecided: new Map<string, Acc>() };
  const totals = { would_deny: 0, would_allow: 0, undecided: 0, unchanged_allowed: 0, unchanged_denied: 0, unresolved: 0 };
  let scanned = 0;
  let evaluated = 0;
  let truncated = false;
  for (const { id, ts, flow } of flows) {
    if (scanned >= maxFlows) { truncated = true; break; }
    scanned++;
    if (!isInboundAtWorkload(flow)) continue;
    const w = destinationWorkload(flow, labels);
    if (w.namespace === null) { totals.unresolved++; continue; }
    evaluated++;
    const d = evaluateAuthorization(compiled, { namespace: w.namespace, labels: w.labels }, requestFactsFromFlow(flow));
    const deniedThen = flow.response_code === 403 && parseRbacDenied(flow.response_code_details) !== null;
    let list: keyof typeof lists;
    if (d.decision === 'unknown') list = 'undecided';
    else if (d.decision === 'deny' && !deniedThen) list = 'would_deny';
    else if (d.decision === 'allow' && deniedThen) list = 'would_allow';
    else { if (deniedThen) totals.unchanged_denied++; else totals.unchanged_allowed++; continue; }
    totals[list]++;
    const principal = flow.mtls === false ? null : flow.source_principal;
    const caller = principal ?? (flow.mtls === false ? 'no-identity' : 'unknown-identity');
    const destination = w.name !== null ? `${w.namespace}/${w.name}` : w.service ?? 'unknown';
    const port = workloadPort(flow);
    const path = flow.path === null ? null : flow.path.replace(/[?#].*$/s, '');
    const key = `${caller}\u0000${destination}\u0000${flow.method ?? ''}\u0000${path ?? ''}\u0000${port ?? ''}`;
    const map = lists[list];
    let g = map.get(key);
    if (g === undefined) {
      if (map.size >= maxGroups) { truncated = true; continue; }
      g = {
        caller, source_principal: principal, destination, destination_namespace: w.namespace, method: flow.method, path, port, count: 0,
        first_seen: '', last_seen: '', sample_flow_ids: [], reason: d.reason, matched: null, caller_ips: [], first: ts, last: ts,
      };
      map.set(key, g);
    }
    g.count++;
    g.first = Math.min(g.first, ts);
    if (ts >= g.last) {
      g.last = ts;
      g.reason = d.reason;
      g.matched = d.matched ? `${d.matched.policy} rule ${d.matched.ruleIndex} (${d.matched.action})` : null;
    }
    if (g.sample_flow_ids.length < 5) g.sample_flow_ids.push(id);
    const ip = callerIp(flow);
    if (ip !== null && g.caller_ips.length < 5 && !g.caller_ips.includes(ip)) g.caller_ips.push(ip);
  }
  const finish = (m: Map<string, Acc>): ReplayGroup[] =>
    [...m.values()]
      .map(({ first, last, ...g }) => ({ ...g, first_seen: new Date(first).toISOString(), last_seen: new Date(last).toISOString() }))
      .sort((a, b) => b.count - a.count || a.caller.localeCompare(b.caller) || a.destination.localeCompare(b.destination) || (a.path ?? '').localeCompare(b.path ?? ''));
  return {
    flows_scanned: scanned, evaluated, truncated,
    would_deny: finish(lists.would_deny), would_allow: finish(lists.would_allow), undecided: finish(lists.undecided), totals,
  };
}

/** Replays the stored inbound flows in [from, to) against `candidate`. */
export function replayPolicies(store: Store, candidate: PolicySet, options: ReplayOptions = {}): ReplayReport {
  const rows = flowRows(store, { direction: 'inbound', ...(options.from !== undefined ? { from: options.from } : {}), ...(options.to !== undefined ? { to: options.to } : {}) });
  const flows = (function* () {
    for (const r of rows) {
      const { id, source: _s, ...flow } = r.item;
      yield { id, ts: r.key.ts, flow: flow as Flow };
    }
  })();
  let core;
  try {
    core = replayFlows(flows, candidate, options);
  } finally {
    rows.return(undefined); // close the statement before anything else uses the connection
  }
  return {
    policy_digest: policySetDigest(candidate),
    from: options.from !== undefined ? new Date(options.from).toISOString() : null,
    to: options.to !== undefined ? new Date(options.to).toISOString() : null,
    ...core,
  };
}

/** Renders a replay report as a readable text table. */
export function renderReplay(r: ReplayReport): string {
  const lines: string[] = [];
  lines.push(`policy replay (digest ${r.policy_digest.slice(0, 12)}), ${r.from ?? 'beginning'} .. ${r.to ?? 'now'}`);
  lines.push(`scanned ${r.flows_scanned} flows, evaluated ${r.evaluated} inbound requests${r.truncated ? ' (TRUNCATED: limits reached)' : ''}`);
  lines.push(`would deny (allowed before): ${r.totals.would_deny}; would allow (denied before): ${r.totals.would_allow}; undecided: ${r.totals.undecided}; unchanged: ${r.totals.unchanged_allowed} allowed, ${r.totals.unchanged_denied} denied; not evaluated (workload namespace unknown): ${r.totals.unresolved}`);
  const section = (title: string, groups: ReplayGroup[]) => {
    lines.push('', `${title}:`);
    if (groups.length === 0) { lines.push('  (none)'); return; }
    lines.push(...table(['COUNT', 'CALLER', 'DESTINATION', 'PORT', 'METHOD', 'PATH', 'LAST SEEN'],
      groups.map((g) => [String(g.count), g.caller, g.destination, String(g.port ?? '-'), g.method ?? '-', g.path ?? '-', g.last_seen])));
  };
  section('WOULD DENY (was allowed)', r.would_deny);
  section('WOULD ALLOW (was denied)', r.would_allow);
  if (r.undecided.length > 0) section('UNDECIDED (the log lacks facts the rules need)', r.undecided);
  return `${lines.join('\n')}\n`;
}

/** Strips control characters (terminal escapes in logged values must not reach a terminal). */
export function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

/** A left-aligned text table of cleaned cells (columns capped at 60 characters). */
export function table(header: string[], rows: string[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => { const v = clean(c); return v.length > 60 ? `${v.slice(0, 57)}...` : v; }))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}
