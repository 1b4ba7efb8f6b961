/**
 * `meshtrail run --config FILE`: runs the configured sources, the store, the sinks and the API
 * together until SIGTERM/SIGINT. Stop order: intake first (sources drain their in-flight batch
 * and commit, bounded by pipeline.drain_timeout_ms), then the sinks (delivering what they can
 * before the deadline; the rest stays in the outbox), then the API, then the database.
 */
import type http from 'node:http';
import type https from 'node:https';
import { loadConfig } from '../config/load.js';
import type { Config, SourceConfig } from '../../schemas/config.js';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { MeshtrailError } from '../errors.js';
import { createBatchHandler } from '../pipeline/runner.js';
import type { LineFormat, LineParser, Source } from '../pipeline/contracts.js';
import { compileLabels, compileTemplate } from '../parse/template/index.js';
import { registeredParsers } from '../parse/registry.js';
import { loadPolicies } from '../policy/load.js';
import { createSinkDispatcher } from '../sinks/factory.js';
import type { SinkDispatcher } from '../sinks/dispatcher.js';
import { sinksRoutes } from '../api/sinks.routes.js';
import { createSource } from '../sources/factory.js';
import { openDatabase } from '../store/db.js';
import { registerRollups } from '../store/rollups.js';
import { registerDetectors } from '../detect/registry.js';
import { startRetention } from '../store/retention.js';
import { Store } from '../store/store.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { ingestMetrics } from '../telemetry/metrics.js';
import { composeApi } from './compose-api.js';
import { listen, parseListen, urlOf } from './listen.js';
import { VERSION } from '../version.js';

/** A running pipeline. */
export interface Running {
  url: string | null;
  config: Config;
  /** Resolves when every finite source has finished (never when one follows a stream). */
  done: Promise<void>;
  stop(): Promise<void>;
}

const sourceName = (c: SourceConfig): string => c.name ?? (c.type === 'file' ? `file:${c.path}` : `kafka:${c.group_id}`);

/** The runner's format options for a source: a custom template is compiled once and tried first. */
function formatOptions(sc: SourceConfig, name: string): { format: LineFormat; parsers?: LineParser[] } {
  if (typeof sc.format === 'string') return { format: sc.format };
  try {
    const parser = 'text' in sc.format ? compileTemplate(sc.format.text, { name: 'istio-template' }) : compileLabels(sc.format.labels, { name: 'istio-labels' });
    return { format: 'auto', parsers: [parser, ...registeredParsers()] };
  } catch (err) {
    throw new MeshtrailError('ERR_CONFIG_INVALID', `source ${name}: format: ${(err as Error).message}`, { cause: err });
  }
}

/** Loads the policy directory, logging every problem; the rest still loads. */
export function loadPolicySet(dir: string | undefined, log: Logger): PolicySet | null {
  if (!dir) return null;
  const { policies, problems } = loadPolicies(dir);
  for (const p of problems) {
    const level = p.severity === 'error' ? 'error' : p.severity === 'warning' ? 'warn' : 'debug';
    log[level]({ file: p.file, document: p.document, path: p.path, kind: p.kind }, `Policy ${p.severity}: ${p.message}`);
  }
  return policies;
}

