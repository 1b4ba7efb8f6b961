/**
 * The mTLS evidence report from the hourly rollup (mtls_rollup_hour) equals the same report
 * computed from raw flows, for hour-aligned and unaligned windows, on a generated mesh spread
 * over days (plus plaintext callers with odd remote addresses: the caller host is computed in SQL
 * by the rollup and by hostOf() in JS from raw flows). A 30-day report keeps its full counts after
 * retention deleted the raw flows; flows written without the hook are counted all the same; the
 * migration's backfill builds the same rows as the hook.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { RetentionConfigSchema } from '../../schemas/retention-config.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { buildMtlsReport, mtlsReportFrom } from '../../src/report/mtls-report.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { hostOf, mtlsReportData, mtlsReportDataFromFlows } from '../../src/store/mtls-report.query.js';
import { migrationsDir } from '../../src/paths.js';
import { runRetention } from '../../src/store/retention.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T12:00:00Z');
const now = new Date(NOW);

const ingest = (store: Store, lines: string[], label: string) =>
  ingestStream(store, Readable.from([Buffer.from(`${lines.join('\n')}\n`)]), { format: 'auto', label, batchSize: 500 });
const count = (db: Db, sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;

function fresh(t: Test, name: string, hooked = true): { db: Db; store: Store } {
  const db = openDatabase(path.join(t.testdir({}), name));
  t.teardown(() => db.close());
  const store = new Store(db);
  if (hooked) registerRollups(store);
  return { db, store };
}

/** Odd remote addresses for plaintext callers without identity: what hostOf() must agree on. */
const ODD_REMOTES = ['[fd00::1]:41234', 'fd00::2', '::1', '[]:80', 'a]b:80', 'host.example:', ':80', '[x:1', 'ünïcode-host:5',
  '10.0.0.1:80:90', '10.0.0.9', '[fe80::1]', '[[a]:80', 'a]]:80', '10.9.9.9:00123', ']:1'];

/** Generated traffic spread over `days` days before `end`, a few hours a day, off the hour. */
function mesh(days: number, end: number, seed: number): string[] {
  const lines: string[] = [];
  for (let d = 0; d < days; d++) {
    for (const h of [1, 9, 17]) lines.push(...generateMeshTraffic({ requests: 40, seed: seed + d * 10 + h, end: end - d * DAY - h * HOUR + 1_234_567 }));
  }
  // Plaintext calls from callers without identity at odd addresses (JSON lines carry the address as is).
  const plain = lines.filter((l) => l.startsWith('{') && l.includes('"downstream_remote_address":"10.44.2.20:'));
  for (const [i, remote] of plain.length ? ODD_REMOTES.entries() : []) {
    const o = JSON.parse(plain[i % plain.length]!) as Record<string, unknown>;
    o.downstream_remote_address = remote;
    lines.push(JSON.stringify(o));
  }
  return lines;
}

/** The report from the rollups and the report from raw flows, for [from, to). */
const both = (store: Store, from: number, to: number) => [
  mtlsReportFrom(mtlsReportData(store, from, to), { from, to, now }),
  mtlsReportFrom(mtlsReportDataFromFlows(store, from, to), { from, to, now }),
] as const;

