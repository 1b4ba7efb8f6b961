/**
 * Counts flows per coverage group: by mTLS verdict, by evidence kind, by format, and how many
 * carry principals. Shared by `meshtrail doctor` (counting parsed sample lines) and
 * `GET /api/v1/coverage` (counting grouped rows of stored flows), so both report the same shape.
 */
import type { CoverageGroup, EvidenceKind, GroupVerdicts } from '../../schemas/coverage-api.js';

/** Report order of the groups. */
export const GROUP_ORDER: readonly CoverageGroup[] = ['sidecar_inbound', 'sidecar_outbound', 'gateway', 'waypoint', 'ztunnel', 'unknown'];

/** One counted fact set (a flow, or a grouped row with its count). */
export interface VerdictFacts {
  group: CoverageGroup;
  format: string;
  mtls: boolean | null;
  evidence: EvidenceKind;
  hasSource: boolean;
  hasDestination: boolean;
}

interface Tally {
  flows: number;
  mtls: { true: number; false: number; unknown: number };
  evidence: Map<string, { kind: EvidenceKind; mtls: boolean | null; flows: number }>;
  src: number;
  dst: number;
  formats: Map<string, number>;
}

/** Accumulates `VerdictFacts` into per-group counts. */
export class VerdictTally {
  private readonly groups = new Map<CoverageGroup, Tally>();

  /** Counts `count` flows with these facts. */
  add(f: VerdictFacts, count = 1): void {
    let t = this.groups.get(f.group);
    if (!t) this.groups.set(f.group, (t = { flows: 0, mtls: { true: 0, false: 0, unknown: 0 }, evidence: new Map(), src: 0, dst: 0, formats: new Map() }));
    t.flows += count;
    t.mtls[f.mtls === null ? 'unknown' : f.mtls ? 'true' : 'false'] += count;
    const key = `${f.evidence}|${String(f.mtls)}`;
    const e = t.evidence.get(key);
    if (e) e.flows += count;
    else t.evidence.set(key, { kind: f.evidence, mtls: f.mtls, flows: count });
    if (f.hasSource) t.src += count;
    if (f.hasDestination) t.dst += count;
    t.formats.set(f.format, (t.formats.get(f.format) ?? 0) + count);
  }

  /** Total flows counted. */
  get flows(): number {
    let n = 0;
    for (const t of this.groups.values()) n += t.flows;
    return n;
  }

  /** The groups seen, in `GROUP_ORDER`, with lists sorted most frequent first. */
  groupsSeen(): GroupVerdicts[] {
    const out: GroupVerdicts[] = [];
    for (const group of GROUP_ORDER) {
      const t = this.groups.get(group);
      if (!t) continue;
      out.push({
        group,
        flows: t.flows,
        mtls: { ...t.mtls },
        evidence: [...t.evidence.values()].sort((a, b) => b.flows - a.flows || a.kind.localeCompare(b.kind)),
        with_source_principal: t.src,
        with_destination_principal: t.dst,
        source_principal_share: t.flows ? t.src / t.flows : 0,
        destination_principal_share: t.flows ? t.dst / t.flows : 0,
        formats: [...t.formats].map(([format, flows]) => ({ format, flows })).sort((a, b) => b.flows - a.flows || a.format.localeCompare(b.format)),
      });
    }
    return out;
  }
}
