/**
 * The compact flow row (migrations/0007_compact_flows.sql, src/store/flows.repository.ts): request
 * ids, addresses and `extra` come back exactly as written whichever form they were stored in, a
 * database written before 0007 reads the same after it, a request id is found in every chunk of
 * its index, and the principal filters that resolve to several callers return what a scan of
 * every flow returns, page by page.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import t from 'tap';
import { emptyFlow, type Flow } from '../../../schemas/flow.js';
import { FlowsQuerySchema, RequestQuerySchema } from '../../../schemas/api.js';
import { processLine } from '../../../src/pipeline/process-line.js';
import { generateMeshTraffic } from '../../../src/sample/mesh-traffic.js';
import { openDatabase } from '../../../src/store/db.js';
import { REQUEST_ID_IN, flowRows, queryFlows, queryRequestHops, requestExists } from '../../../src/store/flows.query.js';
import { packIpv4, type StoredFlow } from '../../../src/store/flows.repository.js';
import { migrate, readMigrations } from '../../../src/store/migrate.js';
import { Store } from '../../../src/store/store.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

/** Values each compact column must give back verbatim, the compact ones and the fallbacks. */
const REQUEST_IDS = [
  'ec585a55-2797-4a73-b089-76b7f44b7008', 'EC585A55-2797-4A73-B089-76B7F44B7008', 'ec585a55279a4a73b08976b7f44b7008',
  'ec585a55-2797-4a73-b089-76b7f44b700', 'req-1', '', ' ec585a55-2797-4a73-b089-76b7f44b7008', null,
];
const ADDRESSES = [
  '10.44.0.5:48914', '0.0.0.0:0', '255.255.255.255:65535', '203.0.113.7:8080', '127.0.0.1:65536', '010.1.1.1:80',
  '10.1.1.1:080', '256.1.1.1:80', '10.1.1.1', '[::1]:8080', 'fe80::1', 'example.com:443', '10.1.1.1:80, 10.1.1.2:80', '', null,
];
const XFF = ['203.0.113.183', '10.0.0.1', '0.0.0.0', '255.255.255.255', '10.0.0.1:80', '203.0.113.1, 10.0.0.2', '2001:db8::1', 'unknown', null];
const EXTRAS: Record<string, string>[] = [
  {},
  { downstream_peer_uri_san: 'spiffe://cluster.local/ns/a/sa/b', upstream_tls_version: 'TLSv1.3', downstream_local_uri_san: '-' },
  { upstream_tls_version: '-', downstream_peer_uri_san: '-' },
  { downstream_tls_session_id: 'abc123', downstream_peer_uri_san: 'spiffe://x/ns/a/sa/b' },
  { log_time: '2026-01-01T00:00:00Z', 'dst.hbone_addr': '10.0.0.1:15008' },
];

function flowAt(i: number): Flow {
  const f = emptyFlow('istio-json');
  f.start_time = new Date(T0 + i * 1000).toISOString();
  f.request_id = REQUEST_IDS[i % REQUEST_IDS.length]!;
  f.upstream_host = ADDRESSES[i % ADDRESSES.length]!;
  f.upstream_local_address = ADDRESSES[(i + 3) % ADDRESSES.length]!;
  f.downstream_local_address = ADDRESSES[(i + 7) % ADDRESSES.length]!;
  f.downstream_remote_address = ADDRESSES[(i + 11) % ADDRESSES.length]!;
  f.x_forwarded_for = XFF[i % XFF.length]!;
  f.extra = { ...EXTRAS[i % EXTRAS.length]! };
  return f;
}

const write = (store: Store, source: string, flows: Flow[]) =>
  store.writeBatch(flows.map((flow, i) => ({ position: { source, pos: i, line: i + 1 }, raw: '', outcome: { ok: true as const, flow } })), []);

/** Every stored flow, as the API returns it, in time order. */
const all = (store: Store): StoredFlow[] => [...flowRows(store, {})].map((r) => r.item);

const strip = ({ id: _id, source: _source, ...flow }: StoredFlow) => flow;

