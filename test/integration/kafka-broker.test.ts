/**
 * kafkajs 2.2.4 against librdkafka's mock cluster (test/support/kafka-broker.ts).
 *
 * Two jobs: prove the mock is a usable Kafka for meshtrail's Kafka source
 * (group consumption with explicit commits, resume, rebalance, broker outage,
 * injected errors) and pin down the mock's quirks so that a librdkafka upgrade
 * that changes them fails loudly here instead of confusing the source's tests.
 */
import { connect } from 'node:net';
import t from 'tap';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, LogEntry, Producer } from 'kafkajs';
import {
  ApiKey,
  KafkaErrorCode,
  requireKafka,
  startKafkaBroker,
  type KafkaBroker,
  type StartKafkaBrokerOptions,
} from '../support/kafka-broker.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const verbose = process.env.KAFKA_TEST_LOG === '1';

/** Every subtest must finish well inside this; a hang becomes a failure. */
const SUBTEST_TIMEOUT_MS = 45_000;

/** Polls `cond` until true; rejects with `what` after `timeoutMs`. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Env {
  broker: KafkaBroker;
  kafka: InstanceType<typeof Kafka>;
  admin: Admin;
  producer: Producer;
  /** kafkajs log entries at WARN and above, to assert on what kafkajs saw. */
  logs: LogEntry[];
  consumer(groupId: string): Consumer;
}

/** A broker, a connected admin and producer, all torn down with `t`. */
async function setup(tt: { teardown(fn: () => Promise<void>): unknown }, opts: StartKafkaBrokerOptions): Promise<Env> {
  const broker = await startKafkaBroker(opts);
  const clients: { disconnect(): Promise<void> }[] = [];
  tt.teardown(async () => {
    // Clients first (they would otherwise retry against a dead broker), then the broker.
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker.stop();
  });
  const logs: LogEntry[] = [];
  const kafka = new Kafka({
    clientId: 'meshtrail-test',
    brokers: broker.bootstrap,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      logs.push(entry);
      if (verbose) process.stderr.write(`[kafkajs] ${entry.label} ${JSON.stringify(entry.log)}\n`);
    },
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  clients.push(admin, producer);
  await admin.connect();
  await producer.connect();
  return {
    broker,
    kafka,
    admin,
    producer,
    logs,
    consumer: (groupId) => {
      const c = kafka.consumer({
        groupId,
        // The mock holds a rebalance for sessionTimeout - 1000 ms and notifies members
        // only through heartbeats, so both are short; maxWaitTimeInMs keeps
        // disconnect() from waiting 5 s on an in-flight Fetch.
        // Also: kafkajs answers a stale-metadata Fetch error (NOT_LEADER_FOR_PARTITION, ...)
        // with a full rejoin, which the mock holds for sessionTimeout - 1000 ms.
        sessionTimeout: 3000,
        rebalanceTimeout: 3000,
        heartbeatInterval: 300,
        maxWaitTimeInMs: 100,
        retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
      });
      clients.unshift(c);
      return c;
    },
  };
}

/** One delivered record, as the collector saw it. */
interface Seen {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/**
 * Runs `consumer` the way meshtrail's source is meant to (STYLE.md §2): eachBatch,
 * no auto-commit, no auto-resolve, and an explicit commit of last+1 after the batch
 * is "stored". Records every delivery, including repeats, and every failed commit.
 */
async function collect(consumer: Consumer, topic: string, opts: { into?: Collected; onEvicted?: (r: Collected) => void } = {}) {
  const r: Collected = opts.into ?? { seen: [], commitErrors: [], crashes: [], evictions: [], uncommitted: new Set() };
  const { seen, commitErrors, crashes, evictions, uncommitted } = r;
  const onEvicted = opts.onEvicted;
  consumer.on(consumer.events.CRASH, (e) => {
    const text = `${e.payload.error.name}: ${e.payload.error.message} (restart ${e.payload.restart})`;
    // kafkajs heartbeats from its fetch loop only: a loop stuck on a downed broker for longer
    // than sessionTimeout gets the member evicted, the next commit answers UNKNOWN_MEMBER_ID and
    // kafkajs crashes for good (tulios/kafkajs#1568, #1630). The caller may start a new member.
    if (!e.payload.restart && onEvicted && /not aware of this member/.test(e.payload.error.message)) {
      evictions.push(text);
      onEvicted(r);
      return;
    }
    crashes.push(text);
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      for (const m of batch.messages) {
        seen.push({
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key?.toString() ?? '',
          value: m.value?.toString() ?? '',
        });
      }
      if (batch.isEmpty() || !isRunning() || isStale()) return;
      const last = batch.lastOffset();
      resolveOffset(last);
      try {
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(last) + 1) }]);
      } catch (err) {
        // Not committed: these positions may legitimately be delivered again.
        for (const m of batch.messages) uncommitted.add(`${batch.partition}@${m.offset}`);
        commitErrors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
        throw err; // let kafkajs retry the batch, as the real source will
      }
      await heartbeat();
    },
  });
  return r;
}

