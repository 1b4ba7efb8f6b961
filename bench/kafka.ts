/**
 * Kafka cases: the kafkajs ceiling (the same messages consumed with an empty `eachBatch`) and
 * meshtrail's Kafka ingest end to end (consume -> decode -> parse -> enrich -> store -> commit)
 * once `src/sources/kafka.source.ts` exists. Both run against librdkafka's mock cluster (the
 * broker of test/support/kafka-broker.ts), driven here over its line protocol because that
 * module lives outside the compiled tree.
 *
 * The mock keeps only ~5 MiB per partition, dropping older batches: the topic gets enough
 * partitions that every partition holds under 3 MiB, and both consumers read after the producer
 * finished, so nothing is dropped. Each consumer is timed from its first batch to its last
 * record, which leaves the mock's fixed ~3 s initial group join out of the rate.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { KafkaSourceConfigSchema } from '../schemas/config.js';
import { createBatchHandler } from '../src/pipeline/runner.js';
import type { Source } from '../src/pipeline/contracts.js';
import type { Store } from '../src/store/store.js';

const { Kafka, logLevel } = kafkajs;

/** A running mock cluster. */
export interface MockBroker {
  bootstrap: string[];
  createTopic(name: string, partitions: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Finds (or compiles into `cacheDir`) the mock broker binary: test/support/bin/mock-broker when
 * the tests built it and it is newer than its source, else `cc` with librdkafka. Returns the path,
 * or the reason there is none.
 */
export function mockBrokerBinary(root: string, cacheDir: string): { path: string } | { why: string } {
  const source = path.join(root, 'test/support/kafka-mock/mock-broker.c');
  if (!fs.existsSync(source)) return { why: `no ${source}` };
  const fresh = (p: string) => fs.existsSync(p) && fs.statSync(p).mtimeMs >= fs.statSync(source).mtimeMs;
  const built = path.join(root, 'test/support/bin/mock-broker');
  if (fresh(built)) return { path: built };
  const own = path.join(cacheDir, 'mock-broker');
  if (fresh(own)) return { path: own };
  let flags = ['-lrdkafka'];
  try {
    const out = execFileSync('pkg-config', ['--cflags', '--libs', 'rdkafka'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (out) flags = out.split(/\s+/);
  } catch {
    // Without pkg-config the plain library name is what Debian needs.
  }
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    execFileSync('cc', ['-O2', '-o', `${own}.tmp`, source, ...flags], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    fs.renameSync(`${own}.tmp`, own);
    return { path: own };
  } catch (err) {
    return { why: `cannot compile the mock broker (apt-get install librdkafka-dev gcc pkg-config): ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Starts the mock cluster with one broker. */
export async function startMockBroker(binary: string): Promise<MockBroker> {
  const child = spawn(binary, ['1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000); });
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = (what: string) => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock broker did not answer ${what} in 10 s; stderr: ${stderr}`)), 10_000);
    waiting.push((l) => { clearTimeout(timer); resolve(l); });
  });
  const first = await next('with BOOTSTRAP');
  const m = /^BOOTSTRAP (\S+)$/.exec(first);
  if (!m?.[1]) throw new Error(`mock broker printed ${JSON.stringify(first)}`);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    bootstrap: m[1].split(','),
    async createTopic(name, partitions) {
      const answer = next(`create-topic ${name}`);
      child.stdin.write(`create-topic ${name} ${partitions}\n`);
      const reply = await answer;
      if (reply !== 'OK') throw new Error(`create-topic ${name}: ${reply}`);
    },
    async stop() {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      process.removeListener('exit', killOnExit);
    },
  };
}

/** Client settings from test/support/kafka-broker.ts's header: fast against the mock. */
const clientSettings = (brokers: string[]) => ({
  clientId: 'meshtrail-bench', brokers, logLevel: logLevel.ERROR, connectionTimeout: 1000, requestTimeout: 10_000,
  retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
});

/** Partitions for `bytes` of messages so each keeps under 3 MiB of the mock's 5 MiB. */
export const partitionsFor = (bytes: number): number => Math.max(4, Math.ceil(bytes / (3 * 2 ** 20)));

/** Produces `lines` round-robin over `partitions`, 1,000 messages per request. */
export async function produce(brokers: string[], topic: string, partitions: number, lines: string[]): Promise<number> {
  const producer = new Kafka(clientSettings(brokers)).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  try {
    for (let i = 0; i < lines.length; i += 1000) {
      const messages = lines.slice(i, i + 1000).map((value, j) => ({ value, partition: (i + j) % partitions }));
      await producer.send({ topic, acks: 1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return (performance.now() - started) / 1000;
}

/** Resolves when `check()` is true (polled), or rejects after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let ceilingRuns = 0;

/** Consumes `expected` messages from the beginning with an empty eachBatch; messages/s. */
export async function kafkajsCeiling(brokers: string[], topic: string, expected: number, timeoutMs: number): Promise<{ messages: number; seconds: number }> {
  const consumer: Consumer = new Kafka(clientSettings(brokers)).consumer({
    groupId: `bench-ceiling-${process.pid}-${++ceilingRuns}`, sessionTimeout: 3000, rebalanceTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 100,
  });
  let seen = 0;
  let first = 0;
  let last = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        seen += batch.messages.length;
        last = performance.now();
      },
    });
    await until(() => seen >= expected, timeoutMs, `${expected} messages (kafkajs ceiling, saw ${seen})`);
  } finally {
    await consumer.disconnect();
  }
  return { messages: seen, seconds: (last - first) / 1000 };
}