t.test('packIpv4 takes canonical IPv4 (with or without port) only', (t) => {
  t.equal(packIpv4('0.0.0.0:0', true), -(2 ** 47));
  t.equal(packIpv4('255.255.255.255:65535', true), 2 ** 47 - 1, 'fits the 6-byte integer');
  t.equal(packIpv4('255.255.255.255', false), 2 ** 31 - 1, 'fits the 4-byte integer');
  for (const bad of ['010.1.1.1:80', '10.1.1.1:080', '256.1.1.1:80', '10.1.1.1:65536', '1.1.1:80', '10.1.1.1:', '+1.1.1.1:80']) t.equal(packIpv4(bad, true), null, bad);
  t.equal(packIpv4('10.1.1.1:80', false), null, 'a port where none is expected');
  t.equal(packIpv4('10.1.1.1', true), null, 'no port where one is expected');
  t.end();
});

t.test('any address-like or UUID-like text comes back verbatim', (t) => {
  const store = new Store(openDatabase(':memory:'));
  t.teardown(() => store.db.close());
  const addressy = fc.stringMatching(/^[0-9.:a-f-]{0,40}$/);
  const octet = fc.integer({ min: 0, max: 300 }).map(String);
  const ipLike = fc.tuple(octet, octet, octet, octet, fc.option(fc.integer({ min: 0, max: 70000 }), { nil: undefined }))
    .map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}${port === undefined ? '' : `:${port}`}`);
  const uuidLike = fc.uuid().chain((u) => fc.constantFrom(u, u.toUpperCase(), u.slice(1), `${u}0`));
  let pos = 0;
  fc.assert(fc.property(fc.array(fc.tuple(fc.oneof(ipLike, addressy), fc.oneof(ipLike, addressy), fc.oneof(uuidLike, addressy)), { minLength: 1, maxLength: 20 }), (rows) => {
    const flows = rows.map(([a, b, rid], i) => {
      const f = emptyFlow('istio-json');
      f.start_time = new Date(T0 + i).toISOString();
      f.downstream_remote_address = a;
      f.upstream_host = b;
      f.x_forwarded_for = a;
      f.request_id = rid;
      return f;
    });
    const first = pos;
    store.writeBatch(flows.map((flow) => ({ position: { source: 'test:prop', pos: pos++, line: null }, raw: '', outcome: { ok: true as const, flow } })), []);
    const back = store.db.prepare('SELECT downstream_remote_address AS a, upstream_host AS b, x_forwarded_for AS x, request_id AS r FROM flows WHERE pos >= ? ORDER BY pos').all(first);
    t.strictSame(back, rows.map(([a, b, rid]) => ({ a, b, x: a, r: rid })));
    return true;
  }), { numRuns: 200 });
  t.end();
});

t.test('request ids, addresses and extra come back verbatim from every stored form', (t) => {
  const store = new Store(openDatabase(':memory:'));
  t.teardown(() => store.db.close());
  const flows = Array.from({ length: 120 }, (_, i) => flowAt(i));
  t.equal(write(store, 'test:forms', flows).flows, flows.length);
  t.same(all(store).map(strip), flows, 'every field as written');

  const forms = store.db.prepare(`SELECT typeof(request_id_key) AS rid, count(upstream_host_v4) AS packed, count(upstream_host_text) AS text,
    count(x_forwarded_for_v4) AS xff, count(extra_id) AS interned, count(extra) AS json FROM flows GROUP BY 1 ORDER BY 1`).all() as Record<string, unknown>[];
  t.same(forms.map((r) => r.rid), ['blob', 'null', 'text'], 'UUIDs as blobs, other ids as text');
  t.ok(forms.every((r) => Number(r.packed) > 0 && Number(r.text) > 0), 'addresses packed and as text fallback');
  t.ok(forms.some((r) => Number(r.interned) > 0) && forms.some((r) => Number(r.json) > 0), 'extra interned and as JSON');
  t.same(store.db.prepare('SELECT request_id FROM flows ORDER BY id').pluck().all(), flows.map((f) => f.request_id), 'the generated column gives the text back');
  t.same(store.db.prepare('SELECT downstream_remote_address FROM flows ORDER BY id').pluck().all(), flows.map((f) => f.downstream_remote_address));

  for (const rid of REQUEST_IDS.filter((r): r is string => r !== null && r !== '')) {
    const expected = flows.filter((f) => f.request_id === rid).length;
    const q = FlowsQuerySchema.parse({ request_id: rid, limit: '1000' });
    t.equal(queryFlows(store, q).items.length, expected, `request_id=${JSON.stringify(rid)} finds its flows`);
    t.equal(requestExists(store, rid), expected > 0);
    if (expected > 0) t.equal(queryRequestHops(store, rid, { limit: 2 })!.items.length, Math.min(2, expected));
  }
  t.notOk(requestExists(store, 'ec585a55-2797-4a73-b089-76b7f44b7009'), 'another UUID is not found');
  t.end();
});

t.test('migration 0007 keeps every flow of a database written before it', (t) => {
  const dir = t.testdir({});
  // The reference: real traffic plus the edge cases, written and read with the current schema.
  const ref = new Store(openDatabase(path.join(dir, 'ref.db')));
  t.teardown(() => ref.db.close());
  const lines = generateMeshTraffic({ requests: 300, seed: 5 });
  const real = lines.map((l) => processLine(l, { format: 'auto' })).flatMap((o) => (o.ok ? [o.flow] : []));
  write(ref, 'test:real', real);
  write(ref, 'test:forms', Array.from({ length: 60 }, (_, i) => flowAt(i)));
  const expected = all(ref);
  t.ok(expected.length > 300);

  // The same rows in the schema before 0007: text columns as 0001 defined them.
  const oldFile = path.join(dir, 'old.db');
  const old = new Database(oldFile);
  migrate(old, readMigrations().filter((m) => m.version < 7));
  old.exec(`ATTACH '${path.join(dir, 'ref.db')}' AS ref`);
  old.exec('INSERT INTO sources SELECT * FROM ref.sources; INSERT INTO strings SELECT * FROM ref.strings');
  const cols = (old.prepare("SELECT name FROM pragma_table_info('flows')").pluck().all() as string[]);
  const source = cols.map((c) => (c === 'extra' ? 'coalesce(r.extra, (SELECT value FROM ref.strings WHERE id = r.extra_id))' : `r.${c}`));
  old.exec(`INSERT INTO flows (${cols.join(', ')}) SELECT ${source.join(', ')} FROM ref.flows r ORDER BY r.id`);
  t.equal(old.prepare('SELECT count(*) FROM flows WHERE extra IS NOT NULL').pluck().get(), expected.filter((f) => Object.keys(f.extra).length).length);
  old.exec('DETACH ref');
  old.close();

  const migrated = new Store(openDatabase(oldFile));
  t.teardown(() => migrated.db.close());
  t.same(all(migrated), expected, 'every flow reads the same after the migration');
  t.equal(migrated.db.pragma('integrity_check', { simple: true }), 'ok');
  t.same(migrated.db.prepare("SELECT name FROM sqlite_schema WHERE tbl_name = 'flows' AND type = 'index' ORDER BY name").pluck().all(),
    ['flows_position', 'flows_request_chunk', 'flows_source_principal', 'flows_ts']);
  const uuid = expected.find((f) => f.request_id !== null && /^[0-9a-f-]{36}$/.test(f.request_id))!.request_id!;
  t.equal(migrated.db.prepare('SELECT typeof(request_id_key) FROM flows WHERE request_id = ?').pluck().get(uuid), 'blob', 'existing UUIDs converted');
  t.equal(queryFlows(migrated, FlowsQuerySchema.parse({ request_id: uuid })).items.length, expected.filter((f) => f.request_id === uuid).length, 'and found by the index');
  // A replayed position is still a no-op, and new rows follow the old ids.
  t.equal(write(migrated, 'test:real', real.slice(0, 5)).duplicates, 5);
  t.equal(write(migrated, 'test:after', [flowAt(1)]).flows, 1);
  t.equal(Math.max(...all(migrated).map((f) => f.id)), Math.max(...expected.map((f) => f.id)) + 1);
  t.end();
});

t.test('a request id is found in every chunk of the request-id index, from the oldest stored row to the newest', (t) => {
  const store = new Store(openDatabase(':memory:'));
  t.teardown(() => store.db.close());
  const rid = 'ec585a55-2797-4a73-b089-76b7f44b7008';
  const withRid = (i: number, id: string | null = rid) => ({ ...flowAt(i), request_id: id });
  write(store, 'test:a', [withRid(0), withRid(1, 'other')]);
  // Jump the row ids past several chunks of 65,536 (as a long-running store has), then write the
  // request's later hops: they land in chunk 3.
  store.db.prepare('INSERT INTO flows (id, source_id, pos, ts, reporter_id, format_id) SELECT 200000, source_id, 999, ts, reporter_id, format_id FROM flows WHERE id = 1').run();
  write(store, 'test:b', [withRid(2), withRid(3), withRid(4, 'other')]);
  const ids = () => queryFlows(store, FlowsQuerySchema.parse({ request_id: rid })).items.map((f) => f.id);
  t.same(ids(), [1, 200001, 200002], 'hops in chunk 0 and chunk 3');
  t.ok(requestExists(store, rid));
  t.notOk(requestExists(store, 'ec585a55-2797-4a73-b089-76b7f44b7009'));
  const hops = queryRequestHops(store, rid, RequestQuerySchema.parse({ limit: '1' }))!;
  t.same(hops.items.map((h) => [h.hop, h.flow_id]), [[1, 1]]);
  const next = queryRequestHops(store, rid, RequestQuerySchema.parse({ limit: '5', cursor: hops.next_cursor }))!;
  t.same(next.items.map((h) => [h.hop, h.flow_id]), [[2, 200001], [3, 200002]], 'hop numbers count the earlier chunk');
  // Retention deleted the oldest rows: the walk starts at the oldest chunk left.
  store.db.prepare('DELETE FROM flows WHERE id < 200000').run();
  t.same(ids(), [200001, 200002]);
  // Each chunk is one index seek, not a scan of the index.
  const plan = store.db.prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM flows f WHERE ${REQUEST_ID_IN}`).all(Buffer.alloc(16)) as { detail: string }[];
  t.ok(plan.some((p) => /SEARCH r USING COVERING INDEX flows_request_chunk \(<expr>=\? AND request_id_key=\?\)/.test(p.detail)), JSON.stringify(plan.map((p) => p.detail)));
  t.end();
});

