/**
 * Identity/TLS coverage of the stored flows in a time window: per reporter kind and direction,
 * flows by mTLS verdict and evidence kind, how many carry principals, and the formats seen.
 *
 * One grouped, parameterised scan over `flows` (the window bounds are the only values, always
 * bound): rows are grouped by the interned ids of reporter, format and evidence, so the work in
 * JavaScript is per distinct combination, not per flow. Evidence texts are classified into kinds
 * here rather than in SQL, by the same function `meshtrail doctor` uses.
 */
import type { CoverageQuery, CoverageResponse } from '../../schemas/coverage-api.js';
import type { Reporter } from '../../schemas/flow.js';
import { evidenceKind, groupOfStored } from '../doctor/facts.js';
import { VerdictTally } from '../doctor/verdicts.js';
import { prepared } from './flows.query.js';
import type { Store } from './store.js';

interface CoverageRow {
  reporter_id: number;
  direction: number | null;
  format_id: number;
  mtls: number | null;
  mtls_evidence_id: number | null;
  has_src: number;
  has_dst: number;
  n: number;
}

/** The SQL of {@link queryCoverage}, exported for the SQL snapshot. */
export const COVERAGE_SQL = `SELECT f.reporter_id, f.direction, f.format_id, f.mtls, f.mtls_evidence_id,
    f.source_principal_id IS NOT NULL AS has_src, f.destination_principal_id IS NOT NULL AS has_dst, count(*) AS n
  FROM flows f
  WHERE f.ts >= ? AND f.ts < ?
  GROUP BY f.reporter_id, f.direction, f.format_id, f.mtls, f.mtls_evidence_id, has_src, has_dst`;

/** Coverage facts of the flows in [from, to) (all flows when a bound is absent). */
export function queryCoverage(store: Store, q: CoverageQuery): CoverageResponse {
  const from = q.from ?? Number.MIN_SAFE_INTEGER;
  const to = q.to ?? Number.MAX_SAFE_INTEGER;
  const tally = new VerdictTally();
  const kinds = new Map<number, string>();
  const kindOf = (reporterId: number): string => {
    let kind = kinds.get(reporterId);
    if (kind === undefined) {
      try {
        kind = (JSON.parse(store.strings.value(reporterId)) as Reporter | null)?.kind ?? 'unknown';
      } catch {
        kind = 'unknown';
      }
      kinds.set(reporterId, kind);
    }
    return kind;
  };
  // all(): the loop reads interned strings, which needs the connection free (no open iterator).
  for (const r of prepared(store.db, COVERAGE_SQL).all(from, to) as CoverageRow[]) {
    const mtls = r.mtls === null ? null : r.mtls === 1;
    const evidence = r.mtls_evidence_id === null ? null : store.strings.value(r.mtls_evidence_id);
    tally.add({
      group: groupOfStored(kindOf(r.reporter_id), r.direction === 1 ? 'inbound' : r.direction === 2 ? 'outbound' : null),
      format: store.strings.value(r.format_id),
      mtls,
      evidence: evidenceKind(evidence, mtls),
      hasSource: r.has_src === 1,
      hasDestination: r.has_dst === 1,
    }, r.n);
  }
  return {
    from: q.from === undefined ? null : new Date(q.from).toISOString(),
    to: q.to === undefined ? null : new Date(q.to).toISOString(),
    flows: tally.flows,
    groups: tally.groupsSeen(),
  };
}
