/**
 * The mTLS mode Istio enforces on a workload's inbound port, from PeerAuthentication policies.
 *
 * Resolution follows the PeerAuthentication reference and istiod's composition:
 * - three levels: mesh (root namespace, no selector), namespace (the workload's namespace, no
 *   selector), workload (the workload's namespace, a selector matching its labels). Selector
 *   policies in the root namespace are ignored, as the reference notes;
 * - at each level the oldest policy wins (creationTimestamp, then name, then namespace); the
 *   others are reported in `overridden`;
 * - the levels apply mesh, then namespace, then workload; a level whose mode is UNSET (or absent)
 *   inherits from the one before; with nothing set the mode is PERMISSIVE;
 * - `portLevelMtls` counts only on the workload-level policy (a selector policy); a port entry
 *   set to UNSET inherits the workload's resolved mode. Ports are the workload's (container) ports.
 *
 * When the workload's labels are unknown (`labels: null`) and a selector policy could apply, or
 * the port is unknown and the policy has port-level settings, the answer is uncertain: `certain`
 * is false and `possibleModes` lists every mode that could be in force (`mode` is then the mode
 * without the uncertain part and must not be read as the answer).
 */
import type { MtlsMode, PeerAuthentication, PolicySet } from '../../schemas/istio-policy.js';
import { compiledPolicySet, idOf, type CompiledPolicySet } from './compile.js';
import type { Workload } from './authorization.js';

/** An enforced mTLS mode (UNSET never survives resolution). */
export type EffectiveMode = Exclude<MtlsMode, 'UNSET'>;

/** Where the effective mode came from. */
export type MtlsLevel = 'port' | 'workload' | 'namespace' | 'mesh' | 'default';

/** The mTLS mode in force at a workload port, and the policy that set it. */
export interface EffectiveMtls {
  mode: EffectiveMode;
  /** `<namespace>/<name>` of the policy that set the mode, or `default` (no policy: PERMISSIVE). */
  source: string;
  level: MtlsLevel;
  /** false when labels or the port are unknown and the answer depends on them. */
  certain: boolean;
  /** Every mode that could be in force; `[mode]` when certain. */
  possibleModes: EffectiveMode[];
  /** Younger policies at the same level that lost to the oldest one (a misconfiguration worth reporting). */
  overridden: string[];
}

interface Resolved {
  mode: EffectiveMode;
  source: string;
  level: MtlsLevel;
}

/**
 * Resolves the mTLS mode for `workload` on `port` (null when the port is unknown).
 */
export function effectiveMtlsMode(set: PolicySet | CompiledPolicySet, workload: Workload, port: number | null): EffectiveMtls {
  const compiled = compiledPolicySet(set);
  const root = compiled.rootNamespace;
  const rootPolicies = compiled.peerByNamespace.get(root) ?? [];
  const own = workload.namespace === root ? [] : compiled.peerByNamespace.get(workload.namespace) ?? [];

  const meshLevel = rootPolicies.filter((p) => !hasSelector(p));
  const nsLevel = own.filter((p) => !hasSelector(p));
  const selectorPolicies = own.filter(hasSelector);

  const overridden = [...meshLevel.slice(1), ...nsLevel.slice(1)].map((p) => idOf(p.metadata));
  let base: Resolved = { mode: 'PERMISSIVE', source: 'default', level: 'default' };
  if (meshLevel[0] !== undefined) base = inherit(base, meshLevel[0], 'mesh');
  if (nsLevel[0] !== undefined) base = inherit(base, nsLevel[0], 'namespace');

  // Oldest matching selector policy wins. With unknown labels every policy that might match could
  // be the winner (if all older ones do not match), and so could "none".
  const outcomes: Resolved[] = [];
  let certain = true;
  let winner: Resolved | null = null;
  for (const p of selectorPolicies) {
    const m = selects(p, workload);
    if (m === false) continue;
    if (winner !== null) {
      if (m === true) overridden.push(idOf(p.metadata));
      continue;
    }
    const r = resolveWorkload(base, p, port);
    outcomes.push(...r.outcomes);
    if (!r.certain) certain = false;
    if (m === true) winner = r.workloadLevel;
    else certain = false;
  }
  if (winner === null) outcomes.push(base);

  const possibleModes = [...new Set(outcomes.map((o) => o.mode))].sort();
  if (certain || possibleModes.length === 1) {
    return { ...outcomes[0]!, certain: true, possibleModes: [outcomes[0]!.mode], overridden };
  }
  // Uncertain: report the part that does not depend on the unknown fact.
  return { ...(winner ?? base), certain: false, possibleModes, overridden };
}

function hasSelector(p: PeerAuthentication): boolean {
  const labels = p.spec.selector?.matchLabels;
  return labels !== undefined && Object.keys(labels).length > 0;
}

function selects(p: PeerAuthentication, w: Workload): boolean | null {
  const labels = p.spec.selector?.matchLabels ?? {};
  if (w.labels === null) return null;
  return Object.entries(labels).every(([k, v]) => w.labels![k] === v);
}

function inherit(parent: Resolved, p: PeerAuthentication, level: MtlsLevel): Resolved {
  const mode = p.spec.mtls?.mode ?? 'UNSET';
  return mode === 'UNSET' ? parent : { mode, source: idOf(p.metadata), level };
}

/** The workload-level result, with the port-level override; several outcomes when the port is unknown. */
function resolveWorkload(
  base: Resolved,
  p: PeerAuthentication,
  port: number | null,
): { outcomes: Resolved[]; certain: boolean; workloadLevel: Resolved } {
  const workloadLevel = inherit(base, p, 'workload');
  const portModes = p.spec.portLevelMtls ?? {};
  const portResolved = (mode: MtlsMode | undefined): Resolved =>
    mode === undefined || mode === 'UNSET' ? workloadLevel : { mode, source: idOf(p.metadata), level: 'port' };
  if (port !== null) {
    const entry = portModes[String(port)];
    return { outcomes: [entry === undefined ? workloadLevel : portResolved(entry.mode)], certain: true, workloadLevel };
  }
  const entries = Object.values(portModes);
  if (entries.length === 0) return { outcomes: [workloadLevel], certain: true, workloadLevel };
  const outcomes = [workloadLevel, ...entries.map((e) => portResolved(e.mode))];
  return { outcomes, certain: outcomes.every((o) => o.mode === workloadLevel.mode), workloadLevel };
}
