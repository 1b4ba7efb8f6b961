/**
 * The Kafka source under trouble, against librdkafka's mock cluster: a partition leader down for
 * a few seconds plus injected Fetch and OffsetCommit errors, two instances splitting a group,
 * and retention deleting messages before they were stored (a gap that must be reported).
 */
import t from 'tap';
import kafkajs from 'kafkajs';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { KafkaSource } from '../../src/sources/kafka.source.js';
import { ingestMetrics } from '../../src/telemetry/metrics.js';
import { ApiKey, KafkaErrorCode, requireKafka, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import {
  connectProducer, expectedOutcome, firstDifference, kafkaSourceConfig, memoryLogger, packMessages, produce, testPipeline, waitFor,
  type TestMessage,
} from '../support/kafka-source-env.js';

const { Kafka, logLevel } = kafkajs;

async function topicOffsets(brokers: string[], topic: string): Promise<{ partition: number; low: number; high: number }[]> {
  const admin = new Kafka({ clientId: 'probe', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  } finally {
    await admin.disconnect();
  }
}

if (requireKafka(t)) {
  t.test('leader down and injected Fetch/OffsetCommit errors while consuming: recovers, nothing lost or doubled', async (t) => {
    const broker: KafkaBroker = await startKafkaBroker({ brokers: 3 });
    t.teardown(() => broker.stop());
    const topic = 'faults';
    await broker.createTopic(topic, 3);
    for (let p = 0; p < 3; p++) await broker.setLeader(topic, p, p + 1);
    await broker.setGroupCoordinator(`g-${topic}`, 1);

    const before = generateMeshTraffic({ requests: 150, seed: 31 });
    const during = generateMeshTraffic({ requests: 100, seed: 32, malformed: false });
    const after = generateMeshTraffic({ requests: 100, seed: 33, malformed: false });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(before, 3), 200);

    const p = testPipeline(t.testdir());
    const metrics = ingestMetrics();
    const logs = memoryLogger();
    const source = new KafkaSource(kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 20 }), { store: p.store, metrics, logger: logs.logger });
    t.teardown(() => source.stop());
    await source.start(p.handler);
    await waitFor(() => p.stored() > 0, () => 'the first rows');

    await broker.pushErrors(ApiKey.OffsetCommit, 3, KafkaErrorCode.REQUEST_TIMED_OUT);
    await broker.pushErrors(ApiKey.Fetch, 2, KafkaErrorCode.NOT_LEADER_FOR_PARTITION);
    await broker.brokerDown(2);
    // Partition 1's leader is down: keep producing to the other two while it is.
    const downAt = Date.now();
    await produce(producer, topic, packMessages(during, 3).map((m): TestMessage => ({ ...m, partition: m.partition === 1 ? 0 : m.partition })), 100);
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - downAt))));
    await broker.brokerUp(2);
    await produce(producer, topic, packMessages(after, 3, { seed: 3 }), 200);

    const all = [...before, ...during, ...after];
    await waitFor(() => p.stored() >= all.length, () => `${all.length} rows, have ${p.stored()}`, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const expected = expectedOutcome(all);
    const s = p.state();
    t.equal(s.flows + s.quarantined, all.length, 'every line stored');
    t.equal(firstDifference(s.requestIds(), expected.requestIds), 'none', 'request ids match what was produced');
    t.equal(p.totals.duplicates, 0, 'no record was handed to the store twice');
    // The faults were really hit: kafkajs does not retry a commit made from eachBatch, so each
    // injected OffsetCommit error reaches the source (logged, counted, repaired by the next
    // commit); each stale-metadata Fetch error makes kafkajs rejoin the group.
    t.equal(metrics.sourceErrors.get({ source: source.name, reason: 'commit_failed' }), 3, 'the 3 injected OffsetCommit errors were seen and survived');
    t.ok(logs.entries().filter((e) => e.msg === 'Joined the consumer group.').length >= 2, 'the injected Fetch errors made the member rejoin');
    const high = await topicOffsets(broker.bootstrap, topic);
    for (const { partition, high: h } of high) t.equal(s.positions()[`kafka:${topic}/${partition}`], h, `partition ${partition} stored up to its end`);
  });

  t.test('a stall longer than the session timeout evicts the member: the source rejoins, nothing lost or doubled', async (t) => {
    const broker: KafkaBroker = await startKafkaBroker({ brokers: 1 });
    t.teardown(() => broker.stop());
    const topic = 'stall';
    await broker.createTopic(topic, 2);
    const lines = generateMeshTraffic({ requests: 300, seed: 41, malformed: false });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(lines, 2), 100);

    const p = testPipeline(t.testdir());
    let stalls = 0;
    // The third transaction blocks the event loop (as a long GC pause or a slow disk would):
    // kafkajs can send no heartbeat, and the coordinator evicts the member.
    const handler: typeof p.handler = async (batch) => {
      if (p.totals.batches === 2 && stalls++ === 0) {
        const until = Date.now() + 5000;
        while (Date.now() < until) { /* stall */ }
      }
      return p.handler(batch);
    };
    const metrics = ingestMetrics();
    const logs = memoryLogger();
    const source = new KafkaSource(kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 25 }), { store: p.store, metrics, logger: logs.logger });
    t.teardown(() => source.stop());
    await source.start(handler);
    await waitFor(() => p.stored() >= lines.length, () => `${lines.length} rows, have ${p.stored()}`, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const s = p.state();
    t.equal(stalls, 1, 'the stall happened');
    t.equal(s.flows + s.quarantined, lines.length, 'every line stored once');
    t.equal(firstDifference(s.requestIds(), expectedOutcome(lines).requestIds), 'none', 'request ids match what was produced');
    t.equal(p.totals.duplicates, 0, 'no record was handed to the store twice');
    const joins = logs.entries().filter((e) => e.msg === 'Joined the consumer group.').length;
    const replaced = metrics.sourceErrors.get({ source: source.name, reason: 'consumer_replaced' }) ?? 0;
    t.ok(joins >= 2, `the member rejoined after the eviction (${joins} joins, ${replaced} replacements)`);
    t.same(metrics.sourceErrors.get({ source: source.name, reason: 'consumer_crash' }) ?? 0, 0, 'the source did not die');
  });

  t.test('two instances in one group, separate databases: they split the partitions and store every line once', async (t) => {
    const broker = await startKafkaBroker({ brokers: 1 });
    t.teardown(() => broker.stop());
    const topic = 'split';
    await broker.createTopic(topic, 4);
    const config = kafkaSourceConfig(broker.bootstrap, topic, { batch_max_records: 100 });
    const dir = t.testdir();
    const instances = ['a', 'b'].map((n) => {
      const p = testPipeline(dir, `${n}.db`);
      const logs = memoryLogger();
      const source = new KafkaSource(config, { store: p.store, metrics: ingestMetrics(), logger: logs.logger });
      t.teardown(() => source.stop());
      const assignment = () => {
        const joins = logs.entries().filter((e) => e.msg === 'Joined the consumer group.');
        return ((joins.at(-1)?.assignment ?? {}) as Record<string, number[]>)[topic] ?? [];
      };
      return { p, source, assignment };
    });
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    await a.source.start(a.p.handler);
    await b.source.start(b.p.handler);
    await waitFor(() => {
      const pa = a.assignment();
      const pb = b.assignment();
      return pa.length > 0 && pb.length > 0 && new Set([...pa, ...pb]).size === 4 && pa.length + pb.length === 4;
    }, () => `a disjoint split of 4 partitions, have ${JSON.stringify([a.assignment(), b.assignment()])}`);

    const lines = generateMeshTraffic({ requests: 300, seed: 41 });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(lines, 4));
    await waitFor(() => a.p.stored() + b.p.stored() >= lines.length, () => `${lines.length} rows, have ${a.p.stored()} + ${b.p.stored()}`);
    await new Promise((r) => setTimeout(r, 300));

    t.equal(a.p.stored() + b.p.stored(), lines.length, 'together: every line once');
    t.ok(a.p.stored() > 0 && b.p.stored() > 0, 'both did work');
    const keysA = Object.keys(a.p.state().positions()).sort();
    const keysB = Object.keys(b.p.state().positions()).sort();
    t.same(keysA, a.assignment().sort().map((x) => `kafka:${topic}/${x}`), 'a stored only its partitions');
    t.same(keysB, b.assignment().sort().map((x) => `kafka:${topic}/${x}`), 'b stored only its partitions');
    const union = [...a.p.state().requestIds(), ...b.p.state().requestIds()].sort();
    t.equal(firstDifference(union, expectedOutcome(lines).requestIds), 'none', 'the union of request ids matches what was produced');
  });

  t.test('retention deleted messages before they were stored: the gap is logged and counted, consumption continues', async (t) => {
    const broker = await startKafkaBroker({ brokers: 1 });
    t.teardown(() => broker.stop());
    const topic = 'gap';
    await broker.createTopic(topic, 1);
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    const config = kafkaSourceConfig(broker.bootstrap, topic);
    const dir = t.testdir();

    const head = generateMeshTraffic({ requests: 20, seed: 51, malformed: false });
    await produce(producer, topic, head.map((value) => ({ partition: 0, value })));
    let p = testPipeline(dir);
    let source = new KafkaSource(config, { store: p.store, metrics: ingestMetrics(), logger: memoryLogger().logger });
    await source.start(p.handler);
    await waitFor(() => p.stored() >= head.length, () => `the first ${head.length} rows`);
    await source.stop();
    p.db.close();

    // ~7 MiB of 1 KiB messages: more than the ~5 MiB the mock keeps per partition.
    const filler = Array.from({ length: 7000 }, (_, i) => ({ partition: 0, value: `filler ${i} ${'x'.repeat(1000)}` }));
    await produce(producer, topic, filler, 250);
    const [first] = await topicOffsets(broker.bootstrap, topic);
    const { low, high } = first!;
    t.ok(low > head.length, `retention moved the log start (${low}) past the stored position (${head.length})`);

    p = testPipeline(dir);
    const metrics = ingestMetrics();
    const logs = memoryLogger();
    // from_beginning: false must not make kafkajs answer OFFSET_OUT_OF_RANGE by jumping to the
    // END of the partition (kafkajs uses one setting for both), which would skip everything.
    source = new KafkaSource({ ...config, from_beginning: false }, { store: p.store, metrics, logger: logs.logger });
    t.teardown(() => source.stop());
    await source.start(p.handler);
    await waitFor(() => p.stored() >= head.length + (high - low), () => `rows up to the end, have ${p.stored()} of ${head.length + (high - low)}`);
    t.equal(p.stored(), head.length + (high - low), 'everything still in Kafka was stored');
    t.equal(p.state().positions()[`kafka:${topic}/0`], high);
    const gap = logs.entries().filter((e) => e.reason === 'gap');
    t.equal(gap.length, 1, 'one error log for the gap');
    t.match(gap[0], { level: 50, stored: head.length, logStart: low, lost: low - head.length });
    t.equal(metrics.sourceErrors.get({ source: source.name, reason: 'gap' }), 1);
    t.match(metrics.registry.render(), new RegExp(`meshtrail_kafka_gap_messages_total\\{source="${source.name}",topic="gap",partition="0"\\} ${low - head.length}\\n`));
  });
}