interface Collected {
  seen: Seen[];
  commitErrors: string[];
  crashes: string[];
  /** Non-restarting crashes caused by the member's eviction (see collect). */
  evictions: string[];
  /** `partition@offset` of records in batches whose commit failed. */
  uncommitted: Set<string>;
}

async function produce(producer: Producer, topic: string, from: number, to: number): Promise<void> {
  const chunk = 250;
  for (let i = from; i < to; i += chunk) {
    const messages = [];
    for (let j = i; j < Math.min(to, i + chunk); j++) messages.push({ key: `key-${j % 37}`, value: `msg-${j}` });
    await producer.send({ topic, messages, acks: -1 });
  }
}

/** Committed offsets of `groupId` by partition, as the broker reports them. */
async function committed(admin: Admin, groupId: string, topic: string): Promise<Record<number, string>> {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries((res[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

async function highWatermarks(admin: Admin, topic: string): Promise<Record<number, string>> {
  const res = await admin.fetchTopicOffsets(topic);
  return Object.fromEntries(res.map((p) => [p.partition, p.high]));
}

/**
 * Committed offsets once they stop moving towards the high watermark: the last
 * commit of a batch may still be in flight when the last record was seen.
 */
async function settledCommits(admin: Admin, groupId: string, topic: string): Promise<Record<number, string>> {
  const hw = JSON.stringify(await highWatermarks(admin, topic));
  // After an outage the mock answers the first commit of a refetched batch late (metadata
  // refresh, stale batch): give the consumer time to commit again rather than read a snapshot.
  const until = Date.now() + 20_000;
  let offsets = await committed(admin, groupId, topic);
  while (JSON.stringify(offsets) !== hw && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 100));
    offsets = await committed(admin, groupId, topic);
  }
  return offsets;
}

function values(seen: Seen[]): string[] {
  return seen.map((s) => s.value);
}

function expected(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `msg-${from + i}`);
}

/** How often kafkajs logged a refused connection to broker `id` (a down mock broker refuses). */
function refusedBy(env: Env, id: number): number {
  const addr = env.broker.bootstrap[id - 1];
  return env.logs.filter((l) => l.log.broker === addr && /ECONNREFUSED/.test(String(l.log.message))).length;
}

/** ApiVersions v0 by hand: apiKey -> [min, max] as the broker advertises them. */
function apiVersions(hostPort: string): Promise<Map<number, [number, number]>> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host ?? '127.0.0.1');
    const clientId = Buffer.from('probe');
    const body = Buffer.alloc(10 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2); // v0
    body.writeInt32BE(1, 4); // correlation id
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    let buf = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('ApiVersions probe timed out')));
    socket.on('error', reject);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      const out = new Map<number, [number, number]>();
      const n = buf.readInt32BE(10);
      for (let i = 0, o = 14; i < n; i++, o += 6) out.set(buf.readInt16BE(o), [buf.readInt16BE(o + 2), buf.readInt16BE(o + 4)]);
      socket.end();
      resolve(out);
    });
    socket.write(Buffer.concat([size, body]));
  });
}

const sorted = (xs: string[]): string[] => [...xs].sort();

