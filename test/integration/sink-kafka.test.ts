/**
 * The Kafka sink against librdkafka's mock cluster: every event lands on the findings topic
 * keyed by finding id, in seq order per finding, also across a broker outage.
 *
 * `idempotent: false` here ONLY because the mock broker reports controller id 0, so kafkajs's
 * InitProducerId (needed by the idempotent producer) fails with KafkaJSBrokerNotFound (see the
 * header of test/support/kafka-broker.ts). Production keeps the default `idempotent: true`; the
 * test of that default is the config unit test.
 */
import kafkajs from 'kafkajs';
import t from 'tap';
import { KafkaSinkConfigSchema } from '../../schemas/sinks-config.js';
import type { FindingEvent } from '../../schemas/finding.js';
import { createSinkDispatcher } from '../../src/sinks/factory.js';
import { SqliteOutbox } from '../../src/sinks/outbox.js';
import { requireKafka, startKafkaBroker } from '../support/kafka-broker.js';
import { makeEvent, makeFinding, memoryLogger, openTestDb, waitFor } from '../unit/sinks/fixtures.js';
import type { Db } from '../../src/store/db.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** Events seq from..from+count-1 for only 5 findings, so keys repeat and per-key order matters. */
function appendRepeating(db: Db, from: number, count: number): FindingEvent[] {
  const insert = db.prepare('INSERT INTO outbox (seq, event_id, type, at, finding) VALUES (?, ?, ?, ?, ?)');
  const out: FindingEvent[] = [];
  for (let seq = from; seq < from + count; seq++) {
    const e = { ...makeEvent(seq), finding: makeFinding(seq % 5) };
    e.event_id = `${e.finding.id}:${seq}`;
    insert.run(seq, e.event_id, e.type, Date.parse(e.at), JSON.stringify(e.finding));
    out.push(e);
  }
  return out;
}

if (requireKafka(t)) {
  t.test('findings topic: keyed by finding id, ordered per finding, nothing lost across a broker outage', async (t) => {
    const broker = await startKafkaBroker({ brokers: 1, topics: [{ name: 'findings', partitions: 3 }] });
    t.teardown(() => broker.stop());
    const db = openTestDb(t.testdir());
    const outbox = new SqliteOutbox(db);
    const { logger } = memoryLogger();
    const cfg = KafkaSinkConfigSchema.parse({
      type: 'kafka', brokers: broker.bootstrap, topic: 'findings', idempotent: false,
      batch_max_events: 8, poll_interval_ms: 50, retry: { initial_ms: 50, max_ms: 500 }, timeout_ms: 3000,
    });
    const d = createSinkDispatcher([cfg], { outbox, version: '0.1.0', logger });
    t.teardown(async () => { await d.stop(Date.now() + 3000); db.close(); });

    const consumed: { key: string; eventId: string; seq: number; partition: number; header: string }[] = [];
    const kafka = new Kafka({ clientId: 'sink-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } });
    const consumer = kafka.consumer({ groupId: 'sink-test', sessionTimeout: 3000, rebalanceTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    t.teardown(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: 'findings', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const doc = JSON.parse(message.value!.toString());
        consumed.push({ key: message.key!.toString(), eventId: doc.event.id, seq: doc.meshtrail.event.seq, partition, header: String(message.headers?.event_id) });
      },
    });

    const first = appendRepeating(db, 1, 30);
    await d.start();
    await waitFor('cursor at 30', () => outbox.getCursor('kafka') === 30, 60_000);

    await broker.brokerDown(1);
    const second = appendRepeating(db, 31, 20);
    d.notify();
    await waitFor('sink retrying while the broker is down', () => d.status()[0]!.state === 'retrying' || d.status()[0]!.failures > 0, 60_000);
    t.equal(outbox.getCursor('kafka'), 30, 'cursor held while the broker is down');
    await broker.brokerUp(1);
    await waitFor('cursor at 50', () => outbox.getCursor('kafka') === 50, 60_000);
    const all = [...first, ...second];
    await waitFor('all 50 consumed', () => new Set(consumed.map((c) => c.eventId)).size >= 50, 60_000);

    const ids = new Set(consumed.map((c) => c.eventId));
    t.same(all.filter((e) => !ids.has(e.event_id)).map((e) => e.event_id), [], 'no event lost');
    t.equal(ids.size, 50);
    t.comment(`kafka: ${consumed.length} records for 50 events (${consumed.length - 50} redelivered)`);
    t.ok(consumed.every((c) => c.key === c.eventId.split(':')[0]), 'key = finding id');
    t.ok(consumed.every((c) => c.header === c.eventId), 'event_id header');
    for (const key of new Set(consumed.map((c) => c.key))) {
      const mine = consumed.filter((c) => c.key === key);
      t.equal(new Set(mine.map((c) => c.partition)).size, 1, `${key}: one partition`);
      const firstSeen = mine.filter((c, i) => mine.findIndex((x) => x.eventId === c.eventId) === i).map((c) => c.seq);
      t.same(firstSeen, [...firstSeen].sort((a, b) => a - b), `${key}: events in seq order`);
    }
    t.match(d.status()[0], { state: 'idle', lag: 0 });
    t.ok(d.status()[0]!.failures > 0, 'the outage was counted');
  });
}
