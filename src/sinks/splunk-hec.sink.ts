/**
 * Splunk HTTP Event Collector sink: one POST to `/services/collector/event` per batch, the body
 * being newline-concatenated `{time, host, source, sourcetype, index?, event}` objects whose
 * `event` is the ECS document.
 *
 * Ack: HTTP 2xx from the collector means it accepted the whole batch (indexer acknowledgement,
 * `useACK`, is not used). 408/429/5xx retry (HEC answers 503 "server busy" under load);
 * other 4xx reject: 401/403 bad or disabled token, 400 bad index or data format -- a person must
 * fix the configuration, so the sink parks instead of retrying forever.
 */
import os from 'node:os';
import type { FindingEvent } from '../../schemas/finding.js';
import type { SplunkHecSinkConfig } from '../../schemas/sinks-config.js';
import { toEcs } from './ecs.js';
import { flowToEcs } from './flow-ecs.js';
import type { FlowEvent } from './flow-feed.js';
import { HttpPoster } from './http.js';
import type { SendResult, Sink } from './sink.js';

/** The collector endpoint for a configured URL: the standard path unless one is given. */
export function hecEndpoint(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/services/collector/event';
  return u.toString();
}

/** One HEC event line: the envelope HEC expects around a finding or flow document. */
function hecLine(at: string, sourcetype: string, event: unknown, cfg: Pick<SplunkHecSinkConfig, 'source' | 'index'> & { host: string }): string {
  return JSON.stringify({ time: Date.parse(at) / 1000, host: cfg.host, source: cfg.source, sourcetype, ...(cfg.index ? { index: cfg.index } : {}), event });
}

/** The request body for `events`: one JSON object per line. */
export function hecBody(events: FindingEvent[], cfg: Pick<SplunkHecSinkConfig, 'source' | 'sourcetype' | 'index'> & { host: string }, version: string): string {
  return events.map((e) => hecLine(e.at, cfg.sourcetype, toEcs(e, { version }), cfg)).join('\n');
}

/** The request body for forwarded flows: as {@link hecBody}, with the flows sourcetype. */
export function hecFlowBody(flows: FlowEvent[], cfg: Pick<SplunkHecSinkConfig, 'source' | 'flows_sourcetype' | 'index'> & { host: string }, version: string): string {
  return flows.map((e) => hecLine(e.at, cfg.flows_sourcetype, flowToEcs(e, { version }), cfg)).join('\n');
}

/** Splunk HEC {@link Sink}. */
export class SplunkHecSink implements Sink {
  readonly type = 'splunk_hec';
  private readonly poster: HttpPoster;
  private readonly host: string;

  constructor(readonly name: string, private readonly cfg: SplunkHecSinkConfig, private readonly version: string) {
    this.poster = new HttpPoster(hecEndpoint(cfg.url), cfg.timeout_ms, cfg.tls);
    this.host = cfg.host ?? os.hostname();
  }

  send(events: FindingEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.post(hecBody(events, { ...this.cfg, host: this.host }, this.version), signal);
  }

  sendFlows(flows: FlowEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.post(hecFlowBody(flows, { ...this.cfg, host: this.host }, this.version), signal);
  }

  private post(body: string, signal: AbortSignal): Promise<SendResult> {
    return this.poster.post(body, { authorization: `Splunk ${this.cfg.token}`, 'content-type': 'application/json' }, signal);
  }

  async close(): Promise<void> {
    this.poster.close();
  }
}
