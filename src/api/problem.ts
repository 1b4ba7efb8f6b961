/**
 * Problem details (RFC 9457) for API errors, and the helpers that validate a request's query
 * and path parameters against zod schemas, turning every issue into a named parameter error.
 */
import type { Response } from 'express';
import type { z } from 'zod';
import type { Problem } from '../../schemas/api.js';

/** An error the API answers with a problem+json body. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem, readonly headers: Record<string, string> = {}) {
    super(problem.detail);
    this.name = 'ProblemError';
  }
}

/** Sends `problem` as application/problem+json. */
export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  res.status(problem.status).set(headers).type('application/problem+json').send(JSON.stringify(problem));
}

/** A problem without parameter details (404, 401, 429, ...). */
export function problem(status: number, title: string, detail: string): ProblemError {
  return new ProblemError({ type: 'about:blank', title, status, detail });
}

/**
 * Parses `input` with `schema`, or throws a 400 problem naming each offending parameter;
 * `whole` names an issue about the input as a whole (no field to point at).
 */
export function validateQuery<S extends z.ZodType>(schema: S, input: unknown, whole = '(query)'): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return { parameter: issue.keys.join(', '), message: 'is not a known parameter' };
    }
    return { parameter: issue.path.map(String).join('.') || whole, message: issue.message };
  });
  throw new ProblemError({
    type: 'https://meshtrail.dev/problems/invalid-parameter',
    title: 'Invalid request parameter',
    status: 400,
    detail: errors.map((e) => `${e.parameter}: ${e.message}`).join('; '),
    errors,
  });
}

/** Path parameters are validated like query parameters (same 400 shape). */
export const validateParams = validateQuery;

/**
 * A JSON request body is validated like the query (same 400 shape, fields named by their path).
 * No body (none sent, or a content type the JSON parser skips) is `{}`, so the answer names
 * the required fields rather than a missing body.
 */
export function validateBody<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  return validateQuery(schema, input, '(body)');
}
