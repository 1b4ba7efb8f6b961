/**
 * Webhook sink: one JSON POST per batch, `{"events": [<ECS document>, ...]}`, signed so the
 * receiver can check origin and freshness:
 *   X-Meshtrail-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
 * (the Stripe scheme: the timestamp is signed too, so an old body cannot be replayed with a new
 * time; receivers should refuse a `t` older than a few minutes and compare in constant time).
 *
 * Ack: 2xx. 408/429/5xx retry (Retry-After honoured); other statuses reject and park the sink.
 * A retried batch is signed again with a new timestamp; receivers deduplicate by `event.id`.
 */
import crypto from 'node:crypto';
import type { FindingEvent } from '../../schemas/finding.js';
import type { WebhookSinkConfig } from '../../schemas/sinks-config.js';
import { toEcs } from './ecs.js';
import { flowToEcs } from './flow-ecs.js';
import type { FlowEvent } from './flow-feed.js';
import { HttpPoster } from './http.js';
import type { SendResult, Sink } from './sink.js';

/** Header carrying the signature. */
export const SIGNATURE_HEADER = 'x-meshtrail-signature';

/** The signature header value for `body` at unix time `t` (seconds). */
export function signWebhook(secret: string, t: number, body: string): string {
  const mac = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/**
 * Receiver-side check of a signature header (exported for receivers written in TypeScript and
 * for tests): true when some `v1` matches and `t` is within `toleranceS` of `nowS`.
 */
export function verifyWebhook(secret: string, header: string | undefined, body: string, nowS = Math.floor(Date.now() / 1000), toleranceS = 300): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(signWebhook(secret, t, body).split('v1=')[1]!, 'hex');
  return parts.some(([k, v]) => {
    if (k !== 'v1' || !v || !/^[0-9a-f]+$/.test(v)) return false;
    const got = Buffer.from(v, 'hex');
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  });
}

/** Webhook {@link Sink}. */
export class WebhookSink implements Sink {
  readonly type = 'webhook';
  private readonly poster: HttpPoster;

  constructor(readonly name: string, private readonly cfg: WebhookSinkConfig, private readonly version: string, private readonly now: () => number = Date.now) {
    this.poster = new HttpPoster(cfg.url, cfg.timeout_ms, cfg.tls);
  }

  send(events: FindingEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.post(JSON.stringify({ events: events.map((e) => toEcs(e, { version: this.version })) }), signal);
  }

  /** Flows go in the same envelope; `event.kind: event` and `event.dataset: meshtrail.flow` tell them apart. */
  sendFlows(flows: FlowEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.post(JSON.stringify({ events: flows.map((e) => flowToEcs(e, { version: this.version })) }), signal);
  }

  private post(body: string, signal: AbortSignal): Promise<SendResult> {
    const t = Math.floor(this.now() / 1000);
    return this.poster.post(body, {
      ...this.cfg.headers,
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signWebhook(this.cfg.secret, t, body),
    }, signal);
  }

  async close(): Promise<void> {
    this.poster.close();
  }
}
