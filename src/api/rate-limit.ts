/**
 * Per-caller rate limiting: a token bucket per API token (per client address on an open API),
 * in memory. Over the limit a request is answered 429 with Retry-After. The number of buckets is
 * bounded: the least recently used are dropped first (a dropped bucket restarts full, which only
 * ever errs towards letting a request through).
 */
import type { RequestHandler } from 'express';
import type { ApiAuthConfig } from '../../schemas/api.js';
import { callerOf } from './auth.js';
import { ProblemError } from './problem.js';

const MAX_BUCKETS = 10_000;

/** A token bucket: `take` removes one token if there is one, refilling at `rate` per second. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  constructor(private readonly rate: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes a token; returns 0 when allowed, else the seconds until one is available. */
  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens >= 1) { this.tokens -= 1; return 0; }
    return (1 - this.tokens) / this.rate;
  }
}

/** Middleware enforcing `limit` per caller; `now` is injectable for tests. */
export function rateLimit(limit: ApiAuthConfig['rate_limit'], now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, TokenBucket>();
  return (req, res, next) => {
    const caller = callerOf(res);
    const key = caller && !caller.anonymous ? `token:${caller.name}` : `addr:${req.socket.remoteAddress ?? '?'}`;
    let bucket = buckets.get(key);
    if (bucket) buckets.delete(key); // re-inserted below: Map order is recency order
    else bucket = new TokenBucket(limit.requests_per_second, limit.burst, now());
    buckets.set(key, bucket);
    if (buckets.size > MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
    const wait = bucket.take(now());
    if (wait === 0) return next();
    next(new ProblemError(
      { type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'rate limit exceeded; retry after the time in Retry-After' },
      { 'Retry-After': String(Math.max(1, Math.ceil(wait))) },
    ));
  };
}
