/**
 * Kafka sink: each findings event becomes one record on the findings topic, key = finding id
 * (so a compacted topic keeps the latest state of every finding, and all events of one finding
 * land in one partition, in order), value = the ECS JSON document, headers `event_id`,
 * `event_type`.
 *
 * Ack: `producer.send` resolved with acks=all (-1) for the whole batch. With `idempotent: true`
 * (default) kafkajs's own retries cannot duplicate records; the dispatcher's retries of a batch
 * that timed out still can, which receivers absorb by `event_id` (and compaction by key).
 * Non-retriable protocol errors (authorization, record too large, ...) and SASL failures reject
 * and park the sink; everything else (broker down, leader moves, timeouts) retries.
 */
import kafkajs from 'kafkajs';
import type { Producer, SASLOptions } from 'kafkajs';
import type { FindingEvent } from '../../schemas/finding.js';
import type { KafkaSinkConfig } from '../../schemas/sinks-config.js';
import type { Logger } from '../telemetry/logger.js';
import { toEcs } from './ecs.js';
import { flowToEcs } from './flow-ecs.js';
import type { FlowEvent } from './flow-feed.js';
import { tlsOptions } from './http.js';
import type { SendResult, Sink } from './sink.js';

const { Kafka, logLevel } = kafkajs;

/** The records for `events`, in order. */
export function kafkaMessages(events: FindingEvent[], version: string): { key: string; value: string; headers: Record<string, string> }[] {
  return events.map((e) => ({
    key: e.finding.id,
    value: JSON.stringify(toEcs(e, { version })),
    headers: { event_id: e.event_id, event_type: e.type },
  }));
}

/**
 * The records for forwarded flows, in order: key = the flow's input stream (so each stream's
 * flows stay in order in one partition), value = the ECS document, headers `event_id`, `event_type: flow`.
 */
export function kafkaFlowMessages(flows: FlowEvent[], version: string): { key: string; value: string; headers: Record<string, string> }[] {
  return flows.map((e) => ({
    key: e.flow.source.key,
    value: JSON.stringify(flowToEcs(e, { version })),
    headers: { event_id: e.event_id, event_type: 'flow' },
  }));
}

/** Maps a kafkajs error to an outcome. */
export function kafkaOutcome(err: unknown): SendResult {
  const e = err as { name?: string; type?: string; retriable?: boolean; message?: string };
  const detail = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  if (e.name === 'KafkaJSSASLAuthenticationError') return { reject: detail, code: 'kafka_sasl' };
  if (e.name === 'KafkaJSProtocolError' && e.retriable === false) return { reject: detail, code: `kafka_${(e.type ?? 'protocol').toLowerCase()}` };
  return { retry: `kafka_${(e.type ?? e.name ?? 'error').toLowerCase().replace(/^kafkajs/, '')}`, detail };
}

/** Kafka {@link Sink}. */
export class KafkaSink implements Sink {
  readonly type = 'kafka';
  private readonly producer: Producer;
  private connected: Promise<void> | null = null;

  constructor(readonly name: string, private readonly cfg: KafkaSinkConfig, private readonly version: string, log: Logger) {
    const ssl = cfg.ssl === false ? undefined : cfg.ssl === true ? true : tlsOptions(cfg.ssl);
    const kafka = new Kafka({
      clientId: cfg.client_id,
      brokers: cfg.brokers,
      ...(ssl === undefined ? {} : { ssl }),
      ...(cfg.sasl ? { sasl: { mechanism: cfg.sasl.mechanism, username: cfg.sasl.username, password: cfg.sasl.password } as SASLOptions } : {}),
      connectionTimeout: Math.min(cfg.timeout_ms, 10_000),
      requestTimeout: cfg.timeout_ms,
      // Few in-client retries: the dispatcher's backoff (with its visible state) does the rest.
      retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 3 },
      logLevel: logLevel.WARN,
      logCreator: () => ({ level, log: entry }) => {
        const fields = { kafka: { namespace: entry.namespace, broker: (entry as { broker?: string }).broker } };
        if (level <= logLevel.ERROR) log.error(fields, `kafkajs: ${entry.message}`);
        else log.warn(fields, `kafkajs: ${entry.message}`);
      },
    });
    this.producer = kafka.producer({
      idempotent: cfg.idempotent,
      // The idempotent producer needs one request in flight to keep order; so does ordered delivery.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  send(events: FindingEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.produce(this.cfg.topic, kafkaMessages(events, this.version), signal);
  }

  sendFlows(flows: FlowEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.produce(this.cfg.flows_topic, kafkaFlowMessages(flows, this.version), signal);
  }

  private async produce(topic: string, messages: ReturnType<typeof kafkaMessages>, signal: AbortSignal): Promise<SendResult> {
    try {
      if (!this.connected) this.connected = this.producer.connect();
      await this.connected;
    } catch (err) {
      this.connected = null;
      return kafkaOutcome(err);
    }
    const aborted = new Promise<SendResult>((resolve) => {
      if (signal.aborted) resolve({ retry: 'aborted', detail: 'send aborted' });
      signal.addEventListener('abort', () => resolve({ retry: 'aborted', detail: 'send aborted' }), { once: true });
    });
    const sent = this.producer
      .send({ topic, acks: -1, timeout: this.cfg.timeout_ms, messages })
      .then((): SendResult => 'ok', kafkaOutcome);
    return Promise.race([sent, aborted]);
  }

  async close(): Promise<void> {
    if (this.connected) {
      this.connected = null;
      await this.producer.disconnect().catch(() => {});
    }
  }
}
