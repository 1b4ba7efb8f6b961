/**
 * The signed mTLS-enforcement evidence report. The `report` object is what is signed: its
 * canonical JSON (keys sorted, no whitespace) is hashed with SHA-256 and signed with Ed25519, so
 * changing any number, name or the embedded policy digest breaks verification.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

export const MtlsDestinationSchema = z.object({
  namespace: z.string().nullable(),
  workload: z.string().describe('Destination workload or service; the local address when the line names neither.'),
  workload_from: z.string().describe('Which field named the workload.'),
  port: z.number().int().nullable(),
  requests: count,
  mtls_verified: count.describe('Requests whose server-side line proves a mutually authenticated peer.'),
  plaintext: count,
  unknown: count,
  unknown_reasons: z.record(z.string(), count).describe('Why the verdict is unknown, with counts.'),
  evidence: z.record(z.string(), count).describe('The evidence kinds behind the verdicts, with counts.'),
  effective_mode: z.string().describe('PeerAuthentication mode in force: STRICT, PERMISSIVE, DISABLE, or unknown.'),
  mode_source: z.string().nullable(),
  mode_note: z.string().nullable(),
  plaintext_callers: z.array(z.object({ caller: z.string(), requests: count })),
  tls_versions: z.record(z.string(), count),
  first_seen: z.string().nullable(),
  last_seen: z.string().nullable(),
  status: z.enum(['enforced', 'violation', 'plaintext_seen', 'unproven', 'no_plaintext_seen']),
});

export const MtlsReportSchema = z.object({
  kind: z.literal('meshtrail.mtls-report'),
  version: z.literal(1),
  generated_at: z.string(),
  window: z.object({ from: z.string(), to: z.string() }),
  namespace: z.string().nullable(),
  controls: z.array(z.object({ id: z.string(), title: z.string() })),
  policy: z.object({ sha256: z.string().nullable(), resources: count, note: z.string() }),
  totals: z.object({ requests: count, mtls_verified: count, plaintext: count, unknown: count, destinations: count }),
  destinations: z.array(MtlsDestinationSchema),
  namespaces: z.array(z.object({
    namespace: z.string(),
    mode: z.string(),
    plaintext: count,
    requests: count,
    readiness: z.string().describe('For PERMISSIVE: whether switching to STRICT would have broken traffic in the window.'),
  })),
  coverage: z.object({
    destinations_with_server_side_evidence: count,
    destinations_seen_only_from_clients: z.array(z.string()),
    counted_window: z.object({ from: z.string(), to: z.string() }).optional().describe('The window the counts cover: the requested one, or wider where an edge off the hour was rounded to whole hours of the rollup (see caveats).'),
    data_deleted_before: z.string().nullable().optional().describe('The hourly mTLS rollup holds nothing older than this time (ISO-8601): retention deleted it (or deleted the raw flows before an upgrade created the rollup from them); the part of the window before it is not covered. Null when the whole window is retained.'),
    statement: z.string(),
  }),
  caveats: z.array(z.string()),
});

export const SignatureSchema = z.object({
  algorithm: z.literal('Ed25519'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  public_key: z.string().describe('SPKI DER, base64.'),
  key_fingerprint: z.string().describe('SHA-256 of the SPKI DER, hex: pin it with --public-key.'),
  value: z.string().describe('Ed25519 signature over the canonical JSON of `report`, base64.'),
});

export const SignedMtlsReportSchema = z.object({ report: MtlsReportSchema, signature: SignatureSchema });

export type MtlsDestination = z.infer<typeof MtlsDestinationSchema>;
export type MtlsReport = z.infer<typeof MtlsReportSchema>;
export type SignedMtlsReport = z.infer<typeof SignedMtlsReportSchema>;
