/**
 * Request and response contracts of the HTTP API. Every query and path parameter is validated
 * here; a request with an unknown or malformed parameter is answered 400 with a problem+json body
 * naming the parameter (RFC 9457). The OpenAPI document (/api/v1/openapi.json) is generated from
 * these same schemas, so the docs cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { FlowSchema, ReporterSchema } from './flow.js';

/** A query parameter given at most once (Express turns repeats into arrays). */
const single = <T extends z.ZodType<unknown, any>>(schema: T) =>
  z.string({ error: (i) => (Array.isArray(i.input) ? 'must be given once' : 'must be a string') }).pipe(schema);

/** An instant: ISO-8601 with a zone, or epoch milliseconds. Parsed to epoch ms. */
export const InstantSchema = z.string().transform((s, ctx) => {
  const ms = /^\d{1,15}$/.test(s) ? Number(s) : /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(s) ? Date.parse(s) : Number.NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time with a zone (2026-01-02T03:04:05Z) or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

/**
 * A cursor schema: base64url of the JSON array `tuple` describes (the last row's sort key).
 * Anything else (tampered, from another endpoint, not base64) is a 400 naming `cursor`.
 */
export function cursorOf<T extends z.ZodTuple>(tuple: T) {
  return z.string().max(1000).transform((s, ctx): z.infer<T> => {
    try {
      if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new Error('not base64url');
      return tuple.parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8')));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this API' });
      return z.NEVER;
    }
  });
}

/** Encodes a row's sort key as an opaque cursor (the inverse of {@link cursorOf}). */
export function encodeKey(key: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const rowId = z.number().int().positive();
const epochMs = z.number().int();

/** The opaque pagination cursor of time-ordered lists: the last row's (ts, id). */
export const CursorSchema = cursorOf(z.tuple([epochMs, rowId])).transform(([ts, id]) => ({ ts, id }));

/** Encodes the (ts, id) sort key of a row as a cursor. */
export function encodeCursor(ts: number, id: number): string {
  return encodeKey([ts, id]);
}

/** Cursor of /edges: the last edge's (source principal id, destination service id, port) key. */
export const EdgeCursorSchema = cursorOf(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().min(-1).max(65535)]));

/** Cursor of /principals: the last row's (principal, namespace id). */
export const PrincipalCursorSchema = cursorOf(z.tuple([z.string().max(4096), z.number().int().nonnegative()]));

const LIMIT_MESSAGE = 'must be an integer from 1 to 1000';
const limit = single(z.coerce.number<string>({ error: LIMIT_MESSAGE }).int(LIMIT_MESSAGE).min(1, 'must be at least 1').max(1000, 'must be at most 1000'))
  .optional()
  .describe('Page size, 1-1000 (default 100). With `format=ndjson|csv` it caps the export; without it the export holds every matching row.');

/** Default page size of JSON list responses. */
export const DEFAULT_PAGE_SIZE = 100;

const format = single(z.enum(['json', 'ndjson', 'csv']))
  .optional()
  .describe('json (default): one page with next_cursor. ndjson / csv: every matching row from `cursor` on, streamed.');

/** Response code filter: an exact code (503) or a class (5xx). */
export const ResponseCodeFilterSchema = z.string().regex(/^([0-9]{1,3}|[1-5]xx)$/, 'must be a status code (503) or a class (5xx)').transform((s) =>
  s.endsWith('xx') ? { classOf: Number(s[0]) } : { code: Number(s) });

/** A Kubernetes namespace name (RFC 1123 label). */
const NamespaceSchema = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name');

/**
 * A principal filter: an exact SPIFFE ID (or raw principal), `ns/<namespace>` for every principal
 * of a namespace (`spiffe://<td>/ns/<namespace>/...`), or a prefix ending in `*`.
 */
export const PrincipalFilterSchema = z.string().min(1).max(2048).transform((s, ctx) => {
  if (s.startsWith('ns/')) {
    const ns = NamespaceSchema.safeParse(s.slice(3));
    if (ns.success) return { kind: 'namespace' as const, value: ns.data };
    ctx.addIssue({ code: 'custom', message: '`ns/<namespace>` needs a Kubernetes namespace name' });
    return z.NEVER;
  }
  const star = s.indexOf('*');
  if (star === -1) return { kind: 'exact' as const, value: s };
  if (star === s.length - 1 && s.length > 1) return { kind: 'prefix' as const, value: s.slice(0, -1) };
  ctx.addIssue({ code: 'custom', message: 'a `*` may only end a non-empty prefix' });
  return z.NEVER;
});
export type PrincipalFilter = z.infer<typeof PrincipalFilterSchema>;