t.test('the report from the rollup equals the report from raw flows, for any window', async (t) => {
  const { db, store } = fresh(t, 'eq.db');
  await ingest(store, mesh(6, NOW, 100), 'mesh');
  t.equal(count(db, 'SELECT sum(requests) AS n FROM mtls_rollup_hour'), count(db, 'SELECT count(*) AS n FROM flows WHERE direction = 1'), 'the rollup counts every inbound flow');
  const windows: [string, number, number][] = [
    ['30 days, on the hour', NOW - 30 * DAY, NOW],
    ['6 days, both edges off the hour', NOW - 6 * DAY + 1_111_111, NOW - 2 * HOUR - 777_777],
    ['one hour off the hour', NOW - DAY - 1_700_000, NOW - DAY + 1_900_000],
    ['inside one hour', NOW - 9 * HOUR + 60_000, NOW - 9 * HOUR + 1_800_000],
    ['a day, on the hour', NOW - 2 * DAY, NOW - DAY],
    ['empty', NOW - 100 * DAY, NOW - 99 * DAY],
  ];
  for (const [name, from, to] of windows) {
    const [rollup, raw] = both(store, from, to);
    t.equal(JSON.stringify(rollup), JSON.stringify(raw), `${name}: identical, in the same order`);
    const inbound = count(db, 'SELECT count(*) AS n FROM flows WHERE direction = 1 AND ts >= ? AND ts < ?', from, to);
    t.equal(rollup.totals.requests, inbound, `${name}: ${inbound} inbound flows counted`);
    t.same(rollup.coverage.counted_window, { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, `${name}: the window as asked`);
  }
  const [month] = both(store, NOW - 30 * DAY, NOW);
  t.ok(month.totals.plaintext > ODD_REMOTES.length && month.totals.mtls_verified > 0, 'verdicts of every kind');
  const callers = month.destinations.flatMap((d) => d.plaintext_callers.map((c) => c.caller));
  for (const remote of ['[fd00::1]:41234', 'a]b:80', '[x:1', '10.0.0.9', 'ünïcode-host:5']) t.ok(callers.includes(`${hostOf(remote)} (no identity)`), `caller ${hostOf(remote)} from ${remote}`);
  t.ok(callers.some((c) => c === '10.44.2.20 (no identity)'), 'the sample caller without sidecar');
});

t.test('a 30-day report keeps its full counts after retention deleted the raw flows', async (t) => {
  const { db, store } = fresh(t, 'ret.db');
  await ingest(store, mesh(29, NOW - HOUR, 200), 'mesh');
  const from = NOW - 30 * DAY;
  const all = count(db, 'SELECT count(*) AS n FROM flows WHERE direction = 1 AND ts >= ? AND ts < ?', from, NOW);
  const before = buildMtlsReport(store, { from, to: NOW, now });
  t.equal(before.totals.requests, all);

  const r = await runRetention(db, RetentionConfigSchema.parse({ flows_days: 14, rollups_days: 400 }), { now: NOW });
  t.ok(r.flows > all / 2, `retention deleted ${r.flows} raw flows`);
  t.ok(count(db, 'SELECT count(*) AS n FROM flows WHERE direction = 1 AND ts >= ? AND ts < ?', from, NOW) < all / 2, 'most inbound flows are gone');
  const after = buildMtlsReport(store, { from, to: NOW, now });
  t.same(after, before, 'the 30-day report is unchanged');
  t.equal(after.totals.requests, all, `still ${all} requests`);
  t.equal(after.coverage.data_deleted_before, null, 'and complete');
  t.notOk(after.caveats.some((c) => /INCOMPLETE|ROUNDED/.test(c)));
  const raw = mtlsReportFrom(mtlsReportDataFromFlows(store, from, NOW), { from, to: NOW, now });
  t.ok(raw.totals.requests < all / 2, 'raw flows alone would have lost most of the window');
  t.match(raw.caveats[0], /^INCOMPLETE WINDOW: retention \(retention\.flows_days\)/);

  // An edge off the hour whose raw flows are past retention is widened to the whole hour, and said so.
  const oddFrom = NOW - 20 * DAY - 9 * HOUR + 600_000;
  const oddTo = NOW - 3 * HOUR + 600_000; // still retained: counted exactly
  const odd = buildMtlsReport(store, { from: oddFrom, to: oddTo, now });
  t.same(odd.coverage.counted_window, { from: new Date(oddFrom - 600_000).toISOString(), to: new Date(oddTo).toISOString() }, 'start rounded down to the hour, end exact');
  t.match(odd.caveats.find((c) => c.startsWith('WINDOW ROUNDED')), /counts cover .* not only/);
  t.equal(odd.totals.requests, count(db, 'SELECT sum(requests) AS n FROM mtls_rollup_hour WHERE bucket >= ? AND bucket < ?', oddFrom - 600_000, oddTo - 600_000)
    + count(db, 'SELECT count(*) AS n FROM flows WHERE direction = 1 AND ts >= ? AND ts < ?', oddTo - 600_000, oddTo), 'whole hours from the rollup, the partial last hour from flows');

  // Rollups deleted by their own retention: the report names the cut.
  await runRetention(db, RetentionConfigSchema.parse({ flows_days: 14, rollups_days: 20 }), { now: NOW });
  const cut = buildMtlsReport(store, { from, to: NOW, now });
  const cutAt = NOW - 20 * DAY; // on the hour here
  t.equal(cut.coverage.data_deleted_before, new Date(cutAt).toISOString());
  t.match(cut.caveats[0], /^INCOMPLETE WINDOW: the hourly mTLS rollup holds nothing older than/);
  t.equal(cut.totals.requests, count(db, 'SELECT sum(requests) AS n FROM mtls_rollup_hour WHERE bucket >= ?', cutAt));
});

t.test('flows written without the hook are counted from the flows until the rollup catches up', async (t) => {
  const { db, store } = fresh(t, 'lag.db');
  await ingest(store, mesh(2, NOW, 300), 'hooked');
  await ingest(new Store(db), mesh(1, NOW - 3 * HOUR, 400), 'bare');
  const mark = count(db, "SELECT last_flow_id AS n FROM rollup_state WHERE name = 'mtls_rollup_hour'");
  t.ok(count(db, 'SELECT max(id) AS n FROM flows') > mark, 'flows above the watermark');
  const [lagging, raw] = both(store, NOW - 3 * DAY, NOW);
  t.equal(JSON.stringify(lagging), JSON.stringify(raw), 'counted from the flows above the watermark');
  await ingest(store, mesh(1, NOW - 5 * HOUR, 500), 'hooked-again');
  t.equal(count(db, "SELECT last_flow_id AS n FROM rollup_state WHERE name = 'mtls_rollup_hour'"), count(db, 'SELECT max(id) AS n FROM flows'), 'caught up');
  t.equal(count(db, 'SELECT sum(requests) AS n FROM mtls_rollup_hour'), count(db, 'SELECT count(*) AS n FROM flows WHERE direction = 1'));
  const [caught, raw2] = both(store, NOW - 3 * DAY, NOW);
  t.equal(JSON.stringify(caught), JSON.stringify(raw2));
});

t.test('the migration backfill builds the rows the hook builds, and carries the flows cutoff over', async (t) => {
  const { db, store } = fresh(t, 'mig.db');
  await ingest(store, mesh(3, NOW, 600), 'mesh');
  const rows = (sql: string) => JSON.stringify(db.prepare(sql).all());
  const hooked = rows('SELECT * FROM mtls_rollup_hour ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12');
  // As a database from before migration 0006 would be: no rollup, retention already ran on flows.
  db.exec("DROP TABLE mtls_rollup_hour; DELETE FROM rollup_state WHERE name = 'mtls_rollup_hour'; DELETE FROM retention_state WHERE name = 'mtls_rollup_hour'");
  db.prepare("INSERT INTO retention_state (name, cutoff, updated_at) VALUES ('flows', ?, ?) ON CONFLICT (name) DO UPDATE SET cutoff = excluded.cutoff").run(NOW - 14 * DAY, NOW);
  const file = fs.readdirSync(migrationsDir()).find((f) => f.startsWith('0006_'))!;
  db.exec(fs.readFileSync(path.join(migrationsDir(), file), 'utf8'));
  t.equal(rows('SELECT * FROM mtls_rollup_hour ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12'), hooked, 'same rows');
  t.equal(count(db, "SELECT last_flow_id AS n FROM rollup_state WHERE name = 'mtls_rollup_hour'"), count(db, 'SELECT max(id) AS n FROM flows'), 'watermark at the newest flow');
  t.equal(count(db, "SELECT cutoff AS n FROM retention_state WHERE name = 'mtls_rollup_hour'"), NOW - 14 * DAY, 'the flows cutoff is the rollup\'s horizon');
  const r = buildMtlsReport(store, { from: NOW - 30 * DAY, to: NOW, now });
  t.equal(r.coverage.data_deleted_before, new Date(NOW - 14 * DAY).toISOString(), 'a report reaching before it says so');
});