export async function startRun(configFile: string, logger: Logger = createLogger()): Promise<Running> {
  const config = loadConfig(configFile);
  const log = logger.child({ component: 'run' });
  const db = openDatabase(config.database, { cacheMib: config.database_cache_mib });
  const store = new Store(db);
  registerRollups(store);
  const metrics = ingestMetrics();
  const policies = loadPolicySet(config.policies ?? config.detectors.policies_dir ?? undefined, log);
  if (config.detectors.enabled) registerDetectors(store, { config: config.detectors, policies });
  const retention = startRetention(db, config.retention, { logger: logger.child({ component: 'retention' }) });
  const controller = new AbortController();
  const sources: { source: Source; name: string }[] = [];
  let server: http.Server | https.Server | null = null;
  let sinks: SinkDispatcher | null = null;
  let url: string | null = null;
  try {
    sinks = createSinkDispatcher(config.sinks, { db, store, version: VERSION, logger, metrics: metrics.registry });
    await sinks.start();
    if (config.api.enabled) {
      if (config.api.tokens.length === 0) log.warn({ listen: config.api.listen }, 'API has no tokens configured: every caller is admin.');
      server = composeApi({
        store, databaseFile: config.database, policies, signingKeyFile: config.report.signing_key_file,
        auth: { tokens: config.api.tokens, rate_limit: config.api.rate_limit }, tls: config.api.tls,
        metrics: metrics.registry, logger: log, extraRoutes: sinksRoutes(sinks),
        replay: { replayPoliciesDir: config.detectors.replay_policies_dir, serviceLabels: config.detectors.service_labels },
      });
      const addr = parseListen(config.api.listen);
      url = urlOf(addr.host, await listen(server, addr), config.api.tls ? 'https' : 'http');
      log.info({ url }, 'API listening.');
    }
    for (const sc of config.sources) {
      const name = sourceName(sc);
      const source = createSource(sc, { store, metrics, logger, maxLineBytes: config.pipeline.max_line_bytes });
      const handler = createBatchHandler(store, {
        ...formatOptions(sc, name),
        maxLineBytes: config.pipeline.max_line_bytes,
        signal: controller.signal,
        onCommitted: (o, batch, ms) => {
          metrics.recordsConsumed.inc({ source: name }, batch.records.length);
          metrics.flowsStored.inc({ source: name }, o.flows);
          metrics.recordsQuarantined.inc({ source: name }, o.quarantined);
          metrics.recordsDuplicate.inc({ source: name }, o.duplicates);
          metrics.batchCommitSeconds.observe({ source: name }, ms / 1000);
          sinks?.notify();
        },
        onRetry: (err, attempt, delayMs) => {
          metrics.storeRetries.inc({ source: name, reason: err.code });
          log.error({ source: name, code: err.code, attempt, delayMs: Math.round(delayMs) }, 'Store write failed; retrying the batch.');
        },
      });
      await source.start(handler);
      sources.push({ source, name });
      log.info({ source: name }, 'Source started.');
    }
  } catch (err) {
    controller.abort();
    for (const s of sources.reverse()) await s.source.stop().catch(() => {});
    await sinks?.stop(Date.now()).catch(() => {});
    await retention.stop().catch(() => {});
    server?.close();
    db.close();
    throw err instanceof MeshtrailError ? err : new MeshtrailError('ERR_CONFIG_INVALID', `cannot start: ${(err as Error).message}`, { cause: err });
  }
  const done = Promise.all(sources.map((s) => s.source.done ?? new Promise<void>(() => {}))).then(() => {});
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= (async () => {
    log.info('Stopping: draining in-flight batches.');
    await retention.stop();
    const deadline = Date.now() + config.pipeline.drain_timeout_ms;
    const drain = Promise.all(sources.map((s) => s.source.stop().catch((err: unknown) => log.error({ err, source: s.name }, 'Source stop failed.'))));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), config.pipeline.drain_timeout_ms); });
    const result = await Promise.race([drain.then(() => 'drained' as const), timeout]);
    clearTimeout(timer);
    controller.abort();
    if (result === 'timeout') {
      log.warn({ timeoutMs: config.pipeline.drain_timeout_ms }, 'Drain timed out; uncommitted batches will be re-read on restart.');
      // Aborting ends store retries at once; let the sources settle before the database closes.
      await Promise.race([drain, new Promise((resolve) => setTimeout(resolve, 2000))]);
    }
    await sinks?.stop(Math.max(deadline, Date.now() + 1000)).catch((err: unknown) => log.error({ err }, 'Sink stop failed.'));
    if (server) {
      const s = server;
      await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
    }
    db.close();
    log.info('Stopped.');
  })());
  return { url, config, done, stop };
}
