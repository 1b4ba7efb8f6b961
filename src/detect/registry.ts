/**
 * The detector registry and the store hook that runs the detectors.
 *
 * Guarantees: `registerDetectors(store, context)` adds a {@link BatchHook}; in every batch
 * transaction it runs the enabled detectors over the newly written flows (replayed records are
 * not in the batch, so nothing is counted twice), aggregates the observations per finding key in
 * memory, and writes the findings, their outbox events, the learned baseline edges and the
 * counters in that same transaction: they commit with the flows or not at all. Detectors are
 * pure and O(flows) with policies compiled once at registration.
 */
import type { Detector } from '../../schemas/finding.js';
import { DetectorsConfigSchema, type DetectorsConfig, type DetectorsConfigInput } from '../../schemas/detectors-config.js';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { compiledPolicySet, type CompiledPolicySet } from '../policy/compile.js';
import { loadPolicies, type PolicyProblem } from '../policy/load.js';
import { DetectorStateRepository, FindingsRepository, type ApplyResult } from '../store/findings.repository.js';
import type { Store } from '../store/store.js';
import { aggregate } from './aggregate.js';
import { memoryBaseline, type DetectInput, type DetectorContext, type DetectorFn, type Observation } from './context.js';
import { deniedEgressDetector } from './denied-egress.detector.js';
import { plaintextDetector } from './plaintext.detector.js';
import { policyPitfallDetector } from './policy-pitfall.detector.js';
import { unexpectedPrincipalDetector } from './unexpected-principal.detector.js';
import { unregisteredEgressDetector } from './unregistered-egress.detector.js';
import { weakTlsDetector } from './weak-tls.detector.js';

/** Every detector by name. */
export const DETECTOR_FUNCTIONS: Readonly<Record<Detector, DetectorFn>> = {
  plaintext: plaintextDetector,
  'unexpected-principal': unexpectedPrincipalDetector,
  'denied-egress': deniedEgressDetector,
  'unregistered-egress': unregisteredEgressDetector,
  'weak-tls': weakTlsDetector,
  'policy-pitfall': policyPitfallDetector,
};

/** The output of all enabled detectors over one batch. */
export interface DetectionRun {
  observations: Observation[];
  counters: Partial<Record<Detector, Record<string, number>>>;
  learned: string[];
}

/** Runs the enabled detectors over a batch (pure). */
export function runDetectors(flows: readonly DetectInput[], ctx: DetectorContext): DetectionRun {
  const run: DetectionRun = { observations: [], counters: {}, learned: [] };
  for (const name of ctx.config.enabled) {
    const r = DETECTOR_FUNCTIONS[name](flows, ctx);
    for (const o of r.observations) run.observations.push(o);
    if (Object.keys(r.counters).length > 0) run.counters[name] = r.counters;
    if (r.learned) for (const e of r.learned) run.learned.push(e);
  }
  return run;
}

/** What {@link registerDetectors} needs. */
export interface DetectorsContextInput {
  /** The `detectors` config section (defaults applied when parsed here). */
  config?: DetectorsConfigInput | DetectorsConfig;
  /**
   * Policies to evaluate against. Absent: loaded from `config.policies_dir` when set; null: none.
   */
  policies?: PolicySet | CompiledPolicySet | null;
  /** Clock for `updated_at` and event times (tests). */
  now?: () => number;
}

/** What registration returns: the repository and running totals of this process. */
export interface DetectorsHandle {
  findings: FindingsRepository;
  config: DetectorsConfig;
  policies: CompiledPolicySet | null;
  /** Problems found loading `policies_dir` (errors and warnings). */
  policyProblems: PolicyProblem[];
  /** Totals since registration. */
  totals(): ApplyResult & { batches: number; observations: number };
}

/**
 * Registers the detectors on `store`: every batch from now on is examined in its own
 * transaction. Throws when `config.policies_dir` cannot be read.
 */
export function registerDetectors(store: Store, input: DetectorsContextInput = {}): DetectorsHandle {
  const config = DetectorsConfigSchema.parse(input.config ?? {});
  const now = input.now ?? Date.now;
  let policyProblems: PolicyProblem[] = [];
  let policies: CompiledPolicySet | null = null;
  if (input.policies !== undefined) policies = input.policies === null ? null : compiledPolicySet(input.policies);
  else if (config.policies_dir !== null) {
    const loaded = loadPolicies(config.policies_dir);
    policyProblems = loaded.problems;
    policies = compiledPolicySet(loaded.policies);
  }
  const findings = new FindingsRepository(store.db, undefined, now);
  const state = new DetectorStateRepository(store.db);
  const startText = state.get('baseline_start');
  const baseline = memoryBaseline(startText === null ? null : Number(startText), config.baseline.learning_window_ms, config.baseline.learning_window_ms > 0 ? state.edges() : []);
  const ctx: DetectorContext = { config, policies, baseline };
  const totals = { opened: 0, reopened: 0, updated: 0, events: 0, batches: 0, observations: 0 };

  store.addHook((_db, written) => {
    if (written.length === 0) return;
    const at = now();
    const flows: DetectInput[] = written.map(({ id, flow }) => {
      const t = flow.start_time === null ? Number.NaN : Date.parse(flow.start_time);
      return { id, flow, ts: Number.isFinite(t) ? t : at };
    });
    if (baseline.enabled && baseline.start === null) {
      let min = Number.POSITIVE_INFINITY;
      for (const f of flows) if (f.ts < min) min = f.ts;
      baseline.start = min;
      state.set('baseline_start', String(min));
    }
    const run = runDetectors(flows, ctx);
    if (run.learned.length > 0) {
      state.addEdges(run.learned, at);
      // Memory follows the database; if the transaction rolls back, the batch is retried and
      // would learn the same edges again, so an early entry here changes nothing.
      for (const e of run.learned) baseline.edges.add(e);
    }
    const r = findings.apply(aggregate(run.observations, config.max_samples), at, config.max_samples);
    findings.addCounters(run.counters as Record<string, Record<string, number>>);
    totals.batches++;
    totals.observations += run.observations.length;
    totals.opened += r.opened;
    totals.reopened += r.reopened;
    totals.updated += r.updated;
    totals.events += r.events;
  });
  return { findings, config, policies, policyProblems, totals: () => ({ ...totals }) };
}
