/**
 * Findings and outbox through the real store: detectors run in the batch transaction; lifecycle
 * (open, severity change, resolve, reopen, suppress) writes exactly the events it must; replayed
 * batches count nothing twice; the sinks' outbox reader decodes every event.
 */
import path from 'node:path';
import t from 'tap';
import { registerDetectors } from '../../src/detect/registry.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { SqliteOutbox } from '../../src/sinks/outbox.js';
import { openDatabase } from '../../src/store/db.js';
import { assertFindingShape, findingId } from '../../src/store/findings.repository.js';
import { Store, type BatchRecord } from '../../src/store/store.js';
import { policiesFromYaml } from '../helpers/policy-fixtures.js';

const policies = policiesFromYaml(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec: { mtls: { mode: STRICT } }
`);

/** An inbound plaintext line at catalog from 10.3.0.20 (no sidecar); `code` 0 = refused. */
function plaintextLine(minute: number, code = 200): string {
  return JSON.stringify({
    start_time: new Date(Date.parse('2026-03-01T10:00:00Z') + minute * 60_000).toISOString(), method: 'GET', path: '/items', protocol: 'HTTP/1.1',
    response_code: code, response_flags: code === 0 ? 'DC' : '-', bytes_received: 0, bytes_sent: code === 0 ? 0 : 120, duration: 2,
    request_id: `r-${minute}`, authority: 'catalog.shop.svc.cluster.local:8080', upstream_cluster: 'inbound|8080||',
    downstream_local_address: '10.1.0.12:8080', downstream_remote_address: '10.3.0.20:41000', requested_server_name: null, route_name: 'default',
    downstream_peer_uri_san: null, downstream_tls_version: null,
  });
}

let pos = 0;
function records(lines: string[], source = 'test'): BatchRecord[] {
  return lines.map((raw) => ({ position: { source, pos: pos++, line: null }, raw, outcome: processLine(raw, { format: 'auto' }) }));
}

t.test('lifecycle and outbox', async (t) => {
  const db = openDatabase(path.join(t.testdir(), 'm.db'));
  t.teardown(() => db.close());
  const store = new Store(db);
  let clock = Date.parse('2026-03-02T00:00:00Z');
  const handle = registerDetectors(store, { policies, now: () => clock });
  const outbox = handle.findings.outbox;
  const id = findingId('plaintext|ip:10.3.0.20|shop/catalog|8080');

  // Refused plaintext first: high.
  store.writeBatch(records([plaintextLine(1, 0), plaintextLine(2, 0)]), []);
  let f = handle.findings.get(id)!;
  t.ok(f, 'finding stored under the hash of its key');
  assertFindingShape(f);
  t.match(f, { severity: 'high', status: 'open', count: 2, first_seen: '2026-03-01T10:01:00.000Z', last_seen: '2026-03-01T10:02:00.000Z' });
  t.same(outbox.list().map((e) => [e.type, e.event_id]), [['opened', `${id}:1`]]);

  // Served plaintext later: severity rises to critical, one event.
  clock += 1000;
  const batch2 = records([plaintextLine(3), plaintextLine(4)]);
  store.writeBatch(batch2, []);
  f = handle.findings.get(id)!;
  t.match(f, { severity: 'critical', count: 4 });
  t.same(outbox.list().map((e) => e.type), ['opened', 'severity_changed']);

  // The same batch again (at-least-once redelivery): no double counting, no event.
  const replay = store.writeBatch(batch2, []);
  t.equal(replay.duplicates, 2);
  t.equal(handle.findings.get(id)!.count, 4);
  t.equal(outbox.count(), 2);

  // Acknowledge: no event. Resolve: one event. Recurrence reopens: one event.
  t.equal(handle.findings.setStatus(id, 'acknowledged', 'looking')!.status, 'acknowledged');
  t.equal(outbox.count(), 2);
  t.match(handle.findings.setStatus(id, 'resolved', 'billing got a sidecar'), { status: 'resolved', status_reason: 'billing got a sidecar' });
  t.same(outbox.list().map((e) => e.type), ['opened', 'severity_changed', 'resolved']);
  store.writeBatch(records([plaintextLine(10)]), []);
  t.match(handle.findings.get(id), { status: 'open', status_reason: null, count: 5 });
  t.same(outbox.list().map((e) => e.type), ['opened', 'severity_changed', 'resolved', 'reopened']);

  // Suppressed stays suppressed and is silent.
  handle.findings.setStatus(id, 'suppressed', 'known legacy caller');
  store.writeBatch(records([plaintextLine(11), plaintextLine(12)]), []);
  t.match(handle.findings.get(id), { status: 'suppressed', count: 7 });
  t.equal(outbox.count(), 4);
  t.equal(handle.findings.setStatus('0'.repeat(32), 'resolved', 'x'), undefined);

  // The sinks' reader decodes every event: the table is what src/sinks/outbox.ts expects.
  const events = new SqliteOutbox(db).read(0, 100);
  t.equal(events.length, 4);
  t.same(events.map((e) => e.seq), [1, 2, 3, 4]);
  t.equal(events[2]!.finding.status, 'resolved');
  t.equal(events[2]!.at, new Date(clock).toISOString());

  // Counters persisted with the flows.
  t.match(handle.findings.counters(), { plaintext: { plaintext: 7 } });
});

t.test('a failing batch keeps neither its flows nor its findings nor its events', async (t) => {
  const db = openDatabase(path.join(t.testdir(), 'f.db'));
  t.teardown(() => db.close());
  const store = new Store(db);
  const handle = registerDetectors(store, { policies: null });
  store.addHook(() => { throw new Error('boom'); });
  t.throws(() => store.writeBatch(records([plaintextLine(1)], 'other'), []), /boom/);
  t.equal(handle.findings.list({ limit: 10 }).items.length, 0);
  t.equal(handle.findings.outbox.count(), 0);
});
