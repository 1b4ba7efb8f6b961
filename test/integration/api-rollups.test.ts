/**
 * The rollups behind /edges, /principals and /stats: after batches, replays, a rolled-back
 * batch, writers that ran without the hook, and the migration's backfill, every rollup row
 * equals what the stored flows say (computed here in JavaScript from the flows themselves).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import type { Flow } from '../../schemas/flow.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { migrate, readMigrations } from '../../src/store/migrate.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';
import { isError, makeFlows, writeFlows } from '../unit/api/flow-fixtures.js';

type Counts = { requests: number; errors: number; mtls: number; plaintext: number; bytes: number; first_seen: number; last_seen: number };

/** Rollup rows expected from `flows`, keyed by their values (not ids). */
function expectedEdges(flows: Flow[], width: number): Map<string, Counts> {
  const m = new Map<string, Counts>();
  for (const f of flows) {
    const ts = Date.parse(f.start_time!);
    const k = JSON.stringify([ts - (ts % width), f.source_principal, f.source_namespace, f.destination_service, f.destination_namespace,
      f.destination_port, f.direction, f.reporter.kind]);
    const c = m.get(k) ?? { requests: 0, errors: 0, mtls: 0, plaintext: 0, bytes: 0, first_seen: ts, last_seen: ts };
    c.requests++;
    c.errors += isError(f) ? 1 : 0;
    c.mtls += f.mtls === true ? 1 : 0;
    c.plaintext += f.mtls === false ? 1 : 0;
    c.bytes += (f.bytes_received ?? 0) + (f.bytes_sent ?? 0);
    c.first_seen = Math.min(c.first_seen, ts);
    c.last_seen = Math.max(c.last_seen, ts);
    m.set(k, c);
  }
  return m;
}

/** The rollup table's rows, keyed by values. */
function storedEdges(db: Db, table: string): Map<string, Counts> {
  const s = (col: string) => `(SELECT value FROM strings WHERE id = e.${col})`;
  const rows = db.prepare(`SELECT e.bucket, ${s('source_principal_id')} AS sp, ${s('source_namespace_id')} AS sn, ${s('destination_service_id')} AS ds,
    ${s('destination_namespace_id')} AS dn, e.destination_port AS port, e.direction, e.reporter_kind, e.requests, e.errors, e.mtls, e.plaintext, e.bytes, e.first_seen, e.last_seen
    FROM ${table} e`).all() as Record<string, any>[];
  return new Map(rows.map((r) => [
    JSON.stringify([r.bucket, r.sp, r.sn, r.ds, r.dn, r.port === -1 ? null : r.port, r.direction === 0 ? null : r.direction === 1 ? 'inbound' : 'outbound', r.reporter_kind]),
    { requests: r.requests, errors: r.errors, mtls: r.mtls, plaintext: r.plaintext, bytes: r.bytes, first_seen: r.first_seen, last_seen: r.last_seen },
  ]));
}

function expectedPrincipals(flows: Flow[]) {
  const m = new Map<string, { as_source: number; as_destination: number; first_seen: number; last_seen: number }>();
  const see = (p: string | null, ns: string | null, src: boolean, ts: number) => {
    if (p === null) return;
    const k = JSON.stringify([p, ns]);
    const c = m.get(k) ?? { as_source: 0, as_destination: 0, first_seen: ts, last_seen: ts };
    if (src) c.as_source++; else c.as_destination++;
    c.first_seen = Math.min(c.first_seen, ts);
    c.last_seen = Math.max(c.last_seen, ts);
    m.set(k, c);
  };
  for (const f of flows) {
    const ts = Date.parse(f.start_time!);
    see(f.source_principal, f.source_namespace, true, ts);
    see(f.destination_principal, f.destination_namespace, false, ts);
  }
  return m;
}

function storedPrincipals(db: Db) {
  const rows = db.prepare(`SELECT (SELECT value FROM strings WHERE id = p.principal_id) AS p, (SELECT value FROM strings WHERE id = p.namespace_id) AS ns,
    as_source, as_destination, first_seen, last_seen FROM principal_rollup p`).all() as Record<string, any>[];
  return new Map(rows.map((r) => [JSON.stringify([r.p, r.ns]), { as_source: r.as_source, as_destination: r.as_destination, first_seen: r.first_seen, last_seen: r.last_seen }]));
}

