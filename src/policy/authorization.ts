/**
 * AuthorizationPolicy evaluation: would Istio have allowed this request at this workload?
 *
 * Order, as the AuthorizationPolicy reference states it: CUSTOM, then DENY, then ALLOW.
 * - CUSTOM delegates to an external authorizer meshtrail cannot run. CUSTOM policies that select
 *   the workload and whose rules (might) match are listed in `custom`; the decision is then the
 *   one DENY and ALLOW give, which is what Istio decides if the extension allows.
 * - DENY: any matching DENY rule denies.
 * - ALLOW: if any ALLOW policy selects the workload, the request must match one of their rules;
 *   if none selects it, the request is allowed.
 * A policy with no `rules` never matches: an ALLOW policy without rules (`spec: {}`) therefore
 * allows nothing (deny-all for what it selects), a DENY policy without rules denies nothing.
 * A rule `{}` matches everything. AUDIT policies never change the decision and are skipped.
 *
 * Scope: a policy applies to workloads of its namespace, or of every namespace when it lives in
 * the root namespace; a `selector` narrows it to workloads carrying all its labels. `targetRef(s)`
 * of kind Gateway (gateway.networking.k8s.io) select the gateway's pods by the
 * `gateway.networking.k8s.io/gateway-name` label; other target kinds (Service, ServiceEntry,
 * GatewayClass) are enforced by waypoints/gateways, not sidecars, and are not evaluated here (a note
 * says so). Policies annotated `istio.io/dry-run: "true"` are not enforced and are skipped (noted).
 *
 * Three-valued: every match is true, false or unknown (a needed fact is not in the log, or the
 * workload's labels are unknown). The decision is `NOT deny AND (NOT allowPoliciesExist OR
 * allowMatches)` in Kleene logic, so a DENY rule that might match leaves the decision `unknown`
 * unless the ALLOW stage certainly denies anyway. The evaluator never guesses.
 */
import type { AuthorizationAction, PolicySet } from '../../schemas/istio-policy.js';
import {
  compiledPolicySet, evaluateRule, normaliseFacts,
  type CompiledAuthorizationPolicy, type CompiledPolicySet, type NormalisedFacts,
} from './compile.js';
import { and3, not3, or3, type Tri } from './match.js';
import type { RequestFacts } from './request-facts.js';

/** The workload a request arrives at. `labels: null` means its labels are not known. */
export interface Workload {
  namespace: string;
  labels: Readonly<Record<string, string>> | null;
}

/** A rule that decided, or might decide, the request. */
export interface RuleRef {
  /** `<namespace>/<name>`. */
  policy: string;
  action: AuthorizationAction;
  /** 0-based index into `spec.rules`. */
  ruleIndex: number;
}

/** A rule whose match is unknown, with the facts (Istio attribute names) it lacked. */
export interface UndecidedRule extends RuleRef {
  missing: string[];
}

/** The outcome of evaluating a request against the AuthorizationPolicies of its workload. */
export interface AuthorizationDecision {
  decision: 'allow' | 'deny' | 'unknown';
  /** One sentence saying why. */
  reason: string;
  /** The rule that decided: a DENY rule for deny, an ALLOW rule for allow (absent when no rule decided). */
  matched?: RuleRef;
  /** CUSTOM policies (ids) that select the workload and whose rules match or might match: the external authorizer could still deny. */
  custom?: string[];
  /** With decision unknown: the rules whose match could not be decided. */
  undecided?: UndecidedRule[];
  /** Things the caller should know: skipped dry-run/targetRef policies, unknown workload labels. */
  notes: string[];
}

/**
 * Evaluates `request` at `workload` against the set's AuthorizationPolicies. Accepts a compiled
 * set (preferred on hot paths) or a plain one (compiled once and memoised by identity).
 */