const timeRangeRefinement: [(q: { from?: number | undefined; to?: number | undefined }) => boolean, { message: string; path: string[] }] = [
  (q) => q.from === undefined || q.to === undefined || q.from <= q.to,
  { message: 'must not be after `to`', path: ['from'] },
];

const from = single(InstantSchema).describe('Start, inclusive: ISO-8601 with a zone or epoch ms.');
const to = single(InstantSchema).describe('End, exclusive: ISO-8601 with a zone or epoch ms.');

export const FlowsQuerySchema = z
  .object({
    from: from.optional(),
    to: to.optional(),
    direction: single(z.enum(['inbound', 'outbound'])).optional().describe('inbound or outbound, as the reporting proxy saw it.'),
    response_code: single(ResponseCodeFilterSchema).optional().describe('An exact status (503) or a class (5xx).'),
    destination_service: single(z.string().min(1).max(1024)).optional().describe('Destination service host, exact.'),
    request_id: single(z.string().min(1).max(1024)).optional().describe('x-request-id, exact.'),
    source_principal: single(PrincipalFilterSchema).optional().describe('Caller: exact SPIFFE ID, `ns/<namespace>`, or a prefix ending in `*`.'),
    namespace: single(NamespaceSchema).optional().describe('Source or destination namespace.'),
    response_flag: single(z.string().regex(/^[A-Z]{2,6}$/, 'must be one Envoy response flag, e.g. UH')).optional().describe('One Envoy response flag (UH, UF, NR, ...); matches flows carrying it among others.'),
    mtls: single(z.enum(['true', 'false', 'unknown'])).optional().describe('mTLS verdict: true, false (plaintext) or unknown.'),
    reporter_pod: single(z.string().min(1).max(253)).optional().describe('Pod of the proxy that wrote the line, exact.'),
    limit,
    cursor: single(CursorSchema).optional().describe('next_cursor of the previous page.'),
    format,
  })
  .strict()
  .refine(...timeRangeRefinement);
export type FlowsQuery = z.infer<typeof FlowsQuerySchema>;

export const QuarantineQuerySchema = z
  .object({
    reason: single(z.string().min(1).max(200)).optional().describe('Reason code, exact (e.g. unrecognised_format).'),
    limit,
    cursor: single(CursorSchema).optional().describe('next_cursor of the previous page.'),
    format,
  })
  .strict();
export type QuarantineQuery = z.infer<typeof QuarantineQuerySchema>;

/** Path parameters of /flows/{id}: a positive row id, nothing else (no paths, signs or exponents). */
export const FlowIdParamsSchema = z
  .object({
    id: z.string().regex(/^[1-9][0-9]{0,14}$/, 'must be a positive integer flow id').transform(Number).describe('Flow id.'),
  })
  .strict();

/** Path parameters of /requests/{request_id}. */
export const RequestParamsSchema = z
  .object({
    // eslint-disable-next-line no-control-regex
    request_id: z.string().min(1).max(1024).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters').describe('x-request-id shared by every hop.'),
  })
  .strict();

export const RequestQuerySchema = z
  .object({ limit, cursor: single(CursorSchema).optional().describe('next_cursor of the previous page.'), format })
  .strict();
export type RequestQuery = z.infer<typeof RequestQuerySchema>;

export const EdgesQuerySchema = z
  .object({
    from: from.describe('Start, inclusive; floored to the minute (to the hour when both ends are whole hours, which reads hourly rollups).'),
    to: to.describe('End, exclusive; raised to the next minute boundary.'),
    namespace: single(NamespaceSchema).optional().describe('Only edges whose source or destination is in this namespace.'),
    direction: single(z.enum(['inbound', 'outbound'])).optional().describe('Only flows reported in this direction (a sidecar mesh reports each call twice: outbound at the caller, inbound at the server).'),
    limit,
    cursor: single(EdgeCursorSchema).optional().describe('next_cursor of the previous page.'),
    format,
  })
  .strict()
  .refine(...timeRangeRefinement);
