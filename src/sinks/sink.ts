/**
 * The contract between the dispatcher and a sink (STYLE.md §2 Sink), and the one HTTP status
 * mapping every HTTP sink shares.
 *
 * A sink turns a batch of outbox events into one delivery and says what happened:
 * - `'ok'`: the receiver acknowledged every event of the batch; the cursor moves past it.
 * - `{ retry }`: nothing is known to be delivered; the same batch is sent again after a backoff
 *   (at least `afterMs` when the receiver asked for it, e.g. Retry-After). Receivers may thus see
 *   an event twice and deduplicate by `event_id`.
 * - `{ reject, code }`: the receiver refused the configuration (bad token, unknown index, bad
 *   request); retrying cannot help, so the dispatcher parks the sink with the error shown.
 * A sink never throws for delivery problems; a throw is treated as `retry` with reason `exception`.
 */
import type { FindingEvent } from '../../schemas/finding.js';
import type { FlowEvent } from './flow-feed.js';

/** Outcome of one {@link Sink.send}. `retry`/`code` are low-cardinality reasons (`http_503`). */
export type SendResult =
  | 'ok'
  | { retry: string; afterMs?: number; detail?: string }
  | { reject: string; code: string };

/** A destination for findings events. */
export interface Sink {
  /** Name that keys the cursor, logs and metrics. */
  readonly name: string;
  /** Config type id (`syslog`, `splunk_hec`, `webhook`, `kafka`). */
  readonly type: string;
  /** Delivers `events` (ascending seq, non-empty); must settle soon after `signal` aborts. */
  send(events: FindingEvent[], signal: AbortSignal): Promise<SendResult>;
  /**
   * Delivers forwarded raw flows (ascending id, non-empty), with the same outcomes as `send`.
   * Required of sinks whose config has `flows`; findings and flows never share a batch.
   */
  sendFlows?(flows: FlowEvent[], signal: AbortSignal): Promise<SendResult>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

/** Parses a Retry-After header (delta-seconds or an HTTP date) into ms, if present and sane. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * HTTP status to outcome, as Fluent Bit's out_http does: 2xx ok; 408, 429 and 5xx retry (with
 * Retry-After honoured); any other status (401/403 bad credentials, 400 bad payload or index,
 * 404 wrong URL, 3xx redirect we do not follow) rejects, because it needs a person to fix it.
 */
export function httpOutcome(status: number, body: string, retryAfter?: string | string[]): SendResult {
  if (status >= 200 && status < 300) return 'ok';
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 300);
  if (status === 408 || status === 429 || status >= 500) {
    const afterMs = retryAfterMs(retryAfter);
    return { retry: `http_${status}`, ...(afterMs === undefined ? {} : { afterMs }), detail: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` };
  }
  return { reject: `receiver answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`, code: `http_${status}` };
}
