/**
 * Helpers for the Kafka source tests: fast consumer settings for the mock broker, a producer,
 * mixed test traffic packed into Kafka messages, a store in a test directory, and the expected
 * outcome of a set of lines (how many flows, how many quarantined, which request ids).
 */
import { Writable } from 'node:stream';
import path from 'node:path';
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { KafkaSourceConfigSchema, type KafkaSourceConfig } from '../../schemas/config.js';
import type { BatchHandler, BatchOutcome } from '../../src/pipeline/contracts.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { createBatchHandler, type RunnerOptions } from '../../src/pipeline/runner.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { createLogger, type Logger } from '../../src/telemetry/logger.js';
import { prng } from '../../src/sample/mesh-traffic.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** Polls `cond` until it holds; rejects naming `what` (and its last state) after the deadline. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The source config keys that keep the mock fast (see the header of kafka-broker.ts), as YAML
 * keys: short session and rebalance timeouts, frequent heartbeats, short fetch waits, quick retries.
 */
export const FAST_KAFKA = {
  session_timeout_ms: 3000,
  rebalance_timeout_ms: 3000,
  heartbeat_interval_ms: 300,
  batch_max_wait_ms: 100,
  connection_timeout_ms: 1000,
  request_timeout_ms: 5000,
  retry: { initial_ms: 100, max_ms: 1000, retries: 10 },
} as const;

/** A validated `kafka` source config for the mock broker. */
export function kafkaSourceConfig(brokers: string[], topic: string, extra: Record<string, unknown> = {}): KafkaSourceConfig {
  return KafkaSourceConfigSchema.parse({ type: 'kafka', brokers, topics: [topic], group_id: `g-${topic}`, ...FAST_KAFKA, ...extra });
}

/** A connected plain producer (idempotent producers do not work against the mock). */
export async function connectProducer(brokers: string[]): Promise<Producer> {
  const kafka = new Kafka({
    clientId: 'meshtrail-test-producer',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  });
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** One Kafka message to produce: its value and partition. */
export interface TestMessage {
  partition: number;
  value: string;
}


/**
 * Packs lines into messages spread round-robin over `partitions`: most messages hold one line,
 * `multiShare` of them 2-5 newline-separated lines (with a blank line or CRLF now and then).
 */
export function packMessages(lines: string[], partitions: number, options: { seed?: number; multiShare?: number } = {}): TestMessage[] {
  const rnd = prng(options.seed ?? 7);
  const multiShare = options.multiShare ?? 0.3;
  const out: TestMessage[] = [];
  let i = 0;
  while (i < lines.length) {
    const n = rnd() < multiShare ? 2 + Math.floor(rnd() * 4) : 1;
    const group = lines.slice(i, i + n);
    i += group.length;
    const sep = rnd() < 0.2 ? '\r\n' : '\n';
    const value = group.length > 1 && rnd() < 0.3 ? `${group.join(`${sep}\n`)}\n` : group.join(sep);
    out.push({ partition: out.length % partitions, value });
  }
  return out;
}

/** Produces `messages` to `topic` in sends of `perSend`. */
export async function produce(producer: Producer, topic: string, messages: TestMessage[], perSend = 1000): Promise<void> {
  for (let i = 0; i < messages.length; i += perSend) {
    await producer.send({ topic, messages: messages.slice(i, i + perSend).map((m) => ({ partition: m.partition, value: m.value })) });
  }
}

/** What storing `lines` must give: counts and the sorted multiset of flow request ids. */
export interface Expected {
  lines: number;
  flows: number;
  quarantined: number;
  requestIds: string[];
}

/** Runs every line through the same parse path as the pipeline to predict the stored rows. */
export function expectedOutcome(lines: string[]): Expected {
  const requestIds: string[] = [];
  let quarantined = 0;
  for (const line of lines) {
    const o = processLine(line, { format: 'auto' });
    if (o.ok) requestIds.push(String(o.flow.request_id));
    else quarantined++;
  }
  return { lines: lines.length, flows: requestIds.length, quarantined, requestIds: requestIds.sort() };
}

/** Row counts and request ids read from a meshtrail database. */
export function dbState(db: Db): { flows: number; quarantined: number; requestIds: () => string[]; positions: () => Record<string, number | null> } {
  const flows = (db.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
  const quarantined = (db.prepare('SELECT count(*) AS n FROM quarantine').get() as { n: number }).n;
  return {
    flows,
    quarantined,
    requestIds: () => (db.prepare('SELECT request_id AS r FROM flows').all() as { r: string | null }[]).map((x) => String(x.r)).sort(),
    positions: () => Object.fromEntries((db.prepare('SELECT key, position FROM sources').all() as { key: string; position: number | null }[]).map((r) => [r.key, r.position])),
  };
}

/** A migrated store in `dir` and a handler over it that counts what it was given. */
export function testPipeline(dir: string, name = 'm.db', options: RunnerOptions = {}) {
  const db = openDatabase(path.join(dir, name));
  const store = new Store(db);
  const inner = createBatchHandler(store, options);
  const totals = { batches: 0, records: 0, duplicates: 0 };
  const handler: BatchHandler = async (batch): Promise<BatchOutcome> => {
    const outcome = await inner(batch);
    totals.batches++;
    totals.records += batch.records.length;
    totals.duplicates += outcome.duplicates;
    return outcome;
  };
  const stored = (): number => dbState(db).flows + dbState(db).quarantined;
  return { db, store, handler, totals, stored, state: () => dbState(db) };
}

/** A pino logger whose JSON lines are kept in memory (and echoed with KAFKA_TEST_LOG=1). */
export function memoryLogger(level = 'info'): { logger: Logger; entries: () => Record<string, unknown>[]; text: () => string } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      if (process.env.KAFKA_TEST_LOG === '1') process.stderr.write(chunk);
      cb();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    text: () => text,
    entries: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Compares two sorted string lists and describes the first difference (for assertion messages). */
export function firstDifference(a: string[], b: string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `at ${i}: ${a[i]} vs ${b[i]} (lengths ${a.length} vs ${b.length})`;
  }
  return 'none';
}
