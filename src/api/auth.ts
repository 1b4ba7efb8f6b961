/**
 * Bearer-token access control. Tokens are configured as SHA-256 hashes (schemas/api.ts
 * `ApiAuthConfigSchema`); a presented token is hashed and compared with every configured hash in
 * constant time, so neither the response nor its timing tells which part was wrong. A missing,
 * malformed or unknown token is 401; a valid token whose role is too low is 403.
 *
 * With no tokens configured the API is open and every caller acts as admin: that is today's
 * behaviour, safe only because the listener binds to 127.0.0.1 by default.
 */
import crypto from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { ApiToken } from '../../schemas/api.js';
import { ProblemError } from './problem.js';

/** Who made a request, as established by {@link authenticate}. */
export interface Caller {
  name: string;
  role: ApiToken['role'];
  /** True when no tokens are configured (open API). */
  anonymous: boolean;
}

const RANK: Record<ApiToken['role'], number> = { read: 1, admin: 2 };

/** The hex SHA-256 of a token, as the configuration stores it. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The caller of a request that passed {@link authenticate}, if any. */
export function callerOf(res: Response): Caller | undefined {
  return res.locals.caller as Caller | undefined;
}

const unauthorized = () => new ProblemError(
  { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'a valid bearer token is required' },
  { 'WWW-Authenticate': 'Bearer realm="meshtrail"' },
);

/** Middleware that identifies the caller from `Authorization: Bearer <token>`. */
export function authenticate(tokens: readonly ApiToken[]): RequestHandler {
  const known = tokens.map((t) => ({ ...t, digest: Buffer.from(t.sha256, 'hex') }));
  return (req, res, next) => {
    if (res.locals.caller) return next();
    if (known.length === 0) {
      res.locals.caller = { name: 'anonymous', role: 'admin', anonymous: true } satisfies Caller;
      return next();
    }
    const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(req.get('authorization') ?? '');
    if (!m) return next(unauthorized());
    const digest = crypto.createHash('sha256').update(m[1]!, 'utf8').digest();
    let match: (typeof known)[number] | undefined;
    // Compare with every token, without stopping at the first match.
    for (const t of known) if (crypto.timingSafeEqual(digest, t.digest) && !match) match = t;
    if (!match) return next(unauthorized());
    res.locals.caller = { name: match.name, role: match.role, anonymous: false } satisfies Caller;
    next();
  };
}

/** Middleware that lets through only callers holding at least `role` (401 when unauthenticated). */
export function requireRole(role: ApiToken['role']): RequestHandler {
  return (_req, res, next) => {
    const caller = callerOf(res);
    if (!caller) return next(unauthorized());
    if (RANK[caller.role] < RANK[role]) {
      return next(new ProblemError({ type: 'about:blank', title: 'Forbidden', status: 403, detail: 'this token may not do that' }));
    }
    next();
  };
}