export function evaluateAuthorization(
  set: PolicySet | CompiledPolicySet,
  workload: Workload,
  request: RequestFacts,
): AuthorizationDecision {
  const compiled = compiledPolicySet(set);
  const f = normaliseFacts(request);
  const notes: string[] = [];
  const candidates = candidatePolicies(compiled, workload.namespace);

  const custom: string[] = [];
  const providers = new Set<string>();
  const undecided: UndecidedRule[] = [];
  let deny: Tri = false;
  let allowExists: Tri = false;
  let allowMatch: Tri = false;
  let allowMatched: RuleRef | undefined;
  const allowIds: string[] = [];

  for (const p of candidates) {
    const applies = policyApplies(p, workload, compiled.rootNamespace, notes);
    if (applies === false) continue;
    if (p.action === 'CUSTOM') {
      const m = and3(applies, anyRule(p, f));
      if (m !== false) custom.push(p.id);
      if (m !== false && p.provider !== null) providers.add(p.provider);
      continue;
    }
    if (p.action === 'ALLOW') {
      allowExists = or3(allowExists, applies);
      allowIds.push(p.id);
    }
    for (let i = 0; i < p.rules.length; i++) {
      const missing = new Set<string>();
      const m = and3(applies, evaluateRule(p.rules[i]!, p.action, f, missing));
      if (applies === null) missing.add('workload.labels');
      if (m === false) continue;
      const ref: RuleRef = { policy: p.id, action: p.action, ruleIndex: i };
      if (m === null) {
        undecided.push({ ...ref, missing: [...missing].sort() });
        if (p.action === 'DENY') deny = or3(deny, null);
        else allowMatch = or3(allowMatch, null);
        continue;
      }
      if (p.action === 'DENY') {
        return finish({ decision: 'deny', reason: `DENY policy ${p.id} rule ${i} matches.`, matched: ref, notes }, custom, providers);
      }
      if (allowMatched === undefined) allowMatched = ref;
      allowMatch = true;
    }
  }

  const allowStage = or3(not3(allowExists), allowMatch);
  const decision = and3(not3(deny), allowStage);
  if (decision === true) {
    const reason = allowMatched !== undefined
      ? `ALLOW policy ${allowMatched.policy} rule ${allowMatched.ruleIndex} matches and no DENY rule does.`
      : 'No DENY rule matches and no ALLOW policy selects the workload.';
    return finish({ decision: 'allow', reason, ...(allowMatched !== undefined ? { matched: allowMatched } : {}), notes }, custom, providers);
  }
  if (decision === false) {
    // deny certain without a matching DENY rule: ALLOW policies select the workload and none matches
    return finish({ decision: 'deny', reason: `ALLOW policies select the workload (${unique(allowIds).join(', ')}) and none of their rules matches.`, notes }, custom, providers);
  }
  // DENY first: a possible DENY is the more important thing to show an investigator
  const relevant = undecided
    .filter((u) => u.action === 'DENY' || allowMatch !== true)
    .sort((a, b) => (a.action === b.action ? 0 : a.action === 'DENY' ? -1 : 1));
  const reason = `Undecided: ${relevant
    .map((u) => `${u.action} ${u.policy} rule ${u.ruleIndex} might match (needs ${u.missing.join(', ') || 'unknown facts'})`)
    .join('; ') || 'workload selection unknown'}.`;
  return finish({ decision: 'unknown', reason, undecided: relevant, notes }, custom, providers);
}

function finish(d: AuthorizationDecision, custom: string[], providers: Set<string>): AuthorizationDecision {
  if (custom.length > 0) {
    d.custom = custom;
    d.notes.push(
      `CUSTOM policies (${custom.join(', ')}) delegate to an external authorizer (${[...providers].join(', ')}) that is not evaluated; it may deny a request allowed here.`,
    );
  }
  return d;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** The policies in the workload's namespace and in the root namespace, in a fixed order. */
export function candidatePolicies(compiled: CompiledPolicySet, namespace: string): readonly CompiledAuthorizationPolicy[] {
  const own = compiled.authorizationByNamespace.get(namespace) ?? [];
  if (namespace === compiled.rootNamespace) return own;
  const root = compiled.authorizationByNamespace.get(compiled.rootNamespace) ?? [];
  return root.length === 0 ? own : [...root, ...own];
}

/** Whether a policy's rules match (any rule), ignoring scope. */
function anyRule(p: CompiledAuthorizationPolicy, f: NormalisedFacts): Tri {
  let acc: Tri = false;
  for (const rule of p.rules) {
    acc = or3(acc, evaluateRule(rule, p.action, f, new Set()));
    if (acc === true) return true;
  }
  return acc;
}

const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** Whether the policy is in force at the workload: true, false, or null when its labels are unknown. */
function policyApplies(p: CompiledAuthorizationPolicy, w: Workload, root: string, notes: string[]): Tri {
  if (p.namespace !== w.namespace && p.namespace !== root) return false;
  if (p.dryRun) {
    notes.push(`${p.id} is a dry-run policy (istio.io/dry-run); it is not enforced and was skipped.`);
    return false;
  }
  if (p.targets !== null) {
    let acc: Tri = false;
    for (const t of p.targets) {
      const isGateway = t.kind === 'Gateway' && (t.group === undefined || t.group === 'gateway.networking.k8s.io');
      if (!isGateway) {
        notes.push(`${p.id} targets ${t.kind} ${t.name}; policies attached to ${t.kind} are enforced by waypoints/gateways and are not evaluated here.`);
        continue;
      }
      if (p.namespace !== w.namespace) continue; // a Gateway target must be in the policy's namespace
      acc = or3(acc, w.labels === null ? null : w.labels[GATEWAY_NAME_LABEL] === t.name);
    }
    return acc;
  }
  if (p.selector === null) return true;
  if (w.labels === null) {
    notes.push(`${p.id} selects workloads by label and the workload's labels are unknown.`);
    return null;
  }
  for (const [k, v] of Object.entries(p.selector)) if (w.labels[k] !== v) return false;
  return true;
}