/** Why the Kafka end-to-end case cannot run, or how to build the source. */
export type KafkaSourceFactory = { ok: true; create: (config: unknown, store: Store) => Source; how: string } | { ok: false; why: string };

/**
 * Looks for meshtrail's Kafka source at run time: the source factory (`createSource` in
 * src/sources/factory.ts) when it builds `type: kafka`, else an exported `createKafkaSource(config,
 * deps)` or `KafkaSource` class (`new KafkaSource(config, deps)`) of src/sources/kafka.source.ts.
 */
export async function findKafkaSource(distRoot: string): Promise<KafkaSourceFactory> {
  const file = path.join(distRoot, 'src/sources/kafka.source.js');
  if (!fs.existsSync(file)) return { ok: false, why: 'not available yet (src/sources/kafka.source.ts does not exist)' };
  const { ingestMetrics } = await import('../src/telemetry/metrics.js');
  const { createLogger } = await import('../src/telemetry/logger.js');
  const deps = (store: Store) => ({ store, metrics: ingestMetrics(), logger: createLogger({ level: 'error', destination: process.stderr }) });
  const attempts: string[] = [];
  const sample = KafkaSourceConfigSchema.parse({ type: 'kafka', brokers: ['127.0.0.1:9'], topics: ['probe'] });
  const works = (make: () => unknown): boolean => {
    try {
      const s = make() as Partial<Source>;
      return typeof s?.start === 'function' && typeof s?.stop === 'function';
    } catch (err) {
      attempts.push((err as Error).message.split('\n')[0] ?? '');
      return false;
    }
  };
  const factory = (await import(pathToFileURL(path.join(distRoot, 'src/sources/factory.js')).href)) as { createSource?: (c: unknown, d: unknown) => Source };
  const probeStore = {} as Store;
  if (factory.createSource && works(() => factory.createSource!(sample, deps(probeStore)))) {
    return { ok: true, how: 'factory createSource', create: (c, store) => factory.createSource!(c, deps(store)) };
  }
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = mod.createKafkaSource as ((c: unknown, d: unknown) => Source) | undefined;
  if (typeof fn === 'function' && works(() => fn(sample, deps(probeStore)))) return { ok: true, how: 'createKafkaSource', create: (c, store) => fn(c, deps(store)) };
  const Cls = mod.KafkaSource as (new (c: unknown, d: unknown) => Source) | undefined;
  if (typeof Cls === 'function' && works(() => new Cls(sample, deps(probeStore)))) return { ok: true, how: 'new KafkaSource', create: (c, store) => new Cls(c, deps(store)) };
  return { ok: false, why: `kafka.source.ts exists but the bench could not build a source from it (exports: ${Object.keys(mod).join(', ') || 'none'}; ${attempts.join('; ')})` };
}

/**
 * meshtrail's Kafka ingest: the source delivers to the runner's batch handler (parse, enrich,
 * one store transaction) and commits offsets after it resolves. Timed from the first batch to
 * the commit of the batch holding the last record.
 */
export async function kafkaEndToEnd(factory: Extract<KafkaSourceFactory, { ok: true }>, store: Store, brokers: string[], topic: string, expected: number, timeoutMs: number): Promise<{ records: number; flows: number; batches: number; seconds: number }> {
  const config = KafkaSourceConfigSchema.parse({
    type: 'kafka', brokers, topics: [topic], group_id: `bench-e2e-${process.pid}`, client_id: 'meshtrail-bench', from_beginning: true,
    session_timeout_ms: 3000, heartbeat_interval_ms: 300,
  });
  const source = factory.create(config, store);
  const handler = createBatchHandler(store);
  let records = 0;
  let flows = 0;
  let batches = 0;
  let first = 0;
  let last = 0;
  await source.start(async (batch) => {
    if (first === 0) first = performance.now();
    batches++;
    const outcome = await handler(batch);
    records += outcome.flows + outcome.quarantined + outcome.duplicates;
    flows += outcome.flows;
    last = performance.now();
    return outcome;
  });
  try {
    await until(() => records >= expected, timeoutMs, `${expected} records (meshtrail Kafka ingest, saw ${records})`);
  } finally {
    await source.stop();
  }
  return { records, flows, batches, seconds: (last - first) / 1000 };
}
