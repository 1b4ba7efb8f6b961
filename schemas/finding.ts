/**
 * Findings and the events that report them to SIEMs.
 *
 * A finding is one problem, not one log line: detectors aggregate flows by a stable key
 * (detector + source + destination + port) with first/last seen, a count and sample flow ids.
 * Every change a SOC must hear about (opened, reopened, severity changed, resolved) writes one
 * `FindingEvent` to the outbox in the same transaction as the finding; sinks deliver events in
 * order, each with its own cursor, and receivers deduplicate by `event_id`.
 */
import { z } from 'zod';

export const DETECTORS = ['plaintext', 'unexpected-principal', 'denied-egress', 'unregistered-egress', 'weak-tls', 'policy-pitfall'] as const;
export const DetectorSchema = z.enum(DETECTORS).describe('The threat a detector looks for.');

export const SeveritySchema = z.enum(['info', 'low', 'medium', 'high', 'critical']);
export const FindingStatusSchema = z.enum(['open', 'acknowledged', 'resolved', 'suppressed']);

/** Severity on the 0-10 scale CEF and most SIEMs use. */
export const SEVERITY_SCORE: Record<z.infer<typeof SeveritySchema>, number> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

const text = z.string().nullable();

export const FindingSchema = z
  .object({
    id: z.string().describe('Stable id: a hash of detector and key; the same problem keeps its id across restarts.'),
    key: z.string().describe('Aggregation key (detector|source|destination|port) in readable form.'),
    detector: DetectorSchema,
    severity: SeveritySchema,
    status: FindingStatusSchema,
    status_reason: text.describe('Why it was acknowledged, resolved or suppressed.'),
    title: z.string().describe('One sentence a responder understands.'),
    source_principal: text,
    source_workload: text,
    source_namespace: text,
    destination_service: text,
    destination_namespace: text,
    destination: text.describe('Host or ip:port for egress findings.'),
    destination_port: z.number().int().min(0).max(65535).nullable(),
    first_seen: z.iso.datetime(),
    last_seen: z.iso.datetime(),
    count: z.number().int().nonnegative(),
    evidence: z.record(z.string(), z.unknown()).describe('The facts, the policy or mode that made it a finding, and any inference used.'),
    sample_flow_ids: z.array(z.number().int().positive()).max(20),
    request_id: text.describe('Request id of the latest sample, to follow the hops.'),
    updated_at: z.iso.datetime(),
  })
  .strict();

export const FindingEventTypeSchema = z.enum(['opened', 'reopened', 'severity_changed', 'resolved']);

/** One outbox row: what changed about a finding, with the finding as it stood then. */
export const FindingEventSchema = z
  .object({
    event_id: z.string().describe('Stable id (finding id + sequence): receivers deduplicate redeliveries by it.'),
    seq: z.number().int().positive().describe('Outbox sequence number; sinks deliver in this order.'),
    type: FindingEventTypeSchema,
    at: z.iso.datetime(),
    finding: FindingSchema,
  })
  .strict();

export type Detector = z.infer<typeof DetectorSchema>;
export type Severity = z.infer<typeof SeveritySchema>;
export type FindingStatus = z.infer<typeof FindingStatusSchema>;
export type Finding = z.infer<typeof FindingSchema>;

/** Who and what a finding is about: named by the detector, carried through aggregation and storage as is. */
export const FINDING_PARTY_FIELDS = ['source_principal', 'source_workload', 'source_namespace', 'destination_service',
  'destination_namespace', 'destination', 'destination_port'] as const;
export type FindingParties = Pick<Finding, (typeof FINDING_PARTY_FIELDS)[number]>;

/** The party fields of `from` (an observation, aggregate or row), and nothing else. */
export function pickParties(from: FindingParties): FindingParties {
  const out: Record<string, unknown> = {};
  for (const k of FINDING_PARTY_FIELDS) out[k] = from[k];
  return out as FindingParties;
}

/** Merges a later sighting into `into`: each party it names replaces the earlier one; what it leaves unknown is kept. */
export function mergeParties(into: FindingParties, later: FindingParties): void {
  const target = into as Record<keyof FindingParties, unknown>;
  for (const k of FINDING_PARTY_FIELDS) target[k] = later[k] ?? into[k];
}
export type FindingEventType = z.infer<typeof FindingEventTypeSchema>;
export type FindingEvent = z.infer<typeof FindingEventSchema>;
