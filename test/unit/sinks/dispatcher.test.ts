import t, { type Test } from 'tap';
import type { FindingEvent } from '../../../schemas/finding.js';
import { SinkDispatcher } from '../../../src/sinks/dispatcher.js';
import { SqliteOutbox } from '../../../src/sinks/outbox.js';
import type { SendResult, Sink } from '../../../src/sinks/sink.js';
import { Registry } from '../../../src/telemetry/metrics.js';
import { appendEvents, memoryLogger, openTestDb, waitFor } from './fixtures.js';

/** A sink that records what it received and answers from a script (then 'ok'). */
class ScriptedSink implements Sink {
  readonly type = 'memory';
  received: FindingEvent[][] = [];
  closed = 0;
  constructor(readonly name: string, private script: (SendResult | (() => Promise<SendResult>))[] = []) {}
  async send(events: FindingEvent[], signal: AbortSignal): Promise<SendResult> {
    this.received.push(events);
    const next = this.script.shift();
    if (typeof next === 'function') return next.call(null).then((r) => (signal.aborted ? { retry: 'aborted' } : r));
    return next ?? 'ok';
  }
  async close(): Promise<void> { this.closed++; }
  seqs(): number[] { return this.received.flat().map((e) => e.seq); }
}

const lane = { batch_max_events: 3, poll_interval_ms: 20, retry: { initial_ms: 5, max_ms: 20 } };

function setup(t: Test, sinks: Sink[], events = 7) {
  const db = openTestDb(t.testdir());
  appendEvents(db, 1, events);
  const outbox = new SqliteOutbox(db);
  const registry = new Registry();
  const { logger, entries } = memoryLogger();
  const d = new SinkDispatcher({ outbox, sinks: sinks.map((sink) => ({ sink, config: lane })), logger, metrics: registry });
  t.teardown(async () => { await d.stop(Date.now()); db.close(); });
  return { db, outbox, registry, entries, d };
}

t.test('delivers every event in order in batches and advances the cursor', async (t) => {
  const s = new ScriptedSink('a');
  const { d, outbox, registry } = setup(t, [s]);
  await d.start();
  await waitFor('all delivered', () => outbox.getCursor('a') === 7);
  t.same(s.seqs(), [1, 2, 3, 4, 5, 6, 7]);
  t.same(s.received.map((b) => b.length), [3, 3, 1], 'batches of batch_max_events');
  t.match(registry.render(), /meshtrail_sink_events_delivered_total\{sink="a"\} 7/);
  t.match(registry.render(), /meshtrail_sink_lag_events\{sink="a"\} 0/);
  t.match(d.status()[0], { name: 'a', state: 'idle', cursor: 7, lag: 0, delivered: 7 });
});

t.test('retry resends the same batch until ok; nothing is lost or reordered', async (t) => {
  const s = new ScriptedSink('a', [{ retry: 'http_503' }, { retry: 'connect_refused' }, 'ok', { retry: 'http_500', afterMs: 10 }]);
  const { d, outbox, registry, entries } = setup(t, [s]);
  await d.start();
  await waitFor('all delivered', () => outbox.getCursor('a') === 7);
  t.same(s.received.map((b) => b.map((e) => e.seq)), [[1, 2, 3], [1, 2, 3], [1, 2, 3], [4, 5, 6], [4, 5, 6], [7]]);
  t.match(registry.render(), /meshtrail_sink_send_failures_total\{sink="a",outcome="retry",reason="http_503"\} 1/);
  t.equal(outbox.state('a').failures, 3);
  t.ok(entries.some((e) => e.level === 40 && e.reason === 'connect_refused'), 'failures are logged at warn');
  t.ok(entries.some((e) => e.msg === 'Sink recovered; receiver acknowledged again.'));
  t.equal(d.status()[0]!.consecutive_failures, 0);
});

t.test('reject parks the sink loudly, keeps its cursor, and unpark resumes', async (t) => {
  const s = new ScriptedSink('a', ['ok', { reject: 'receiver answered HTTP 403: bad token', code: 'http_403' }]);
  const { d, outbox, registry, entries } = setup(t, [s]);
  await d.start();
  await waitFor('parked', () => d.status()[0]!.state === 'parked');
  const st = d.status()[0]!;
  t.match(st, { cursor: 3, lag: 4, parked: { code: 'http_403', message: /403/ }, last_error: { code: 'http_403' } });
  t.match(registry.render(), /meshtrail_sink_parked\{sink="a"\} 1/);
  t.ok(entries.some((e) => e.level === 50 && e.reason === 'http_403' && /PARKED/.test(String(e.msg))), 'logged at error');
  const sends = s.received.length;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(s.received.length, sends, 'a parked sink sends nothing');
  t.ok(d.unpark('a'));
  t.notOk(d.unpark('a'), 'not parked any more');
  await waitFor('delivered after unpark', () => outbox.getCursor('a') === 7);
  t.same([...new Set(s.seqs())], [1, 2, 3, 4, 5, 6, 7]);
});