export type EdgesQuery = z.infer<typeof EdgesQuerySchema>;

export const PrincipalsQuerySchema = z
  .object({
    from: from.optional().describe('Only principals whose [first_seen, last_seen] span reaches this instant or later.'),
    to: to.optional().describe('Only principals first seen before this instant.'),
    namespace: single(NamespaceSchema).optional().describe('Only principals seen in this namespace.'),
    role: single(z.enum(['source', 'destination'])).optional().describe('Only principals seen as caller (source) or as server (destination).'),
    limit,
    cursor: single(PrincipalCursorSchema).optional().describe('next_cursor of the previous page.'),
    format,
  })
  .strict()
  .refine(...timeRangeRefinement);
export type PrincipalsQuery = z.infer<typeof PrincipalsQuerySchema>;

/** Steps of /stats/timeseries, in minutes. */
export const STEP_MINUTES = { '1m': 1, '5m': 5, '1h': 60, '1d': 1440 } as const;
/** Most points one timeseries answer may hold. */
export const MAX_TIMESERIES_POINTS = 10_000;

export const TimeseriesQuerySchema = z
  .object({
    metric: single(z.enum(['requests', 'errors', 'plaintext'])).describe('requests; errors (5xx, or no response with response flags); plaintext (mTLS verdict false).'),
    step: single(z.enum(['1m', '5m', '1h', '1d'])).describe('Bucket width; buckets are aligned to UTC.'),
    from: from.describe('Start, inclusive; floored to the step.'),
    to: to.describe('End, exclusive; raised to the next step boundary.'),
    namespace: single(NamespaceSchema).optional().describe('Only flows whose source or destination is in this namespace.'),
    direction: single(z.enum(['inbound', 'outbound'])).optional().describe('Only flows reported in this direction.'),
  })
  .strict()
  .refine(...timeRangeRefinement)
  .refine((q) => (q.to - q.from) / 60_000 / STEP_MINUTES[q.step] <= MAX_TIMESERIES_POINTS, {
    message: `gives more than ${MAX_TIMESERIES_POINTS} points for this range; use a larger step`,
    path: ['step'],
  });
export type TimeseriesQuery = z.infer<typeof TimeseriesQuerySchema>;

/** Query schema of endpoints without parameters (only unknown parameters are refused). */
export const EmptyQuerySchema = z.object({}).strict();

// --- responses ------------------------------------------------------------------------------

/** A page of a list endpoint; `next_cursor` is null on the last page. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });

export const StoredFlowSchema = FlowSchema.extend({
  id: z.number().int().positive(),
  source: z.object({ key: z.string(), pos: z.number().int(), line: z.number().int().nullable() }),
});

export const QuarantineEntrySchema = z.object({
  id: z.number().int().positive(),
  source: z.object({ key: z.string(), label: z.string().nullable(), pos: z.number().int(), line: z.number().int().nullable() }),
  reason: z.string(),
  detail: z.string(),
  raw: z.string(),
  received_at: z.string(),
});

/** One hop of a request: one proxy's view of it, with both sides' identities and TLS facts. */
export const RequestHopSchema = z.object({
  hop: z.number().int().positive().describe('1-based position in time order.'),
  flow_id: z.number().int().positive(),
  start_time: z.string().nullable(),
  reporter: ReporterSchema,
  direction: z.enum(['inbound', 'outbound']).nullable(),
  source: z.object({ principal: z.string().nullable(), namespace: z.string().nullable(), service_account: z.string().nullable(), workload: z.string().nullable(), address: z.string().nullable() }),
  destination: z.object({ principal: z.string().nullable(), namespace: z.string().nullable(), service_account: z.string().nullable(), workload: z.string().nullable(), service: z.string().nullable(), port: z.number().int().nullable(), upstream_host: z.string().nullable() }),
  tls: z.object({ mtls: z.boolean().nullable(), mtls_evidence: z.string().nullable(), tls_version: z.string().nullable(), tls_cipher: z.string().nullable(), requested_server_name: z.string().nullable() }),
  method: z.string().nullable(),
  path: z.string().nullable(),
  response_code: z.number().int().nullable(),
  response_flags: z.array(z.string()),
  duration: z.number().nullable(),
});
export type RequestHop = z.infer<typeof RequestHopSchema>;
export const RequestHopsPageSchema = pageOf(RequestHopSchema).extend({ request_id: z.string() });