/** Positions delivered more than once (a duplicate delivery, not a duplicate record). */
function duplicatePositions(seen: Seen[]): string[] {
  const counts = new Map<string, number>();
  for (const s of seen) counts.set(`${s.partition}@${s.offset}`, (counts.get(`${s.partition}@${s.offset}`) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([k]) => k);
}

if (requireKafka(t)) {
  t.test('group consumer: exactly once with explicit commits, then a restart resumes', { timeout: SUBTEST_TIMEOUT_MS }, async (tt) => {
    const topic = 'flows-a';
    const env = await setup(tt, { brokers: 1, topics: [{ name: topic, partitions: 3 }] });
    await produce(env.producer, topic, 0, 2000);

    const first = env.consumer('g-resume');
    await first.connect();
    const a = await collect(first, topic);
    await waitFor(() => a.seen.length >= 2000, 20_000, () => `2000 messages, got ${a.seen.length}`);
    const hw = await highWatermarks(env.admin, topic);
    tt.same(sorted(values(a.seen)), sorted(expected(0, 2000)), 'every message arrived exactly once');
    tt.same(duplicatePositions(a.seen), [], 'no position was delivered twice');
    tt.equal(new Set(a.seen.map((s) => s.partition)).size, 3, 'keys spread over all 3 partitions');
    const byKeyPartition = new Map<string, Set<number>>();
    for (const s of a.seen) byKeyPartition.set(s.key, (byKeyPartition.get(s.key) ?? new Set()).add(s.partition));
    tt.ok([...byKeyPartition.values()].every((p) => p.size === 1), 'each key stays in one partition');
    tt.same(await settledCommits(env.admin, 'g-resume', topic), hw, 'committed offsets equal the high watermarks');
    tt.same(a.commitErrors, [], 'no commit failed');
    await first.disconnect();

    await produce(env.producer, topic, 2000, 2300);
    const second = env.consumer('g-resume');
    await second.connect();
    const b = await collect(second, topic);
    await waitFor(() => b.seen.length >= 300, 20_000, () => `300 new messages, got ${b.seen.length}`);
    // Give a wrongly-resetting consumer time to re-deliver old records before judging.
    await new Promise((r) => setTimeout(r, 500));
    tt.same(sorted(values(b.seen)), sorted(expected(2000, 2300)), 'the restarted member got only what was not committed');
    for (const [p, off] of Object.entries(hw)) {
      const firstSeen = Math.min(...b.seen.filter((s) => s.partition === Number(p)).map((s) => s.offset));
      if (Number.isFinite(firstSeen)) tt.equal(firstSeen, Number(off), `partition ${p} resumed at the committed offset`);
    }
  });

  t.test('two consumers in one group split the partitions', { timeout: SUBTEST_TIMEOUT_MS }, async (tt) => {
    const topic = 'flows-b';
    const env = await setup(tt, { brokers: 1, topics: [{ name: topic, partitions: 4 }] });
    const assignments = new Map<string, number[]>();
    const members = [env.consumer('g-split'), env.consumer('g-split')];
    const runs: Awaited<ReturnType<typeof collect>>[] = [];
    for (const [i, c] of members.entries()) {
      c.on(c.events.GROUP_JOIN, (e) => assignments.set(`m${i}`, e.payload.memberAssignment[topic] ?? []));
      await c.connect();
      runs.push(await collect(c, topic));
    }
    const split = (): boolean => {
      const all = [...assignments.values()];
      return all.length === 2 && all.every((p) => p.length > 0) && all.flat().length === 4;
    };
    await waitFor(split, 20_000, () => `a 2-way split, have ${JSON.stringify([...assignments])}`);
    tt.same([...assignments.values()].flat().sort(), [0, 1, 2, 3], 'the members own disjoint partitions covering all 4');

    await produce(env.producer, topic, 0, 1000);
    const all = (): Seen[] => runs.flatMap((r) => r.seen);
    await waitFor(() => all().length >= 1000, 20_000, () => `1000 messages, got ${all().length}`);
    tt.same(sorted(values(all())), sorted(expected(0, 1000)), 'together they got every message exactly once');
    for (const [i, r] of runs.entries()) {
      const own = new Set(assignments.get(`m${i}`));
      tt.ok(r.seen.length > 0 && r.seen.every((s) => own.has(s.partition)), `member ${i} only read its own partitions`);
    }
  });

  t.test('a partition leader goes down for a few seconds while consuming', { timeout: SUBTEST_TIMEOUT_MS }, async (tt) => {
    const topic = 'flows-c';
    const group = 'g-outage';
    const env = await setup(tt, { brokers: 3, topics: [{ name: topic, partitions: 3 }] });
    // Deterministic layout: partition p is led by broker p+1, the group lives on broker 1,
    // so taking broker 2 down hits one partition's fetches and produces but not the coordinator.
    for (const p of [0, 1, 2]) await env.broker.setLeader(topic, p, p + 1);
    await env.broker.setGroupCoordinator(group, 1);
    await produce(env.producer, topic, 0, 600);

    const c = env.consumer(group);
    await c.connect();
    // As meshtrail's source does, an evicted member is replaced by a new one in the same group,
    // which resumes from the committed offsets; deliveries go on into the same record.
    const replace = (into: Collected) => {
      void (async () => {
        const next = env.consumer(group);
        await next.connect();
        await collect(next, topic, { into, onEvicted: replace });
      })().catch((err: unknown) => into.crashes.push(`replacement failed: ${String(err)}`));
    };
    const r = await collect(c, topic, { onEvicted: replace });
    // Distinct records: a replaced member re-reads what its predecessor could not commit.
    const distinct = () => new Set(values(r.seen)).size;
    await waitFor(() => distinct() >= 600, 20_000, () => `600 messages, got ${distinct()}`);

    await env.broker.brokerDown(2);
    const downAt = Date.now();
    // Partition 1's records wait in the producer's retries until broker 2 is back;
    // records for the healthy partitions must flow meanwhile.
    const stuck = env.producer.send({
      topic,
      acks: -1,
      messages: expected(600, 700).map((value) => ({ partition: 1, key: 'p1', value })),
    });
    await env.producer.send({
      topic,
      acks: -1,
      messages: expected(700, 1200).map((value, i) => ({ partition: i % 2 === 0 ? 0 : 2, key: 'healthy', value })),
    });
    await waitFor(() => distinct() >= 1100, 10_000, () => `the 500 healthy-partition records, got ${distinct() - 600}`);
    const whileDown = distinct();
    await new Promise((res) => setTimeout(res, Math.max(0, 3000 - (Date.now() - downAt))));
    await env.broker.brokerUp(2);
    await stuck;
    await waitFor(() => distinct() >= 1200, 20_000, () => `1200 messages, got ${distinct()}`);
    // One more record on the recovered partition: the batch right after an outage can be stale
    // (kafkajs skips its commit); the next batch must commit past it.
    await env.producer.send({ topic, acks: -1, messages: [{ partition: 1, key: 'p1', value: 'msg-1200' }] });
    await waitFor(() => distinct() >= 1201, 20_000, () => `1201 messages, got ${distinct()}`);

    tt.equal(whileDown, 1100, 'the partitions on healthy brokers kept flowing while broker 2 was down');
    tt.ok(refusedBy(env, 2) > 0, 'kafkajs did hit the downed broker (ECONNREFUSED)');
    tt.same(sorted([...new Set(values(r.seen))]), sorted(expected(0, 1201)), 'every message arrived after recovery');
    tt.same(duplicatePositions(r.seen).filter((p) => !r.uncommitted.has(p)), [], 'no committed position was delivered twice');
    tt.same(r.crashes, [], 'the consumer never crashed (other than an eviction, replaced)');
    if (r.evictions.length) tt.comment(`evicted and replaced: ${JSON.stringify(r.evictions)}`);
    tt.same(await settledCommits(env.admin, group, topic), await highWatermarks(env.admin, topic), 'commits caught up');
  });

  t.test('injected Fetch and OffsetCommit errors are retried', { timeout: SUBTEST_TIMEOUT_MS }, async (tt) => {
    const topic = 'flows-d';
    const group = 'g-errors';
    const env = await setup(tt, { brokers: 1, topics: [{ name: topic, partitions: 2 }] });
    await produce(env.producer, topic, 0, 400);
    const c = env.consumer(group);
    await c.connect();
    const r = await collect(c, topic);
    await waitFor(() => r.seen.length >= 400, 20_000, () => `400 messages, got ${r.seen.length}`);

    await env.broker.pushErrors(ApiKey.Fetch, 1, KafkaErrorCode.NOT_LEADER_FOR_PARTITION);
    await env.broker.pushErrors(ApiKey.OffsetCommit, 2, KafkaErrorCode.REQUEST_TIMED_OUT);
    await produce(env.producer, topic, 400, 800);
    await waitFor(() => new Set(values(r.seen)).size >= 800, 20_000, () => `800 distinct, got ${new Set(values(r.seen)).size}`);
    const hw = await highWatermarks(env.admin, topic);
    tt.same(await settledCommits(env.admin, group, topic), hw, 'commits caught up after the injected errors');
    tt.same(sorted([...new Set(values(r.seen))]), sorted(expected(0, 800)), 'every message arrived');
    const errorsSeen = (api: string): number =>
      env.logs.filter((l) => String(l.log.message).startsWith(`Response ${api}(`) && l.log.error).length;
    tt.equal(errorsSeen('Fetch'), 1, 'the injected Fetch error reached kafkajs');
    tt.equal(errorsSeen('OffsetCommit'), 2, 'both injected OffsetCommit errors reached kafkajs');
    // kafkajs retries a retriable OffsetCommit error inside commitOffsets(): the caller never sees it.
    tt.same(r.commitErrors, [], 'retriable commit errors were absorbed by kafkajs');
    tt.same(duplicatePositions(r.seen), [], 'no position was delivered twice');
    tt.same(r.crashes, [], 'the consumer never crashed');
  });

  t.test('the group coordinator goes down for a few seconds while consuming', { timeout: SUBTEST_TIMEOUT_MS }, async (tt) => {
    const topic = 'flows-e';
    const group = 'g-coordinator';
    const env = await setup(tt, { brokers: 2, topics: [{ name: topic, partitions: 2 }] });
    // Data on broker 2, group on broker 1: only heartbeats and commits are hit.
    for (const p of [0, 1]) await env.broker.setLeader(topic, p, 2);
    await env.broker.setGroupCoordinator(group, 1);
    await produce(env.producer, topic, 0, 300);
    const c = env.consumer(group);
    await c.connect();
    const r = await collect(c, topic);
    await waitFor(() => r.seen.length >= 300, 20_000, () => `300 messages, got ${r.seen.length}`);

    await env.broker.brokerDown(1);
    await produce(env.producer, topic, 300, 600);
    await new Promise((res) => setTimeout(res, 2000));
    await env.broker.brokerUp(1);
    await waitFor(() => new Set(values(r.seen)).size >= 600, 20_000, () => `600 distinct, got ${new Set(values(r.seen)).size}`);
    tt.same(sorted([...new Set(values(r.seen))]), sorted(expected(0, 600)), 'every message arrived');
    tt.same(await settledCommits(env.admin, group, topic), await highWatermarks(env.admin, topic), 'commits caught up');
    tt.ok(refusedBy(env, 1) > 0, 'kafkajs did hit the downed coordinator (ECONNREFUSED)');
    tt.comment(`commit errors surfaced to eachBatch: ${JSON.stringify(r.commitErrors)}`);
    tt.comment(`crashes: ${JSON.stringify(r.crashes)}`);
    tt.comment(`deliveries ${r.seen.length} for 600 records; repeated positions: ${duplicatePositions(r.seen).length}`);
  });

  t.test('mock quirks the Kafka source must live with', { timeout: SUBTEST_TIMEOUT_MS }, async (tt) => {
    const env = await setup(tt, { brokers: 1 });

    const versions = await apiVersions(env.broker.bootstrap[0] ?? '');
    const max = (key: number): number | undefined => versions.get(key)?.[1];
    for (const [name, key] of Object.entries(ApiKey)) {
      tt.ok(versions.has(key), `mock serves ${name} (v${versions.get(key)?.join('-v')})`);
    }
    tt.equal(max(ApiKey.Metadata), 2, 'Metadata stops at v2 (no allowAutoTopicCreation flag on the wire)');
    for (const [name, key] of [['CreateTopics', 19], ['DeleteTopics', 20], ['DescribeGroups', 15], ['ListGroups', 16]] as const) {
      tt.notOk(versions.has(key), `mock does not serve ${name}`);
    }

    const strict = env.kafka.producer({ allowAutoTopicCreation: false });
    await strict.connect();
    await strict.send({ topic: 'never-created', messages: [{ value: 'x' }] });
    await strict.disconnect();
    tt.equal((await env.admin.fetchTopicOffsets('never-created')).length, 4,
      'any topic a client names is auto-created with 4 partitions, allowAutoTopicCreation notwithstanding');

    const cluster = await env.admin.describeCluster();
    tt.equal(cluster.controller, 0, 'the mock reports controller id 0, which is no broker');
    const idempotent = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await tt.rejects(idempotent.connect(), /Broker 0 not found/, 'so the idempotent producer cannot start');
    await idempotent.disconnect();
    await tt.rejects(env.admin.createTopics({ topics: [{ topic: 'via-admin', numPartitions: 2 }] }), /Broker 0 not found/,
      'and admin.createTopics fails');

    // ~7 MiB into one partition: the mock keeps ~5 MiB and drops batches from the front.
    await env.broker.createTopic('big', 1);
    const blob = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 70; i++) await env.producer.send({ topic: 'big', messages: [{ value: `${i}:${blob}` }] });
    const [big] = await env.admin.fetchTopicOffsets('big');
    tt.equal(big?.high, '70', 'all 70 records were appended');
    const low = Number(big?.low);
    tt.ok(low > 0 && 70 - low <= 52 && 70 - low >= 45, `only ~5 MiB is retained: log starts at ${low}`);

    // A consumer that is behind the log start is reset by kafkajs without telling the app.
    const c = env.consumer('g-big');
    await c.connect();
    const r = await collect(c, 'big');
    c.seek({ topic: 'big', partition: 0, offset: '0' });
    await waitFor(() => r.seen.length >= 70 - low, 15_000, () => `${70 - low} records, got ${r.seen.length}`);
    tt.equal(r.seen[0]?.offset, low, 'the first record delivered is the new log start, not offset 0');
    tt.ok(env.logs.some((l) => /Offset out of range/i.test(String(l.log.message))),
      'kafkajs only logged the reset (OFFSET_OUT_OF_RANGE -> earliest)');
  });
}
