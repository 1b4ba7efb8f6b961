import t from 'tap';
import { OutboxRowError, SqliteOutbox } from '../../../src/sinks/outbox.js';
import { appendEvents, openTestDb } from './fixtures.js';

t.test('reads in seq order after a cursor, with the finding decoded', async (t) => {
  const db = openTestDb(t.testdir());
  t.teardown(() => db.close());
  const written = appendEvents(db, 1, 5);
  const o = new SqliteOutbox(db);
  t.same(o.read(0, 10), written);
  t.same(o.read(2, 2).map((e) => e.seq), [3, 4]);
  t.same(o.read(5, 10), []);
});

t.test('cursors start at 0, only move forward, and count deliveries and errors', async (t) => {
  const db = openTestDb(t.testdir());
  t.teardown(() => db.close());
  appendEvents(db, 1, 5);
  const o = new SqliteOutbox(db);
  t.equal(o.getCursor('a'), 0);
  t.equal(o.lag('a'), 5);
  o.setCursor('a', 3, 3);
  o.setCursor('a', 2, 0); // a late, stale call must not rewind
  t.equal(o.getCursor('a'), 3);
  t.equal(o.lag('a'), 2);
  t.equal(o.getCursor('b'), 0, 'cursors are per sink');
  o.recordError('a', 'http_503', 'busy');
  o.recordError('a', 'http_502', 'x'.repeat(5000));
  const s = o.state('a');
  t.match(s, { seq: 3, delivered: 3, failures: 2, last_error_code: 'http_502' });
  t.equal(s.last_error!.length, 2000, 'error text is bounded');
  t.type(s.last_success_at, 'number');
});

t.test('a row that does not decode stops reading with its seq, it is never skipped', async (t) => {
  const db = openTestDb(t.testdir());
  t.teardown(() => db.close());
  appendEvents(db, 1, 2);
  db.prepare("INSERT INTO outbox (seq, event_id, type, at, finding) VALUES (3, 'bad', 'opened', 0, '{not json')").run();
  db.prepare("INSERT INTO outbox (seq, event_id, type, at, finding) VALUES (4, 'bad2', 'exploded', 0, '{}')").run();
  const o = new SqliteOutbox(db);
  t.same(o.read(0, 2).map((e) => e.seq), [1, 2]);
  t.same(o.read(0, 10).map((e) => e.seq), [1, 2], 'the good rows before a bad one are still handed out');
  t.throws(() => o.read(2, 10), OutboxRowError);
  t.throws(() => o.read(2, 10), { seq: 3, message: /seq=3.*not JSON/ });
  t.throws(() => o.read(3, 10), { seq: 4, message: /seq=4/ });
});