/** One edge of the call graph over a time window, from the rollups. */
export const EdgeSchema = z.object({
  source_principal: z.string().nullable().describe('Caller SPIFFE ID; null when no line proved it.'),
  destination_service: z.string().nullable(),
  destination_port: z.number().int().nullable(),
  requests: z.number().int(),
  errors: z.number().int(),
  mtls: z.number().int().describe('Requests with mTLS verdict true.'),
  plaintext: z.number().int().describe('Requests with mTLS verdict false.'),
  unknown: z.number().int().describe('Requests whose lines prove neither.'),
  bytes: z.number().int(),
  first_seen: z.string(),
  last_seen: z.string(),
});
export type Edge = z.infer<typeof EdgeSchema>;
export const EdgesPageSchema = pageOf(EdgeSchema).extend({ from: z.string(), to: z.string() });

/** An identity seen in flows. */
export const PrincipalSchema = z.object({
  principal: z.string(),
  namespace: z.string().nullable(),
  as_source: z.number().int().describe('Flows where it was the caller.'),
  as_destination: z.number().int().describe('Flows where it was the server.'),
  first_seen: z.string(),
  last_seen: z.string(),
});
export type Principal = z.infer<typeof PrincipalSchema>;

export const TimeseriesSchema = z.object({
  metric: z.enum(['requests', 'errors', 'plaintext']),
  step: z.enum(['1m', '5m', '1h', '1d']),
  from: z.string(),
  to: z.string(),
  points: z.array(z.object({ t: z.string(), value: z.number().int() })).describe('One point per step, zeros included.'),
});
export type Timeseries = z.infer<typeof TimeseriesSchema>;

export const HealthSchema = z.object({ status: z.literal('ok'), flows: z.number().int(), quarantine: z.number().int() });

/** RFC 9457 problem details, with the offending parameters for validation errors. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ parameter: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

// --- configuration fragments (merged into schemas/config.ts `api` by the lead) ---------------

/** One API token. Only its SHA-256 is configured, so the config file never holds a usable secret. */
export const ApiTokenSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -').describe('Who holds the token; used in logs, metrics and rate limiting, never the token itself.'),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of the SHA-256 of the token').transform((s) => s.toLowerCase())
      .describe('Hex SHA-256 of the bearer token (e.g. `printf %s "$TOKEN" | sha256sum`).'),
    role: z.enum(['read', 'admin']).describe('read: every GET; admin: also changing routes (replay, finding status).'),
  })
  .strict();
export type ApiToken = z.infer<typeof ApiTokenSchema>;

/**
 * Access control of the API: `tokens` (when non-empty every /api/v1 request needs
 * `Authorization: Bearer <token>`) and the per-token rate limit.
 */
export const ApiAuthConfigSchema = z
  .object({
    tokens: z.array(ApiTokenSchema).default([]).describe('Bearer tokens, hashed. Empty (default): the API is open, which is only safe on 127.0.0.1.')
      .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, 'token names must be unique')
      .refine((ts) => new Set(ts.map((t) => t.sha256)).size === ts.length, 'the same token is configured twice'),
    rate_limit: z
      .object({
        requests_per_second: z.number().positive().max(100_000).default(50).describe('Sustained requests per second per token (per client address when no tokens are configured).'),
        burst: z.number().int().min(1).max(100_000).default(100).describe('Requests a token may make at once before the sustained rate applies.'),
      })
      .strict()
      .default({ requests_per_second: 50, burst: 100 })
      .describe('Token-bucket rate limit; over it the API answers 429 with Retry-After.'),
  })
  .strict();
export type ApiAuthConfig = z.infer<typeof ApiAuthConfigSchema>;

/** Optional TLS for the API listener (PEM files). */
export const ApiTlsConfigSchema = z
  .object({
    cert_file: z.string().min(1).describe('PEM certificate chain of the API listener.'),
    key_file: z.string().min(1).describe('PEM private key of the API listener.'),
  })
  .strict();
export type ApiTlsConfig = z.infer<typeof ApiTlsConfigSchema>;
