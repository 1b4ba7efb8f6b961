/**
 * `meshtrail run` with a Kafka source, as a real process against librdkafka's mock cluster:
 * SIGKILLed mid-stream and restarted, every line is stored exactly once; SIGTERM drains and exits
 * 0, and a restart hands nothing to the store twice.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import kafkajs from 'kafkajs';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { requireKafka, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import { connectProducer, dbState, expectedOutcome, firstDifference, packMessages, produce, waitFor } from '../support/kafka-source-env.js';
import { startRun, storedRows, writeRunConfig } from '../support/meshtrail-run.js';

const { Kafka, logLevel } = kafkajs;

async function highWatermarks(broker: KafkaBroker, topic: string): Promise<Record<number, number>> {
  const admin = new Kafka({ clientId: 'probe', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Final state of a database file, read after the process exited. */
function finalState(file: string) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const s = dbState(db);
    return { flows: s.flows, quarantined: s.quarantined, requestIds: s.requestIds(), positions: s.positions() };
  } finally {
    db.close();
  }
}

if (requireKafka(t)) {
  let broker: KafkaBroker;
  t.before(async () => {
    broker = await startKafkaBroker({ brokers: 1 });
  });
  t.teardown(() => broker?.stop());

  t.test('SIGKILL mid-stream, restart: every line stored exactly once', async (t) => {
    const topic = 'crash';
    const partitions = 8;
    await broker.createTopic(topic, partitions);
    // ~41k lines, ~22 MB: ~2.8 MB per partition, under what the mock retains.
    const lines = generateMeshTraffic({ requests: 5000, seed: 61, envelopeShare: 0.3 });
    const messages = packMessages(lines, partitions, { seed: 62 });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    const head = Math.floor(messages.length * 0.2);
    await produce(producer, topic, messages.slice(0, head));

    const dir = t.testdir();
    const dbFile = path.join(dir, 'crash.db');
    const config = writeRunConfig(dir, { brokers: broker.bootstrap, topic, database: dbFile, source: { batch_max_records: 500 } });
    // The rest is produced while the first process consumes. Each process is SIGKILLed once a
    // share of the rows is stored (batches in flight, Kafka commits possibly behind SQLite).
    const rest = produce(producer, topic, messages.slice(head), 500);
    for (const share of [0.1, 0.5]) {
      const run = startRun(t, config);
      const before = storedRows(dbFile);
      await waitFor(() => storedRows(dbFile) > Math.max(before, lines.length * share), () => `${share * 100}% of the rows; stderr: ${run.stderr().slice(-2000)}`, 60_000);
      run.kill('SIGKILL');
      t.equal(await run.exited, 'SIGKILL');
      const atKill = storedRows(dbFile);
      t.ok(atKill > before && atKill < lines.length, `killed mid-stream: ${atKill} of ${lines.length} rows stored`);
    }
    await rest;

    const second = startRun(t, config);
    await waitFor(() => storedRows(dbFile) >= lines.length, () => `all ${lines.length} rows, have ${storedRows(dbFile)}; stderr: ${second.stderr().slice(-2000)}`, 90_000);
    await new Promise((r) => setTimeout(r, 500));
    second.kill('SIGTERM');
    t.equal(await second.exited, 0, 'the restarted process drains and exits 0');

    const s = finalState(dbFile);
    const expected = expectedOutcome(lines);
    t.equal(s.flows + s.quarantined, lines.length, 'rows = produced lines');
    t.equal(s.flows, expected.flows);
    t.equal(s.quarantined, expected.quarantined);
    t.equal(firstDifference(s.requestIds, expected.requestIds), 'none', 'the multiset of request ids equals the produced one');
    const high = await highWatermarks(broker, topic);
    for (let p = 0; p < partitions; p++) t.equal(s.positions[`kafka:${topic}/${p}`], high[p], `partition ${p} stored up to its end`);
  });

  t.test('SIGTERM drains and exits 0; a restart hands nothing to the store twice', async (t) => {
    const topic = 'drain';
    const partitions = 4;
    await broker.createTopic(topic, partitions);
    const part1 = generateMeshTraffic({ requests: 800, seed: 71 });
    const part2 = generateMeshTraffic({ requests: 300, seed: 72, malformed: false });
    const producer = await connectProducer(broker.bootstrap);
    t.teardown(() => producer.disconnect());
    await produce(producer, topic, packMessages(part1, partitions, { seed: 73 }));

    const dir = t.testdir();
    const dbFile = path.join(dir, 'drain.db');
    const config = writeRunConfig(dir, { brokers: broker.bootstrap, topic, database: dbFile, source: { batch_max_records: 200 } });
    const debug = { MESHTRAIL_LOG_LEVEL: 'debug' };
    const first = startRun(t, config, debug);
    await waitFor(() => storedRows(dbFile) > 0, () => `the first rows; stderr: ${first.stderr().slice(-2000)}`, 60_000);
    first.kill('SIGTERM');
    t.equal(await first.exited, 0, 'SIGTERM: exit 0');
    t.ok(first.logs().some((e) => e.msg === 'Kafka source stopped.'), 'the source stopped cleanly');
    t.ok(first.logs().some((e) => e.msg === 'Stopped.'), 'the run stopped cleanly');
    const afterFirst = storedRows(dbFile);

    await produce(producer, topic, packMessages(part2, partitions, { seed: 74 }));
    const second = startRun(t, config, debug);
    const total = part1.length + part2.length;
    await waitFor(() => storedRows(dbFile) >= total, () => `all ${total} rows, have ${storedRows(dbFile)}; stderr: ${second.stderr().slice(-2000)}`, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    second.kill('SIGTERM');
    t.equal(await second.exited, 0);

    const s = finalState(dbFile);
    t.equal(s.flows + s.quarantined, total, 'every line stored once');
    t.equal(firstDifference(s.requestIds, expectedOutcome([...part1, ...part2]).requestIds), 'none');
    t.ok(afterFirst > 0, `the first run stored ${afterFirst} rows before stopping`);

    // Every chunk handed to the store, across both processes: offsets [from, next) per partition.
    const chunks = [...first.logs(), ...second.logs()].filter((e) => e.msg === 'Delivering chunk.');
    t.ok(chunks.length > 2, `chunks were logged (${chunks.length})`);
    const high = await highWatermarks(broker, topic);
    for (let p = 0; p < partitions; p++) {
      const ranges = chunks
        .filter((c) => c.partition === p)
        .map((c) => [Math.floor((c.from as number) / 65536), c.next as number] as const)
        .sort((a, b) => a[0] - b[0]);
      let covered = 0;
      let overlaps = 0;
      let holes = 0;
      for (const [from, next] of ranges) {
        if (from < covered) overlaps++;
        if (from > covered) holes++;
        covered = Math.max(covered, next);
      }
      t.equal(overlaps, 0, `partition ${p}: no offset handed to the store twice`);
      t.equal(holes, 0, `partition ${p}: no offset skipped`);
      t.equal(covered, high[p], `partition ${p}: chunks cover the partition to its end`);
    }
  });
}
