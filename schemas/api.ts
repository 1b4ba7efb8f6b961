/**
 * Request and response contracts of the HTTP API. Every query parameter is validated here;
 * a request with an unknown or malformed parameter is answered 400 with a problem+json body
 * naming the parameter (RFC 9457).
 */
import { z } from 'zod';

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

/** The opaque pagination cursor: base64url of the last row's sort key. */
export const CursorSchema = z.string().max(200).transform((s, ctx) => {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    const parsed = z.tuple([z.number().int(), z.number().int().positive()]).parse(v);
    return { ts: parsed[0], id: parsed[1] };
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this API' });
    return z.NEVER;
  }
});

/** Encodes the sort key of a row as a cursor. */
export function encodeCursor(ts: number, id: number): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

const limit = z.coerce.number<string>({ error: 'must be an integer from 1 to 1000' }).int('must be an integer from 1 to 1000').min(1, 'must be at least 1').max(1000, 'must be at most 1000');

/** Response code filter: an exact code (503) or a class (5xx). */
export const ResponseCodeFilterSchema = z.string().regex(/^([0-9]{1,3}|[1-5]xx)$/, 'must be a status code (503) or a class (5xx)').transform((s) =>
  s.endsWith('xx') ? { classOf: Number(s[0]) } : { code: Number(s) });

export const FlowsQuerySchema = z
  .object({
    from: single(InstantSchema).optional(),
    to: single(InstantSchema).optional(),
    direction: single(z.enum(['inbound', 'outbound'])).optional(),
    response_code: single(ResponseCodeFilterSchema).optional(),
    destination_service: single(z.string().min(1).max(1024)).optional(),
    request_id: single(z.string().min(1).max(1024)).optional(),
    limit: single(limit).default(100),
    cursor: single(CursorSchema).optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'must not be after `to`', path: ['from'] });
export type FlowsQuery = z.infer<typeof FlowsQuerySchema>;

export const QuarantineQuerySchema = z
  .object({
    reason: single(z.string().min(1).max(200)).optional(),
    limit: single(limit).default(100),
    cursor: single(CursorSchema).optional(),
  })
  .strict();
export type QuarantineQuery = z.infer<typeof QuarantineQuerySchema>;

/** RFC 9457 problem details, with the offending parameters for validation errors. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ parameter: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;
