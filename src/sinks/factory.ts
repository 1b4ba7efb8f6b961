/**
 * Builds the configured sinks and the dispatcher that drains the outbox into them: the one call
 * the composition root (`main.ts` / run command) makes.
 */
import type Database from 'better-sqlite3';
import { resolveSinkNames, type SinkConfig } from '../../schemas/sinks-config.js';
import { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { Registry } from '../telemetry/metrics.js';
import { SinkDispatcher, type LaneConfig } from './dispatcher.js';
import { SqliteFlowFeed, type FlowFeed } from './flow-feed.js';
import { KafkaSink } from './kafka.sink.js';
import { SqliteOutbox, type SinkStateStore } from './outbox.js';
import type { Sink } from './sink.js';
import { SplunkHecSink } from './splunk-hec.sink.js';
import { SyslogSink } from './syslog.sink.js';
import { WebhookSink } from './webhook.sink.js';

/** One sink built from its config entry, with the lane knobs the dispatcher needs. */
export function createSink(cfg: SinkConfig, name: string, deps: { version: string; logger: Logger }): { sink: Sink; config: LaneConfig } {
  const lane: LaneConfig = { batch_max_events: cfg.batch_max_events, poll_interval_ms: cfg.poll_interval_ms, retry: cfg.retry, flows: cfg.flows };
  switch (cfg.type) {
    case 'syslog': return { sink: new SyslogSink(name, cfg, deps.version), config: lane };
    case 'splunk_hec': return { sink: new SplunkHecSink(name, cfg, deps.version), config: lane };
    case 'webhook': return { sink: new WebhookSink(name, cfg, deps.version), config: lane };
    case 'kafka': return { sink: new KafkaSink(name, cfg, deps.version, deps.logger.child({ component: 'sink', sink: name })), config: lane };
  }
}

/** What {@link createSinkDispatcher} needs. */
export interface SinkDispatcherDeps {
  /** The writer connection (migrated: needs `outbox` and `sink_cursors`). */
  db?: Database.Database;
  /** Or any outbox implementation (tests). */
  outbox?: SinkStateStore;
  /** The store over `db` (reuses its string cache) for sinks with `flows:`; made from `db` when absent. */
  store?: Store;
  /** Or any flow feed (tests). */
  flows?: FlowFeed;
  /** meshtrail's version, shown in CEF Device Version and ECS observer.version. */
  version: string;
  logger: Logger;
  metrics?: Registry;
}

/** The dispatcher over the validated `sinks:` config; call `start()` and, on shutdown, `stop(deadline)`. */
export function createSinkDispatcher(sinks: readonly SinkConfig[], deps: SinkDispatcherDeps): SinkDispatcher {
  const outbox = deps.outbox ?? (deps.db ? new SqliteOutbox(deps.db) : undefined);
  if (!outbox) throw new Error('createSinkDispatcher needs db or outbox');
  const names = resolveSinkNames(sinks);
  const store = deps.store ?? (deps.db ? new Store(deps.db) : undefined);
  // Also with no sink forwarding flows: the dispatcher drops the cursors of sinks that stopped.
  const flows = deps.flows ?? (store ? new SqliteFlowFeed(store) : undefined);
  if (!flows && sinks.some((s) => s.flows)) throw new Error('createSinkDispatcher needs db or store for sinks with flows');
  return new SinkDispatcher({
    outbox,
    ...(flows ? { flows } : {}),
    sinks: sinks.map((cfg, i) => createSink(cfg, names[i]!, deps)),
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}
