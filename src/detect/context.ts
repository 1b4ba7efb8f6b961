/**
 * What a detector may know and what it returns.
 *
 * A detector is a pure function `(flows, context) -> DetectorResult`: it reads the batch of newly
 * stored, enriched flows and the context (compiled policies, the learned baseline, allow-lists,
 * label resolution) and returns observations (one per flow that shows a problem, with the
 * finding key parts) and counters (coverage gaps, undecided evaluations, skipped health checks).
 * Aggregation into findings, the lifecycle and the outbox are the store's job, not the detector's.
 */
import type { Flow } from '../../schemas/flow.js';
import type { Detector, FindingParties, Severity } from '../../schemas/finding.js';
import { SEVERITY_SCORE } from '../../schemas/finding.js';
import type { DetectorsConfig } from '../../schemas/detectors-config.js';
import type { CompiledPolicySet } from '../policy/compile.js';
import { isIP } from 'node:net';

/** One stored flow handed to the detectors. */
export interface DetectInput {
  /** Row id in `flows`. */
  id: number;
  /** Flow time, epoch ms (start_time, else the ingest time). */
  ts: number;
  flow: Flow;
}

/** One flow's contribution to a finding. Findings with the same key aggregate. */
export interface Observation extends FindingParties {
  detector: Detector;
  severity: Severity;
  title: string;
  /** Key parts: who, to what, on which port (readable; `-` for unknown). */
  key_source: string;
  key_destination: string;
  evidence: Record<string, unknown>;
  flow_id: number;
  ts: number;
  request_id: string | null;
}

/** What a detector returns for a batch. */
export interface DetectorResult {
  observations: Observation[];
  /** Counters to add to the detector's running totals (e.g. `unknown_verdict`). */
  counters: Record<string, number>;
  /** Edges seen during baseline learning (unexpected-principal only). */
  learned?: string[];
}

/** The learned baseline, read-only for detectors. */
export interface Baseline {
  /** true while `ts` lies in the learning window (edges seen then are expected). */
  learning(ts: number): boolean;
  /** false when the baseline is disabled (learning window 0). */
  readonly enabled: boolean;
  has(edge: string): boolean;
}

/** Everything a detector may know. */
export interface DetectorContext {
  config: DetectorsConfig;
  /** The loaded policies, compiled once; null when none are configured. */
  policies: CompiledPolicySet | null;
  baseline: Baseline;
}

/** A detector: pure over a batch. */
export type DetectorFn = (flows: readonly DetectInput[], ctx: DetectorContext) => DetectorResult;

/** A baseline that learns nothing and knows nothing (the default when disabled). */
export const NO_BASELINE: Baseline = { enabled: false, learning: () => false, has: () => false };

/** An in-memory baseline (tests, replay): `start` + `windowMs` is the learning window. */
export function memoryBaseline(start: number | null, windowMs: number, edges: Iterable<string> = []): Baseline & { edges: Set<string>; start: number | null } {
  const set = new Set(edges);
  return {
    enabled: windowMs > 0,
    start,
    edges: set,
    learning(ts) { return windowMs > 0 && this.start !== null && ts >= this.start && ts < this.start + windowMs; },
    has: (edge) => set.has(edge),
  };
}

/** Severity order. */
export function severityRank(s: Severity): number {
  return SEVERITY_SCORE[s];
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** True when the request came from a configured health checker (kubelet, cloud LB). */
export function isHealthCheck(flow: Flow, prefixes: readonly string[]): boolean {
  const ua = flow.user_agent;
  return ua !== null && prefixes.some((p) => ua.startsWith(p));
}

/** IPv4 `a.b.c.d` to a 32-bit number, or null. */
function ipv4(ip: string): number | null {
  if (isIP(ip) !== 4) return null;
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/**
 * Whether a caller matches an allow-list entry: an exact principal, a principal prefix ending in
 * `*`, an exact IP, or an IPv4 CIDR.
 */
export function matchesAllowEntry(entry: string, principal: string | null, ip: string | null): boolean {
  if (entry.endsWith('*')) return principal !== null && principal.startsWith(entry.slice(0, -1));
  if (principal !== null && entry === principal) return true;
  if (ip === null) return false;
  if (entry === ip) return true;
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(entry);
  if (!cidr) return false;
  const base = ipv4(cidr[1]!);
  const addr = ipv4(ip);
  const bits = Number(cidr[2]);
  if (base === null || addr === null || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((base & mask) >>> 0) === ((addr & mask) >>> 0);
}

/** Adds `n` to `counters[name]`. */
export function count(counters: Record<string, number>, name: string, n = 1): void {
  counters[name] = (counters[name] ?? 0) + n;
}

/** A readable key part; `-` for unknown. */
export const part = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v));
