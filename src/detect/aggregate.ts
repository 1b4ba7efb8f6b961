/**
 * Folds a batch's observations into one aggregate per finding key (detector + source +
 * destination + port), in memory, so the store does one upsert per key per batch. Pure.
 * The title and evidence come from the most severe observation (the latest among equals);
 * descriptive fields from the latest one; sample flow ids are the most recent `maxSamples`.
 */
import { mergeParties, pickParties } from '../../schemas/finding.js';
import type { FindingAggregate } from '../store/findings.repository.js';
import { part, severityRank, type Observation } from './context.js';

/** The readable finding key of an observation. */
export function findingKey(o: Pick<Observation, 'detector' | 'key_source' | 'key_destination' | 'destination_port'>): string {
  return `${o.detector}|${o.key_source}|${o.key_destination}|${part(o.destination_port)}`;
}

/** Aggregates observations by finding key. */
export function aggregate(observations: readonly Observation[], maxSamples: number): FindingAggregate[] {
  const byKey = new Map<string, { a: FindingAggregate; top: Observation; latest: Observation }>();
  for (const o of observations) {
    const key = findingKey(o);
    const cur = byKey.get(key);
    if (cur === undefined) {
      byKey.set(key, {
        top: o, latest: o,
        a: {
          key, detector: o.detector, severity: o.severity, title: o.title, ...pickParties(o), evidence: o.evidence, first_seen: o.ts,
          last_seen: o.ts, count: 1, sample_flow_ids: [o.flow_id], request_id: o.request_id,
        },
      });
      continue;
    }
    const { a } = cur;
    a.count++;
    a.first_seen = Math.min(a.first_seen, o.ts);
    a.sample_flow_ids.push(o.flow_id);
    if (a.sample_flow_ids.length > maxSamples) a.sample_flow_ids.shift();
    if (o.ts >= cur.latest.ts) {
      cur.latest = o;
      a.last_seen = o.ts;
      a.request_id = o.request_id ?? a.request_id;
      mergeParties(a, o);
    }
    const r = severityRank(o.severity) - severityRank(cur.top.severity);
    if (r > 0 || (r === 0 && o.ts >= cur.top.ts)) {
      cur.top = o;
      a.severity = o.severity;
      a.title = o.title;
      a.evidence = o.evidence;
    }
  }
  return [...byKey.values()].map((v) => v.a);
}
