/**
 * The Kafka source against a real Kafka-protocol broker (librdkafka's mock cluster) and a real
 * SQLite store: mixed traffic stored exactly once, offsets committed only after the store
 * commit, resume from SQLite when Kafka's committed offset ran ahead, metrics, and a clear
 * error when the brokers cannot be reached.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import kafkajs from 'kafkajs';
import { KafkaSourceConfigSchema } from '../../schemas/config.js';
import { createApp } from '../../src/api/app.js';
import type { BatchHandler } from '../../src/pipeline/contracts.js';
import { createBatchHandler } from '../../src/pipeline/runner.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { kafkaClientConfig } from '../../src/sources/kafka-client-options.js';
import { LINES_PER_MESSAGE, messageRecords } from '../../src/sources/kafka-records.js';
import { KafkaSource } from '../../src/sources/kafka.source.js';
import { createSource } from '../../src/sources/factory.js';
import { ingestMetrics } from '../../src/telemetry/metrics.js';
import { requireKafka, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import {
  connectProducer, expectedOutcome, firstDifference, kafkaSourceConfig, memoryLogger, packMessages, produce, testPipeline, waitFor,
} from '../support/kafka-source-env.js';

const { Kafka, logLevel } = kafkajs;

/** Committed group offsets per partition (-1 when none), read with a fresh admin client. */
async function committedOffsets(broker: KafkaBroker, groupId: string, topic: string): Promise<Record<number, number>> {
  const admin = new Kafka({ clientId: 'probe', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

async function highWatermarks(broker: KafkaBroker, topic: string): Promise<Record<number, number>> {
  const admin = new Kafka({ clientId: 'probe', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

function tracked(t: Test, source: KafkaSource): KafkaSource {
  t.teardown(() => source.stop());
  return source;
}

t.test('message values split into positioned records (pure)', async (t) => {
  const { records, overflow } = messageRecords('kafka:a/1', 7, Buffer.from('one\r\n\n  \ntwo\nthree\n'));
  t.same(records.map((r) => [r.text, r.position.pos, r.position.line]), [
    ['one', 7 * LINES_PER_MESSAGE, null],
    ['two', 7 * LINES_PER_MESSAGE + 3, null],
    ['three', 7 * LINES_PER_MESSAGE + 4, null],
  ]);
  t.equal(overflow, false);
  t.same(messageRecords('kafka:a/1', 0, null).records, [], 'a tombstone has no records');
  const huge = messageRecords('kafka:a/1', 1, Buffer.from(Array.from({ length: LINES_PER_MESSAGE + 10 }, (_, i) => `l${i}`).join('\n')));
  t.equal(huge.overflow, true);
  t.equal(huge.records.length, LINES_PER_MESSAGE, 'never more positions than one offset spans');
  t.equal(huge.records.at(-1)!.position.pos, 2 * LINES_PER_MESSAGE - 1, 'the last position stays inside the offset');
  t.match(huge.records.at(-1)!.text, /^l65535\nl65536\n/, 'the overflow is kept, not dropped');
});

t.test('config: SSL files and SASL map to kafkajs; bad combinations are refused', async (t) => {
  const files: Record<string, string> = { '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY' };
  const read = (p: string) => {
    const v = files[p];
    if (v === undefined) throw new Error('ENOENT');
    return Buffer.from(v);
  };
  const base = { type: 'kafka', brokers: ['b1:9093', 'b2:9093'], topics: ['t'] };
  const c = KafkaSourceConfigSchema.parse({
    ...base,
    ssl: { ca_file: '/ca.pem', cert_file: '/c.pem', key_file: '/k.pem', servername: 'kafka.internal' },
    sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'hunter2' },
  });
  const k = kafkaClientConfig(c, read);
  t.same(k.brokers, ['b1:9093', 'b2:9093']);
  const ssl = k.ssl as { ca: Buffer[]; cert: Buffer; key: Buffer; rejectUnauthorized: boolean; servername: string };
  t.same([ssl.ca.map(String), String(ssl.cert), String(ssl.key), ssl.rejectUnauthorized, ssl.servername], [['CA'], 'CERT', 'KEY', true, 'kafka.internal']);
  t.same(k.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'hunter2' });
  t.equal(kafkaClientConfig(KafkaSourceConfigSchema.parse({ ...base, ssl: true }), read).ssl, true);
  t.equal(kafkaClientConfig(KafkaSourceConfigSchema.parse(base), read).ssl, undefined, 'no TLS by default');
  t.throws(() => kafkaClientConfig(KafkaSourceConfigSchema.parse({ ...base, ssl: { ca_file: '/missing.pem' } }), read), /ssl\.ca_file: cannot read \/missing\.pem/);
  t.throws(() => kafkaClientConfig(KafkaSourceConfigSchema.parse({ ...base, ssl: { cert_file: '/c.pem' } }), read), /cert_file and key_file go together/);
  t.notOk(KafkaSourceConfigSchema.safeParse({ ...base, heartbeat_interval_ms: 5000, session_timeout_ms: 3000 }).success, 'heartbeat must be below the session timeout');
  t.notOk(KafkaSourceConfigSchema.safeParse({ ...base, retry: { initial_ms: 1, typo: 1 } }).success, 'strict');
});

t.test('unreachable brokers: start rejects naming them, and never shows the password', async (t) => {
  const logs = memoryLogger('debug');
  const metrics = ingestMetrics();
  const config = kafkaSourceConfig(['127.0.0.1:1'], 'nowhere', {
    sasl: { mechanism: 'plain', username: 'meshtrail', password: 'hunter2-secret' },
    retry: { initial_ms: 50, max_ms: 100, retries: 1 },
  });
  const source = new KafkaSource(config, { store: testPipeline(t.testdir()).store, metrics, logger: logs.logger });
  const err = await source.start(async () => ({ flows: 0, quarantined: 0, duplicates: 0 })).then(() => null, (e: unknown) => e as Error);
  t.ok(err, 'start rejected');
  t.match(err?.message, /cannot connect to Kafka brokers 127\.0\.0\.1:1/);
  t.notMatch(err?.message, /hunter2/);
  t.notMatch(logs.text(), /hunter2/, 'the password is in no log line');
  await source.stop();
  await source.stop();
  t.pass('stop after a failed start is idempotent');
});

t.test('stop before start is a no-op and start after stop does nothing', async (t) => {
  const source = new KafkaSource(kafkaSourceConfig(['127.0.0.1:1'], 'x'), { store: testPipeline(t.testdir()).store, metrics: ingestMetrics(), logger: memoryLogger().logger });
  await source.stop();
  await source.start(async () => ({ flows: 0, quarantined: 0, duplicates: 0 }));
  t.pass();
});

if (requireKafka(t)) {
  let broker: KafkaBroker;
  t.before(async () => {
    broker = await startKafkaBroker({ brokers: 1 });
  });
  t.teardown(() => broker?.stop());

  t.test('mixed traffic over several partitions: every line stored exactly once, offsets committed after', async (t) => {
    const topic = 'mixed';
    await broker.createTopic(topic, 4);
    // TEXT and JSON lines, CRI and Fluent Bit envelopes, malformed lines; then packed with
    // several lines per message for some messages.
    const lines = [
      ...generateMeshTraffic({ requests: 300, seed: 3, jsonShare: 0.35, envelopeShare: 0.4, malformed: true }),
      'not an access log at all',
      '{"log": "[2026-01-15T03:00:00.000Z] \\"GET /x HTTP/1.1\\" 200"}',
    ];
    const fluent = lines.filter((l) => l.startsWith('{"date"') && l.includes('"kubernetes"')).length;
    const json = lines.filter((l) => l.startsWith('{"start_time"')).length;
    const messages = packMessages(lines, 4, { seed: 5, multiShare: 0.3 });
    t.ok(fluent > 20 && json > 20, `the mix has Fluent Bit records (${fluent}) and Istio JSON lines (${json})`);
    t.ok(messages.some((m) => m.value.split('\n').length > 2), 'some messages hold several lines');
    const expected = expectedOutcome(lines);
    t.ok(expected.quarantined >= 4, `malformed lines present (${expected.quarantined})`);

    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, messages.slice(0, Math.floor(messages.length / 2)));

    const p = testPipeline(t.testdir());
    const metrics = ingestMetrics();
    const logs = memoryLogger();
    const config = kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 50 });
    // Through the factory, as `meshtrail run` builds it.
    const source = createSource(config, { store: p.store, metrics, logger: logs.logger, maxLineBytes: 1 << 20 }) as KafkaSource;
    t.ok(source instanceof KafkaSource);
    t.teardown(() => source.stop());
    await source.start(p.handler);
    // The rest arrives while consuming.
    await produce(producer, topic, messages.slice(Math.floor(messages.length / 2)));
    await waitFor(() => p.stored() >= lines.length, () => `${lines.length} rows, have ${p.stored()}`);
    await new Promise((r) => setTimeout(r, 300));

    const s = p.state();
    t.equal(s.flows + s.quarantined, lines.length, 'rows = lines');
    t.equal(s.flows, expected.flows, 'flows as predicted by the parser');
    t.equal(s.quarantined, expected.quarantined, 'quarantined as predicted');
    t.equal(firstDifference(s.requestIds(), expected.requestIds), 'none', 'the multiset of request ids matches what was produced');
    t.equal(p.totals.duplicates, 0, 'nothing was handed over twice');
    t.ok(p.totals.batches > 4, `chunked by batch_max_records (${p.totals.batches} batches)`);

    const high = await highWatermarks(broker, topic);
    const positions = s.positions();
    for (let part = 0; part < 4; part++) {
      t.equal(positions[`kafka:${topic}/${part}`], high[part], `stored position of partition ${part} is its high watermark`);
      t.equal(metrics.consumerLag.get({ source: source.name, topic, partition: String(part) }), 0, `lag of partition ${part} is 0`);
    }
    await waitFor(async () => {
      const c = await committedOffsets(broker, config.group_id, topic);
      return [0, 1, 2, 3].every((part) => c[part] === high[part]);
    }, () => 'Kafka commits to reach the high watermarks', 10_000);
    t.match(metrics.registry.render(), /meshtrail_kafka_consumer_lag\{source="kafka:g-mixed",topic="mixed",partition="3"\} 0/);
    await source.stop();
    await source.stop();
  });

  t.test('one transaction gathers many kafkajs batches from every partition, with all their positions', async (t) => {
    const topic = 'gather';
    await broker.createTopic(topic, 4);
    const lines = generateMeshTraffic({ requests: 200, seed: 31 });
    const messages = packMessages(lines, 4, { seed: 32, multiShare: 0.2 });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    // Sends of 20 messages: kafkajs hands them over ~5 per partition per batch.
    await produce(producer, topic, messages, 20);

    const p = testPipeline(t.testdir());
    const seen: { records: number; partitions: number }[] = [];
    const handler: BatchHandler = async (batch) => {
      seen.push({ records: batch.records.length, partitions: batch.positions.length });
      return p.handler(batch);
    };
    const config = kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 300, batch_max_wait_ms: 3000 });
    const source = tracked(t, new KafkaSource(config, { store: p.store, metrics: ingestMetrics(), logger: memoryLogger().logger }));
    await source.start(handler);
    await waitFor(() => p.stored() >= lines.length, () => `${lines.length} rows, have ${p.stored()}`);

    t.equal(p.stored(), lines.length, 'rows = lines');
    t.equal(p.totals.duplicates, 0, 'nothing was handed over twice');
    t.equal(firstDifference(p.state().requestIds(), expectedOutcome(lines).requestIds), 'none');
    t.ok(seen.length >= 2, `several transactions (${seen.length})`);
    // Full transactions are cut at a message boundary: at most 5 lines short of the limit.
    t.ok(seen.slice(0, -1).every((b) => b.records > 295 && b.records <= 300), `all but the last transaction full: ${seen.map((b) => b.records).join(', ')}`);
    t.ok(seen.some((b) => b.partitions === 4), 'a transaction carries the positions of all 4 partitions');
    const high = await highWatermarks(broker, topic);
    const positions = p.state().positions();
    await waitFor(async () => {
      const c = await committedOffsets(broker, config.group_id, topic);
      return [0, 1, 2, 3].every((part) => c[part] === high[part] && positions[`kafka:${topic}/${part}`] === high[part]);
    }, () => 'stored positions and Kafka commits to reach the high watermarks', 10_000);
  });

  t.test('a rejected store commit is retried, and nothing is committed to Kafka until it succeeds', async (t) => {
    const topic = 'reject';
    await broker.createTopic(topic, 2);
    const lines = generateMeshTraffic({ requests: 60, seed: 9 });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(lines, 2));

    const p = testPipeline(t.testdir());
    const metrics = ingestMetrics();
    const config = kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 40 });
    let failures = 0;
    let release = false;
    const gated: BatchHandler = async (batch) => {
      if (!release) {
        failures++;
        throw new Error('disk on fire');
      }
      return p.handler(batch);
    };
    const source = tracked(t, new KafkaSource(config, { store: p.store, metrics, logger: memoryLogger().logger, retry: { initialMs: 50, maxMs: 200 } }));
    await source.start(gated);
    await waitFor(() => failures >= 4, () => `4 failed deliveries, have ${failures}`);
    const during = await committedOffsets(broker, config.group_id, topic);
    t.same([during[0], during[1]], [-1, -1], 'no offset committed while the store fails');
    t.equal(p.stored(), 0);
    release = true;
    await waitFor(() => p.stored() >= lines.length, () => `${lines.length} rows, have ${p.stored()}`);
    const expected = expectedOutcome(lines);
    t.equal(p.stored(), lines.length);
    t.equal(firstDifference(p.state().requestIds(), expected.requestIds), 'none');
    t.ok(metrics.sourceErrors.get({ source: source.name, reason: 'deliver_failed' }) >= 4, 'failures are counted');
  });

  t.test('resume from SQLite: a restored database makes the source seek back past Kafka\'s committed offset', async (t) => {
    const topic = 'restore';
    await broker.createTopic(topic, 2);
    const first = generateMeshTraffic({ requests: 40, seed: 21 });
    const second = generateMeshTraffic({ requests: 40, seed: 22, malformed: false });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    const dir = t.testdir();
    const config = kafkaSourceConfig(broker.bootstrap, topic);

    await produce(producer, topic, packMessages(first, 2));
    let p = testPipeline(dir, 'live.db');
    let source = new KafkaSource(config, { store: p.store, metrics: ingestMetrics(), logger: memoryLogger().logger });
    await source.start(p.handler);
    await waitFor(() => p.stored() >= first.length, () => `first ${first.length} rows, have ${p.stored()}`);
    await source.stop();
    p.db.close();
    fs.copyFileSync(path.join(dir, 'live.db'), path.join(dir, 'backup.db'));

    await produce(producer, topic, packMessages(second, 2, { seed: 99 }));
    p = testPipeline(dir, 'live.db');
    source = new KafkaSource(config, { store: p.store, metrics: ingestMetrics(), logger: memoryLogger().logger });
    await source.start(p.handler);
    await waitFor(() => p.stored() >= first.length + second.length, () => `all rows, have ${p.stored()}`);
    await source.stop();
    p.db.close();
    const high = await highWatermarks(broker, topic);
    await waitFor(async () => {
      const c = await committedOffsets(broker, config.group_id, topic);
      return c[0] === high[0] && c[1] === high[1];
    }, () => 'Kafka commits at the end of the topic', 10_000);

    // The backup knows only the first part; Kafka's committed offsets are at the end.
    const restored = testPipeline(dir, 'backup.db');
    t.equal(restored.stored(), first.length, 'the backup holds only the first part');
    const logs = memoryLogger();
    const again = tracked(t, new KafkaSource(config, { store: restored.store, metrics: ingestMetrics(), logger: logs.logger }));
    await again.start(restored.handler);
    await waitFor(() => restored.stored() >= first.length + second.length, () => `restored db to catch up, have ${restored.stored()}`);
    const expected = expectedOutcome([...first, ...second]);
    t.equal(restored.stored(), first.length + second.length);
    t.equal(firstDifference(restored.state().requestIds(), expected.requestIds), 'none');
    t.ok(logs.entries().some((e) => e.msg === 'Resuming partitions from their stored positions.'), 'the resume points are logged');
    t.equal(restored.totals.duplicates, 0, 'the records already in the backup were skipped, not replayed');
  });

  t.test('metrics: /metrics serves records consumed, flows stored, quarantined, per-partition lag and commit latency', async (t) => {
    // `meshtrail run` does not hand its registry to the API yet, so this builds the same wiring
    // in-process: the runner's onCommitted as in run.command.ts, the app with `metrics`.
    const topic = 'metrics';
    await broker.createTopic(topic, 2);
    const lines = generateMeshTraffic({ requests: 80, seed: 13 });
    const expected = expectedOutcome(lines);
    const p = testPipeline(t.testdir());
    const metrics = ingestMetrics();
    const config = kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 100 });
    const source = tracked(t, new KafkaSource(config, { store: p.store, metrics, logger: memoryLogger().logger }));
    const name = source.name;
    const handler = createBatchHandler(p.store, {
      onCommitted: (o, batch, ms) => {
        metrics.recordsConsumed.inc({ source: name }, batch.records.length);
        metrics.flowsStored.inc({ source: name }, o.flows);
        metrics.recordsQuarantined.inc({ source: name }, o.quarantined);
        metrics.recordsDuplicate.inc({ source: name }, o.duplicates);
        metrics.batchCommitSeconds.observe({ source: name }, ms / 1000);
      },
    });
    const server = http.createServer(createApp({ store: p.store, metrics: metrics.registry }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(lines, 2));
    await source.start(handler);
    await waitFor(() => p.stored() >= lines.length, () => `${lines.length} rows, have ${p.stored()}`);

    const body = await (await fetch(url)).text();
    const value = (re: RegExp): number => Number(re.exec(body)?.[1] ?? Number.NaN);
    const src = `source="${name}"`;
    t.equal(value(new RegExp(`^meshtrail_records_consumed_total\\{${src}\\} (\\d+)$`, 'm')), lines.length, 'records consumed');
    t.equal(value(new RegExp(`^meshtrail_flows_stored_total\\{${src}\\} (\\d+)$`, 'm')), expected.flows, 'flows stored');
    t.equal(value(new RegExp(`^meshtrail_records_quarantined_total\\{${src}\\} (\\d+)$`, 'm')), expected.quarantined, 'quarantined');
    t.ok(value(new RegExp(`^meshtrail_batch_commit_seconds_count\\{${src}\\} (\\d+)$`, 'm')) >= 2, 'batch commit latency histogram');
    for (const part of [0, 1]) {
      t.equal(value(new RegExp(`^meshtrail_kafka_consumer_lag\\{${src},topic="${topic}",partition="${part}"\\} (\\d+)$`, 'm')), 0, `lag of partition ${part}`);
    }
    // Lag is high watermark minus next offset: 5 more messages, one record per chunk, and the
    // second chunk held back -> after the first is stored, 4 remain.
    await source.stop();
    await produce(producer, topic, lines.slice(0, 5).map((value) => ({ partition: 0, value })));
    let calls = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const holding: BatchHandler = async (batch) => {
      if (++calls === 2) await held;
      return handler(batch);
    };
    const again = tracked(t, new KafkaSource({ ...config, batch_max_records: 1 }, { store: p.store, metrics, logger: memoryLogger().logger }));
    await again.start(holding);
    await waitFor(() => calls === 2, () => 'the second chunk');
    t.equal(metrics.consumerLag.get({ source: name, topic, partition: '0' }), 4, 'lag = high watermark - next offset');
    t.match(await (await fetch(url)).text(), new RegExp(`meshtrail_kafka_consumer_lag\\{${src},topic="${topic}",partition="0"\\} 4\\n`));
    release();
    await waitFor(() => p.stored() >= lines.length + 5, () => 'the extra lines');
    t.equal(metrics.consumerLag.get({ source: name, topic, partition: '0' }), 0, 'caught up again');
  });

  t.test('a stored position moved back while running: the per-batch check seeks back to it', async (t) => {
    const topic = 'moved';
    await broker.createTopic(topic, 1);
    const lines = generateMeshTraffic({ requests: 10, seed: 17, malformed: false }).slice(0, 50);
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, lines.map((value) => ({ partition: 0, value })));
    const p = testPipeline(t.testdir());
    const logs = memoryLogger();
    const source = tracked(t, new KafkaSource(kafkaSourceConfig(broker.bootstrap, topic), { store: p.store, metrics: ingestMetrics(), logger: logs.logger }));
    await source.start(p.handler);
    await waitFor(() => p.stored() >= 50, () => `50 rows, have ${p.stored()}`);
    // As if the database had been restored under the running source.
    p.db.prepare('UPDATE sources SET position = 10 WHERE key = ?').run(`kafka:${topic}/0`);
    await produce(producer, topic, lines.slice(0, 5).map((value) => ({ partition: 0, value })));
    await waitFor(() => p.stored() >= 55, () => `55 rows, have ${p.stored()}`);
    t.ok(logs.entries().some((e) => e.msg === 'Kafka is past the stored position; seeking back to it.' && e.stored === 10 && e.seekTo === 10), 'sought back');
    t.equal(p.totals.duplicates, 40, 'offsets 10..49 were re-read and were no-ops in the store');
    t.equal(p.state().positions()[`kafka:${topic}/0`], 55);
  });

  t.test('from_beginning: false starts a new group at the end, but a stored position still wins', async (t) => {
    const topic = 'latest';
    await broker.createTopic(topic, 2);
    const old = generateMeshTraffic({ requests: 10, seed: 23, malformed: false });
    const fresh = generateMeshTraffic({ requests: 10, seed: 24, malformed: false });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(old, 2));
    const p = testPipeline(t.testdir());
    // Partition 1 already has a stored position (5): it resumes there; partition 0 has none.
    p.store.writeBatch([], [{ source: `kafka:${topic}/1`, position: 5 }]);
    const onPartition1 = packMessages(old, 2).filter((m) => m.partition === 1).slice(5);
    const expectedOld = onPartition1.flatMap((m) => m.value.split('\n')).filter((l) => l.trim() !== '').length;
    const source = tracked(t, new KafkaSource(kafkaSourceConfig(broker.bootstrap, topic, { from_beginning: false }), { store: p.store, metrics: ingestMetrics(), logger: memoryLogger().logger }));
    await source.start(p.handler);
    await produce(producer, topic, packMessages(fresh, 2, { seed: 8 }));
    await waitFor(() => p.stored() >= expectedOld + fresh.length, () => `${expectedOld + fresh.length} rows, have ${p.stored()}`);
    await new Promise((r) => setTimeout(r, 500));
    t.equal(p.stored(), expectedOld + fresh.length, 'partition 0 skipped what was there before the start; partition 1 resumed at 5');
  });
}