t.test('principal namespace and prefix filters page like a scan of every flow', (t) => {
  const store = new Store(openDatabase(':memory:'));
  t.teardown(() => store.db.close());
  // 3 callers in ns a (index arms), 80 in ns b (more than the arms: the IN filter), and others.
  const callers = [
    ...Array.from({ length: 3 }, (_, i) => `spiffe://cluster.local/ns/a/sa/s${i}`),
    ...Array.from({ length: 80 }, (_, i) => `spiffe://cluster.local/ns/b/sa/s${i}`),
    'spiffe://cluster.local/ns/ab/sa/x', 'spiffe://other/ns/a/sa/y', null,
  ];
  const flows = Array.from({ length: 2000 }, (_, i) => {
    const f = emptyFlow('istio-json');
    // Times out of id order, with ties, so the (ts, id) order is tested, not the insert order.
    f.start_time = new Date(T0 + ((i * 7919) % 500) * 1000).toISOString();
    f.source_principal = callers[(i * 31) % callers.length]!;
    f.direction = i % 3 === 0 ? 'inbound' : 'outbound';
    return f;
  });
  write(store, 'test:principals', flows);
  const everything = all(store);
  const cases: [Record<string, string>, (f: StoredFlow) => boolean][] = [
    [{ source_principal: 'ns/a' }, (f) => /^spiffe:\/\/[^/]+\/ns\/a\//.test(f.source_principal ?? '')],
    [{ source_principal: 'ns/b' }, (f) => (f.source_principal ?? '').includes('/ns/b/')],
    [{ source_principal: 'spiffe://cluster.local/ns/a*' }, (f) => (f.source_principal ?? '').startsWith('spiffe://cluster.local/ns/a')],
    [{ source_principal: 'spiffe://cluster.local/ns/b/sa/s1*', direction: 'inbound' }, (f) => (f.source_principal ?? '').startsWith('spiffe://cluster.local/ns/b/sa/s1') && f.direction === 'inbound'],
    [{ source_principal: 'ns/a', from: new Date(T0 + 100_000).toISOString(), to: new Date(T0 + 300_000).toISOString() },
      (f) => /\/ns\/a\//.test(f.source_principal ?? '') && Date.parse(f.start_time!) >= T0 + 100_000 && Date.parse(f.start_time!) < T0 + 300_000],
    [{ source_principal: 'ns/zzz' }, () => false],
  ];
  for (const [params, match] of cases) {
    const want = everything.filter(match).map((f) => f.id);
    const got: number[] = [];
    let cursor: string | null = null;
    do {
      const page = queryFlows(store, FlowsQuerySchema.parse({ ...params, limit: '37', ...(cursor ? { cursor } : {}) }));
      got.push(...page.items.map((f) => f.id));
      cursor = page.next_cursor;
    } while (cursor !== null && got.length <= want.length);
    t.same(got, want, `${JSON.stringify(params)}: ${want.length} flows, in (ts, id) order, over pages of 37`);
    t.same([...flowRows(store, FlowsQuerySchema.parse(params))].map((r) => r.item.id), want, `${JSON.stringify(params)}: the export iterator too`);
  }
  t.end();
});
