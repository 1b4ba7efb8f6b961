/**
 * Identity/TLS coverage: what the access-log formats in use let meshtrail prove. Two readers share
 * these shapes: `GET /api/v1/coverage` (from stored flows) and `meshtrail doctor --json` (from a
 * sample of log lines, which also sees which operators each line's format carries).
 */
import { z } from 'zod';
import { InstantSchema } from './api.js';

/** A query parameter given at most once (Express turns repeats into arrays). */
const single = <T extends z.ZodType<unknown, any>>(schema: T) =>
  z.string({ error: (i) => (Array.isArray(i.input) ? 'must be given once' : 'must be a string') }).pipe(schema);

/** Reporter kind and, for sidecars, direction: the unit coverage is reported in. */
export const CoverageGroupSchema = z
  .enum(['sidecar_inbound', 'sidecar_outbound', 'gateway', 'waypoint', 'ztunnel', 'unknown'])
  .describe('Reporter kind (sidecars split by direction: each direction is judged on a different connection).');
export type CoverageGroup = z.infer<typeof CoverageGroupSchema>;

/** What an mTLS verdict rests on (the rules of `src/enrich/mtls-verdict.ts`). */
export const EvidenceKindSchema = z
  .enum([
    'peer_uri_san', 'client_certificate', 'tls_version_absent', 'one_way_tls', 'heuristic_tls_listener',
    'tls_without_peer_certificate', 'ztunnel_identity', 'ztunnel_passthrough', 'ztunnel_no_identity',
    'heuristic_istio_sni', 'no_sni_plaintext', 'not_provable', 'other', 'none',
  ])
  .describe('peer_uri_san / client_certificate: a certificate in the line; tls_version_absent: Envoy saw no TLS; one_way_tls: TLS without a client certificate; heuristic_*: inferred, not proven; ztunnel_*: ztunnel identity rules; no_sni_plaintext: no ClientHello on a sidecar inbound listener; not_provable: the format lacks the fields.');
export type EvidenceKind = z.infer<typeof EvidenceKindSchema>;

/** Query of `GET /api/v1/coverage`. */
export const CoverageQuerySchema = z
  .object({
    from: single(InstantSchema).optional().describe('Start, inclusive: ISO-8601 with a zone or epoch ms. Default: the first stored flow.'),
    to: single(InstantSchema).optional().describe('End, exclusive: ISO-8601 with a zone or epoch ms. Default: after the last stored flow.'),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'must not be after `to`', path: ['from'] });
export type CoverageQuery = z.infer<typeof CoverageQuerySchema>;

/** Flows by mTLS verdict. */
export const VerdictCountsSchema = z.object({
  true: z.number().int().nonnegative().describe('Flows proven (or, per evidence, inferred) mutually authenticated.'),
  false: z.number().int().nonnegative().describe('Flows shown to be plaintext or one-way TLS.'),
  unknown: z.number().int().nonnegative().describe('Flows whose line proves neither.'),
});

export const EvidenceCountSchema = z.object({
  kind: EvidenceKindSchema,
  mtls: z.boolean().nullable(),
  flows: z.number().int().nonnegative(),
});

export const FormatCountSchema = z.object({ format: z.string(), flows: z.number().int().nonnegative() });

/** The verdict and principal facts of one group, as both readers report them. */
export const GroupVerdictsSchema = z.object({
  group: CoverageGroupSchema,
  flows: z.number().int().nonnegative(),
  mtls: VerdictCountsSchema,
  evidence: z.array(EvidenceCountSchema).describe('Flows per evidence kind and verdict, most frequent first.'),
  with_source_principal: z.number().int().nonnegative(),
  with_destination_principal: z.number().int().nonnegative(),
  source_principal_share: z.number().min(0).max(1),
  destination_principal_share: z.number().min(0).max(1),
  formats: z.array(FormatCountSchema).describe('Formats the lines were recognised as, most frequent first.'),
});
export type GroupVerdicts = z.infer<typeof GroupVerdictsSchema>;

/** Response of `GET /api/v1/coverage`. */
export const CoverageResponseSchema = z.object({
  from: z.string().nullable(),
  to: z.string().nullable(),
  flows: z.number().int().nonnegative(),
  groups: z.array(GroupVerdictsSchema),
});
export type CoverageResponse = z.infer<typeof CoverageResponseSchema>;

/** One identity/TLS fact in the doctor's report. */
export const FactCoverageSchema = z.object({
  id: z.string(),
  label: z.string(),
  operators: z.array(z.string()).describe('Envoy operators that carry the fact (any one suffices).'),
  weight: z.number().int().nonnegative(),
  carried: z.boolean().describe('At least one sampled line of the group carries it.'),
  share: z.number().min(0).max(1).describe('Share of the group\'s lines that carry it.'),
});

/** One group in the doctor's report. */
export const DoctorGroupSchema = GroupVerdictsSchema.extend({
  facts: z.array(FactCoverageSchema),
  score: z.number().int().min(0).max(100),
  cannot_prove: z.array(z.string()),
});
export type DoctorGroup = z.infer<typeof DoctorGroupSchema>;

/** `meshtrail doctor --json`. */
export const DoctorReportSchema = z.object({
  sample: z.object({
    lines: z.number().int().nonnegative().describe('Non-blank lines read (at most --sample).'),
    flows: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    failures: z.array(z.object({ reason: z.string(), lines: z.number().int().nonnegative(), example: z.string().describe('The detail of the first line that failed for this reason.') })),
  }),
  score: z.number().int().min(0).max(100),
  score_definition: z.string(),
  groups: z.array(DoctorGroupSchema),
  snippet: z.object({
    provider: z.string(),
    kind: z.enum(['labels', 'text']),
    added_operators: z.array(z.string()).describe('Identity/TLS operators the sampled lines lack that the snippet adds.'),
    labels: z.record(z.string(), z.string()),
    text: z.string(),
    yaml: z.string(),
    note: z.string(),
  }),
});
export type DoctorReport = z.infer<typeof DoctorReportSchema>;
