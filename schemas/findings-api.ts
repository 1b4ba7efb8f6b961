/**
 * Request and response contracts of the findings and policy-replay API (`/api/v1/findings`,
 * `/api/v1/policy/replay`, `/api/v1/detectors/counters`). Same conventions as schemas/api.ts:
 * strict objects, every bad parameter answered 400 naming it, OpenAPI generated from these.
 */
import { z } from 'zod';
import { InstantSchema, StoredFlowSchema, cursorOf, pageOf } from './api.js';
import { DetectorSchema, FindingSchema, FindingStatusSchema, SeveritySchema } from './finding.js';

/** A query parameter given at most once (Express turns repeats into arrays). */
const single = <T extends z.ZodType<unknown, any>>(schema: T) =>
  z.string({ error: (i) => (Array.isArray(i.input) ? 'must be given once' : 'must be a string') }).pipe(schema);

const LIMIT_MESSAGE = 'must be an integer from 1 to 1000';

/** Cursor of /findings: the last row's (last_seen epoch ms, id). */
export const FindingCursorSchema = cursorOf(z.tuple([z.number().int(), z.string().regex(/^[0-9a-f]{32}$/)])).transform(([last_seen, id]) => ({ last_seen, id }));

export const FindingsQuerySchema = z
  .object({
    detector: single(DetectorSchema).optional().describe('Only findings of this detector.'),
    severity: single(SeveritySchema).optional().describe('Only findings of this severity.'),
    status: single(FindingStatusSchema).optional().describe('open, acknowledged, resolved or suppressed.'),
    source_principal: single(z.string().min(1).max(2048)).optional().describe('Caller SPIFFE ID, exact.'),
    destination_service: single(z.string().min(1).max(1024)).optional().describe('Destination service host, exact.'),
    from: single(InstantSchema).optional().describe('Seen at or after this time (last_seen >= from): ISO-8601 with a zone or epoch ms.'),
    to: single(InstantSchema).optional().describe('First seen before this time (first_seen < to).'),
    limit: single(z.coerce.number<string>({ error: LIMIT_MESSAGE }).int(LIMIT_MESSAGE).min(1, LIMIT_MESSAGE).max(1000, LIMIT_MESSAGE)).optional().describe('Page size, 1-1000 (default 100).'),
    cursor: single(FindingCursorSchema).optional().describe('next_cursor of the previous page.'),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'must not be after `to`', path: ['from'] });
export type FindingsQuery = z.infer<typeof FindingsQuerySchema>;

/** Path parameters of /findings/{id}. */
export const FindingIdParamsSchema = z
  .object({ id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a finding id (32 lower-case hex digits)').describe('Finding id.') })
  .strict();

/** Body of PATCH /findings/{id}. A reason is required for every status but `open`. */
export const FindingPatchSchema = z
  .object({
    status: FindingStatusSchema.describe('The new status.'),
    reason: z.string().trim().min(1, 'must not be empty').max(2000).nullable().optional().describe('Why (required for acknowledged, resolved and suppressed).'),
  })
  .strict()
  .refine((b) => b.status === 'open' || (typeof b.reason === 'string' && b.reason.length > 0), { message: 'is required for this status', path: ['reason'] });
export type FindingPatch = z.infer<typeof FindingPatchSchema>;

export const FindingsPageSchema = pageOf(FindingSchema);
export const FindingDetailSchema = FindingSchema.extend({ sample_flows: z.array(StoredFlowSchema) });

/** Body of POST /policy/replay: inline YAML, or the server's configured directory. */
export const ReplayRequestSchema = z
  .object({
    policies_yaml: z.string().min(1).max(60_000).optional().describe('Candidate policies as YAML (several documents separated by ---).'),
    policies: z.literal('configured').optional().describe('"configured": use the server-side directory `detectors.replay_policies_dir`. No other path is accepted.'),
    from: InstantSchema.optional().describe('Start, inclusive: ISO-8601 with a zone or epoch ms (as a string).'),
    to: InstantSchema.optional().describe('End, exclusive.'),
  })
  .strict()
  .refine((b) => (b.policies_yaml === undefined) !== (b.policies === undefined), { message: 'give exactly one of policies_yaml or policies', path: ['policies_yaml'] })
  .refine((b) => b.from === undefined || b.to === undefined || b.from <= b.to, { message: 'must not be after `to`', path: ['from'] });
export type ReplayRequest = z.infer<typeof ReplayRequestSchema>;

const ReplayGroupSchema = z.object({
  caller: z.string(), source_principal: z.string().nullable(), destination: z.string(), destination_namespace: z.string().nullable(),
  method: z.string().nullable(), path: z.string().nullable(), port: z.number().int().nullable(), count: z.number().int(),
  first_seen: z.string(), last_seen: z.string(), sample_flow_ids: z.array(z.number().int()), reason: z.string(), matched: z.string().nullable(),
  caller_ips: z.array(z.string()),
});

export const ReplayResponseSchema = z.object({
  policy_digest: z.string(), from: z.string().nullable(), to: z.string().nullable(), flows_scanned: z.number().int(), evaluated: z.number().int(),
  truncated: z.boolean(), would_deny: z.array(ReplayGroupSchema), would_allow: z.array(ReplayGroupSchema), undecided: z.array(ReplayGroupSchema),
  totals: z.object({ would_deny: z.number().int(), would_allow: z.number().int(), undecided: z.number().int(), unchanged_allowed: z.number().int(), unchanged_denied: z.number().int(), unresolved: z.number().int() }),
  problems: z.array(z.object({ document: z.number().int(), severity: z.string(), kind: z.string().nullable(), resource: z.string().nullable(), path: z.string(), message: z.string() })),
});

export const DetectorCountersSchema = z.record(z.string(), z.record(z.string(), z.number().int()));
