/**
 * Backoff for failed sends: exponential, capped, with "full jitter" (AWS architecture blog,
 * "Exponential Backoff And Jitter"), so many meshtrail instances behind one receiver do not
 * retry in lock-step after an outage.
 */
import type { SinkRetry } from '../../schemas/sinks-config.js';

/**
 * The wait before attempt `failures + 1`, ms: uniform in [cap/2, cap] where
 * cap = min(max_ms, initial_ms * 2^(failures-1)). Half the cap is kept fixed so the wait still
 * grows visibly; `random` is injectable for tests.
 */
export function backoffMs(retry: SinkRetry, failures: number, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(failures - 1, 0), 30);
  const cap = Math.min(retry.max_ms, retry.initial_ms * 2 ** exp);
  return Math.round(cap / 2 + random() * (cap / 2));
}