const check = (t: Test, db: Db, flows: Flow[], what: string) => {
  t.same(storedEdges(db, 'edge_rollup_minute'), expectedEdges(flows, 60_000), `${what}: minute rollup`);
  t.same(storedEdges(db, 'edge_rollup_hour'), expectedEdges(flows, 3_600_000), `${what}: hour rollup`);
  t.same(storedPrincipals(db), expectedPrincipals(flows), `${what}: principals`);
  const total = (db.prepare('SELECT sum(requests) AS n FROM edge_rollup_minute').get() as { n: number | null }).n ?? 0;
  t.equal(total, (db.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n, `${what}: every stored flow counted once`);
};

t.test('batches, replays and a rolled-back batch', (t) => {
  const db = openDatabase(path.join(t.testdir({}), 'r.db'));
  const store = new Store(db);
  registerRollups(store);
  registerRollups(store); // idempotent: a second call must not double count
  const flows = makeFlows(900, 3);
  writeFlows(store, flows.slice(0, 500), 'src:a', 0, 70);
  check(t, db, flows.slice(0, 500), 'after 500');
  writeFlows(store, flows.slice(0, 300), 'src:a', 0, 70);
  check(t, db, flows.slice(0, 500), 'after replaying 300 (duplicates)');
  store.addHook(() => { throw new Error('disk on fire'); });
  t.throws(() => writeFlows(store, flows.slice(500), 'src:a', 500, 400));
  check(t, db, flows.slice(0, 500), 'a failed batch leaves rollups as they were');
  db.close();
  t.end();
});

t.test('a writer without the hook is caught up by the next batch that has it', (t) => {
  const file = path.join(t.testdir({}), 'c.db');
  const db = openDatabase(file);
  const flows = makeFlows(600, 4);
  writeFlows(new Store(db), flows.slice(0, 400), 'src:b');
  t.equal((db.prepare('SELECT count(*) AS n FROM edge_rollup_minute').get() as { n: number }).n, 0, 'nothing rolled up without the hook');
  const store = new Store(db);
  registerRollups(store);
  writeFlows(store, flows.slice(400), 'src:b', 400);
  check(t, db, flows, 'after catch-up');
  db.close();
  t.end();
});

t.test('migration 0002 backfills rollups from flows stored before it', (t) => {
  const dir = t.testdir({});
  const db = new Database(path.join(dir, 'm.db'));
  const migrations = readMigrations();
  const rollups = migrations.findIndex((m) => m.name === 'rollups');
  t.ok(rollups > 0);
  migrate(db, migrations.slice(0, rollups));
  const flows = makeFlows(700, 5);
  // The Store writes today's flow columns: write there, then copy the rows into the old schema
  // (the text columns read back through their generated columns; interned extra as its text).
  const current = openDatabase(path.join(dir, 'current.db'));
  writeFlows(new Store(current), flows, 'src:c');
  current.close();
  db.exec(`ATTACH '${path.join(dir, 'current.db')}' AS cur; INSERT INTO sources SELECT * FROM cur.sources; INSERT INTO strings SELECT * FROM cur.strings`);
  const cols = db.prepare("SELECT name FROM pragma_table_info('flows')").pluck().all() as string[];
  db.exec(`INSERT INTO flows (${cols.join(', ')}) SELECT ${cols.map((c) => (c === 'extra' ? 'coalesce(f.extra, (SELECT value FROM cur.strings WHERE id = f.extra_id))' : `f.${c}`)).join(', ')} FROM cur.flows f; DETACH cur`);
  migrate(db, migrations);
  check(t, db, flows, 'after backfill');
  const store = new Store(db);
  registerRollups(store);
  const more = makeFlows(200, 6);
  writeFlows(store, more, 'src:d');
  check(t, db, [...flows, ...more], 'hook continues after the backfill watermark');
  db.close();
  t.end();
});