t.test('one stuck sink does not stall the others', async (t) => {
  let release!: () => void;
  const stuck = new ScriptedSink('slow', [() => new Promise<SendResult>((r) => { release = () => r('ok'); })]);
  const fast = new ScriptedSink('fast');
  const { d, outbox } = setup(t, [stuck, fast]);
  await d.start();
  await waitFor('fast sink done', () => outbox.getCursor('fast') === 7);
  t.equal(outbox.getCursor('slow'), 0, 'slow sink still on its first batch');
  t.equal(d.status()[0]!.state, 'sending');
  release();
  await waitFor('slow sink done', () => outbox.getCursor('slow') === 7);
});

t.test('a restart resumes from each sink\'s cursor', async (t) => {
  const dir = t.testdir();
  const db = openTestDb(dir);
  t.teardown(() => db.close());
  appendEvents(db, 1, 4);
  const outbox = new SqliteOutbox(db);
  const first = new ScriptedSink('a');
  const d1 = new SinkDispatcher({ outbox, sinks: [{ sink: first, config: lane }], logger: memoryLogger().logger });
  await d1.start();
  await waitFor('first run delivered', () => outbox.getCursor('a') === 4);
  await d1.stop();
  appendEvents(db, 5, 3);
  const second = new ScriptedSink('a');
  const d2 = new SinkDispatcher({ outbox, sinks: [{ sink: second, config: lane }], logger: memoryLogger().logger });
  await d2.start();
  await waitFor('second run delivered', () => outbox.getCursor('a') === 7);
  await d2.stop();
  t.same(second.seqs(), [5, 6, 7], 'only what the first run had not delivered');
});

t.test('notify wakes an idle sink before its poll interval', async (t) => {
  const db = openTestDb(t.testdir());
  t.teardown(() => db.close());
  const outbox = new SqliteOutbox(db);
  const s = new ScriptedSink('a');
  const d = new SinkDispatcher({ outbox, sinks: [{ sink: s, config: { ...lane, poll_interval_ms: 600_000 } }], logger: memoryLogger().logger });
  t.teardown(() => d.stop(Date.now()));
  await d.start();
  await waitFor('idle', () => d.status()[0]!.state === 'idle');
  appendEvents(db, 1, 2);
  d.notify();
  await waitFor('delivered after notify', () => outbox.getCursor('a') === 2, 5000);
  t.pass('woken by notify');
});

t.test('stop is idempotent, safe before start, and aborts sends at the deadline', async (t) => {
  const never = new ScriptedSink('a', [() => new Promise<SendResult>(() => {})]);
  const db = openTestDb(t.testdir());
  t.teardown(() => db.close());
  appendEvents(db, 1, 2);
  const outbox = new SqliteOutbox(db);
  const unstarted = new SinkDispatcher({ outbox, sinks: [], logger: memoryLogger().logger });
  await unstarted.stop();
  await unstarted.stop();
  await unstarted.start();
  t.same(unstarted.status(), [], 'start after stop does nothing');

  // A sink that ignores aborts entirely would hang stop; ours settles on abort (as real sinks do).
  const abortable: Sink = {
    name: 'a', type: 'memory',
    send: (_e, signal) => new Promise<SendResult>((resolve) => signal.addEventListener('abort', () => resolve({ retry: 'aborted' }))),
    close: async () => { never.closed++; },
  };
  const d = new SinkDispatcher({ outbox, sinks: [{ sink: abortable, config: lane }], logger: memoryLogger().logger });
  await d.start();
  await d.start();
  await waitFor('sending', () => d.status()[0]!.state === 'sending');
  const p1 = d.stop(Date.now() + 50);
  const p2 = d.stop(Date.now() + 50);
  t.equal(p1, p2, 'same promise');
  await p1;
  t.equal(never.closed, 1, 'sink closed once');
  t.equal(outbox.getCursor('a'), 0, 'an aborted batch is not marked delivered');
  t.equal(d.status()[0]!.state, 'stopped');
});

t.test('an undecodable outbox row parks the sink instead of skipping it', async (t) => {
  const s = new ScriptedSink('a');
  const { d, db, outbox } = setup(t, [s], 2);
  db.prepare("INSERT INTO outbox (seq, event_id, type, at, finding) VALUES (3, 'x', 'opened', 0, 'nope')").run();
  appendEvents(db, 4, 1);
  await d.start();
  await waitFor('parked', () => d.status()[0]!.state === 'parked');
  t.equal(outbox.getCursor('a'), 2);
  t.match(d.status()[0]!.parked, { code: 'outbox_row_invalid', message: /seq=3/ });
});

t.test('duplicate sink names are refused', async (t) => {
  const db = openTestDb(t.testdir());
  t.teardown(() => db.close());
  t.throws(() => new SinkDispatcher({ outbox: new SqliteOutbox(db), sinks: [{ sink: new ScriptedSink('x'), config: lane }, { sink: new ScriptedSink('x'), config: lane }], logger: memoryLogger().logger }), /two sinks are named x/);
});
