/**
 * Retention over a real SQLite file: raw flows, quarantined records and rollups each go at their
 * own age, in chunks, and nothing else moves -- newer flows and every rollup row of the retained
 * period stay byte-identical; flows the rollups have not counted yet and the newest row are kept
 * (ids stay monotonic, so the rollup watermark stays sound); a pass running while batches are
 * ingested lets them through between its chunks. Incremental vacuum on a new database.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { RetentionConfigSchema } from '../../schemas/retention-config.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { createBatchHandler } from '../../src/pipeline/runner.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { buildMtlsReport } from '../../src/report/mtls-report.js';
import { retentionCutoff, runRetention, startRetention, type RetentionResult } from '../../src/store/retention.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';
import { autoVacuumMode, enableIncrementalVacuumIfNew, freePages } from '../../src/store/vacuum.js';
import { migrate } from '../../src/store/migrate.js';
import Database from 'better-sqlite3';
import { z } from 'zod';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T12:00:00Z');
const config = (over: Record<string, unknown> = {}) => RetentionConfigSchema.parse({ chunk_rows: 500, ...over });

const ingest = (store: Store, lines: string[], label: string) =>
  ingestStream(store, Readable.from([Buffer.from(`${lines.join('\n')}\n`)]), { format: 'auto', label, batchSize: 1000 });

/** sha256 of every row of `sql`'s result, in its order. */
const digest = (db: Db, sql: string, ...args: unknown[]) => {
  const h = crypto.createHash('sha256');
  for (const row of db.prepare(sql).iterate(...args)) h.update(JSON.stringify(row));
  return h.digest('hex');
};
const count = (db: Db, sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;

function fresh(t: Test, name: string): { db: Db; store: Store } {
  const db = openDatabase(path.join(t.testdir({}), name));
  t.teardown(() => db.close());
  const store = new Store(db);
  registerRollups(store);
  return { db, store };
}

t.test('old flows and quarantine go, rollups and newer rows stay identical', async (t) => {
  const { db, store } = fresh(t, 'r.db');
  await ingest(store, generateMeshTraffic({ requests: 400, seed: 1, end: NOW - 500 * DAY, malformed: true }), 'ancient');
  await ingest(store, generateMeshTraffic({ requests: 400, seed: 2, end: NOW - 30 * DAY, malformed: true }), 'old');
  await ingest(store, generateMeshTraffic({ requests: 400, seed: 3, end: NOW - 1 * DAY, malformed: true }), 'new');
  const flowsCut = NOW - 14 * DAY;
  const rollupCut = NOW - 400 * DAY;
  // Quarantined records carry their ingest time: age half of them past 30 days.
  db.prepare('UPDATE quarantine SET received_at = ? WHERE id % 2 = 0').run(NOW - 45 * DAY);
  const qOld = count(db, 'SELECT count(*) AS n FROM quarantine WHERE received_at < ?', NOW - 30 * DAY);
  const qNew = digest(db, 'SELECT * FROM quarantine WHERE received_at >= ? ORDER BY id', NOW - 30 * DAY);
  t.ok(qOld > 0, `aged ${qOld} quarantined records`);

  const oldFlows = count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', flowsCut);
  const newFlows = digest(db, 'SELECT * FROM flows WHERE ts >= ? ORDER BY id', flowsCut);
  const newCount = count(db, 'SELECT count(*) AS n FROM flows WHERE ts >= ?', flowsCut);
  const keptMinute = digest(db, 'SELECT * FROM edge_rollup_minute WHERE bucket >= ? ORDER BY 1,2,3,4,5,6,7,8', rollupCut);
  const keptHour = digest(db, 'SELECT * FROM edge_rollup_hour WHERE bucket >= ? ORDER BY 1,2,3,4,5,6,7,8', rollupCut);
  const keptMtls = digest(db, 'SELECT * FROM mtls_rollup_hour WHERE bucket >= ? ORDER BY 1,2,3,4,5,6,7,8,9,10,11,12', rollupCut);
  const ancientMtls = count(db, 'SELECT count(*) AS n FROM mtls_rollup_hour WHERE bucket < ?', rollupCut);
  const month = buildMtlsReport(store, { from: NOW - 30 * DAY, to: NOW, now: new Date(NOW) });
  t.ok(ancientMtls > 0 && month.totals.requests > 0, `${ancientMtls} ancient mTLS rollup rows, ${month.totals.requests} requests in the last 30 days`);
  const ancientRollups = count(db, 'SELECT count(*) AS n FROM edge_rollup_minute WHERE bucket < ?', rollupCut);
  const principals = digest(db, 'SELECT * FROM principal_rollup ORDER BY 1,2');
  const strings = digest(db, 'SELECT * FROM strings ORDER BY id');
  t.ok(oldFlows > 2000 && newCount > 1000 && ancientRollups > 0, `${oldFlows} old flows, ${newCount} new, ${ancientRollups} ancient minute rollups`);

  const chunks: [string, number][] = [];
  const r = await runRetention(db, config(), { now: NOW, onChunk: (table, rows) => chunks.push([table, rows]) });
  t.equal(r.flows, oldFlows, 'every flow older than 14 days deleted');
  t.equal(r.quarantine, qOld, 'every quarantined record older than 30 days deleted');
  t.equal(r.edge_rollup_minute, ancientRollups, 'minute rollups older than 400 days deleted');
  t.ok(r.edge_rollup_hour > 0, 'hour rollups older than 400 days deleted');
  t.equal(r.mtls_rollup_hour, ancientMtls, 'mTLS rollups older than 400 days deleted');
  t.ok(chunks.every(([table, n]) => table.startsWith('edge_') || n <= 500), 'no flow/quarantine chunk over chunk_rows');
  t.ok(chunks.filter(([table]) => table === 'flows').length >= Math.ceil(oldFlows / 500), 'flows deleted in several chunks');
  t.equal(count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', flowsCut), 0);
  t.equal(count(db, 'SELECT count(*) AS n FROM quarantine WHERE received_at < ?', NOW - 30 * DAY), 0);
  t.equal(count(db, 'SELECT count(*) AS n FROM edge_rollup_minute WHERE bucket < ?', rollupCut), 0);
  t.equal(count(db, 'SELECT count(*) AS n FROM edge_rollup_hour WHERE bucket < ?', rollupCut), 0);
  t.equal(count(db, 'SELECT count(*) AS n FROM mtls_rollup_hour WHERE bucket < ?', rollupCut), 0);
  t.equal(digest(db, 'SELECT * FROM flows WHERE ts >= ? ORDER BY id', flowsCut), newFlows, 'newer flows untouched');
  t.equal(digest(db, 'SELECT * FROM quarantine WHERE received_at >= ? ORDER BY id', NOW - 30 * DAY), qNew, 'newer quarantine untouched');
  t.equal(digest(db, 'SELECT * FROM edge_rollup_minute WHERE bucket >= ? ORDER BY 1,2,3,4,5,6,7,8', rollupCut), keptMinute, 'minute rollups of the retained period identical (incl. the deleted flows\' buckets)');
  t.equal(digest(db, 'SELECT * FROM edge_rollup_hour WHERE bucket >= ? ORDER BY 1,2,3,4,5,6,7,8', rollupCut), keptHour, 'hour rollups identical');
  t.equal(digest(db, 'SELECT * FROM mtls_rollup_hour WHERE bucket >= ? ORDER BY 1,2,3,4,5,6,7,8,9,10,11,12', rollupCut), keptMtls, 'mTLS rollups identical');
  t.equal(digest(db, 'SELECT * FROM principal_rollup ORDER BY 1,2'), principals, 'principal inventory untouched');
  t.equal(digest(db, 'SELECT * FROM strings ORDER BY id'), strings, 'interned strings untouched');
  t.equal(count(db, 'SELECT count(*) AS n FROM pragma_foreign_key_check'), 0, 'no dangling reference');

  const again = await runRetention(db, config(), { now: NOW });
  t.same([again.flows, again.quarantine, again.edge_rollup_minute, again.edge_rollup_hour, again.mtls_rollup_hour], [0, 0, 0, 0, 0], 'a second pass finds nothing');

  // The evidence report reads the mTLS rollup: raw flows past flows_days do not shorten it. A
  // window reaching past rollups_days says so, instead of passing off part of the period as all of it.
  t.equal(retentionCutoff(db, 'flows'), flowsCut, 'the flows cutoff is recorded');
  t.equal(retentionCutoff(db, 'mtls_rollup_hour'), rollupCut, 'the mTLS rollup cutoff is recorded');
  const after = buildMtlsReport(store, { from: NOW - 30 * DAY, to: NOW, now: new Date(NOW) });
  t.same(after, month, 'the 30-day report is unchanged by the deletion of raw flows');
  t.equal(after.coverage.data_deleted_before, null, 'and whole');
  t.notOk(after.caveats.some((c) => c.startsWith('INCOMPLETE')), 'with no INCOMPLETE caveat');
  const cut = buildMtlsReport(store, { from: NOW - 600 * DAY, to: NOW });
  const rollupCutHour = Math.ceil(rollupCut / 3_600_000) * 3_600_000;
  t.equal(cut.coverage.data_deleted_before, new Date(rollupCutHour).toISOString(), 'a report over 600 days names the rollup cut (to the hour: buckets go whole)');
  t.match(cut.caveats[0], /^INCOMPLETE WINDOW: the hourly mTLS rollup holds nothing older than/, 'and leads its caveats with it');
});

t.test('0 days keeps that kind forever; the config refuses rollups shorter than flows', async (t) => {
  const { db, store } = fresh(t, 'z.db');
  await ingest(store, generateMeshTraffic({ requests: 50, seed: 4, end: NOW - 900 * DAY }), 'ancient');
  const before = count(db, 'SELECT count(*) AS n FROM flows');
  const r = await runRetention(db, config({ flows_days: 0, quarantine_days: 0, rollups_days: 0 }), { now: NOW });
  t.same([r.flows, r.edge_rollup_minute, r.mtls_rollup_hour, r.chunks], [0, 0, 0, 0]);
  t.equal(count(db, 'SELECT count(*) AS n FROM flows'), before);
  t.throws(() => RetentionConfigSchema.parse({ flows_days: 30, rollups_days: 7 }), /rollups_days/);
  const defaults = { enabled: true, flows_days: 14, quarantine_days: 30, rollups_days: 400, interval_ms: 3_600_000, chunk_rows: 5000, incremental_vacuum_pages: 2000 };
  t.same(RetentionConfigSchema.parse({}), defaults);
  // How schemas/config.ts embeds it: a missing section gets every default.
  t.same(z.object({ retention: RetentionConfigSchema.prefault({}) }).parse({}).retention, defaults);
  t.throws(() => RetentionConfigSchema.parse({ flows_days: 7, unknown: 1 }), 'unknown keys are refused');
});

t.test('the newest flow is kept whatever its age: ids never go back, later flows are rolled up', async (t) => {
  const { db, store } = fresh(t, 'm.db');
  await ingest(store, generateMeshTraffic({ requests: 100, seed: 5, end: NOW - 1 * DAY }), 'new');
  // A backfill of old logs ingested last: the highest ids are the oldest flows.
  await ingest(store, generateMeshTraffic({ requests: 100, seed: 6, end: NOW - 60 * DAY }), 'backfill');
  const maxId = count(db, 'SELECT max(id) AS n FROM flows');
  await runRetention(db, config(), { now: NOW });
  t.equal(count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', NOW - 14 * DAY), 1, 'one old flow left');
  t.equal(count(db, 'SELECT max(id) AS n FROM flows'), maxId, 'and it is the newest row');
  const rolledBefore = count(db, 'SELECT sum(requests) AS n FROM edge_rollup_minute');
  const r = await ingest(store, generateMeshTraffic({ requests: 50, seed: 7, end: NOW }), 'later');
  t.ok(count(db, 'SELECT min(id) AS n FROM flows WHERE ts > ?', NOW - 3_600_000 - 1) > maxId, 'new flows get ids above every id ever used');
  t.equal(count(db, 'SELECT sum(requests) AS n FROM edge_rollup_minute'), rolledBefore + r.flows, 'the rollup hook counted every new flow');
});

t.test('flows the rollups have not counted yet are kept until they are', async (t) => {
  const { db, store } = fresh(t, 'w.db');
  await ingest(store, generateMeshTraffic({ requests: 20, seed: 8, end: NOW - 1 * DAY }), 'new');
  const bare = new Store(db); // a writer without the rollup hook
  await ingest(bare, generateMeshTraffic({ requests: 100, seed: 9, end: NOW - 60 * DAY }), 'unrolled');
  await ingest(bare, generateMeshTraffic({ requests: 5, seed: 10, end: NOW - 1 * DAY }), 'newest');
  const unrolled = count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', NOW - 14 * DAY);
  const r1 = await runRetention(db, config(), { now: NOW });
  t.equal(r1.flows, 0, 'nothing deleted above the rollup watermark');
  t.equal(count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', NOW - 14 * DAY), unrolled);
  await ingest(store, generateMeshTraffic({ requests: 5, seed: 11, end: NOW }), 'hooked'); // catches the rollups up
  const r2 = await runRetention(db, config(), { now: NOW });
  t.equal(r2.flows, unrolled, 'deleted once counted');
});

t.test('retention interleaves with ingestion batches', async (t) => {
  const { db, store } = fresh(t, 'c.db');
  const old = generateMeshTraffic({ requests: 6000, seed: 12, end: NOW - 40 * DAY });
  await ingest(store, old, 'old');
  const oldFlows = count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', NOW - 14 * DAY);
  t.ok(oldFlows > 20_000, `${oldFlows} old flows`);

  const handler = createBatchHandler(store, { format: 'auto' });
  const lines = generateMeshTraffic({ requests: 3000, seed: 13, end: NOW });
  const batches: { started: number; waited: number }[] = [];
  let retentionDone = false;
  const chunkTimes: number[] = [];
  const ingesting = (async () => {
    for (let i = 0; i < lines.length; i += 200) {
      const records = lines.slice(i, i + 200).map((text, j) => ({ text, position: { source: 'stream:c', pos: i + j, line: i + j + 1 } }));
      const queued = performance.now();
      // Hand the batch over from a timer, as a source does from an I/O callback.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await handler({ records, positions: [{ source: 'stream:c', position: i + records.length }] });
      batches.push({ started: queued, waited: performance.now() - queued });
    }
  })();
  const loop = startRetention(db, config({ chunk_rows: 5000 }), { initialDelayMs: 3_600_000, now: () => NOW, onChunk: (_t, _n, ms) => chunkTimes.push(ms) });
  const started = performance.now();
  const result: RetentionResult = await loop.runNow();
  retentionDone = true;
  await ingesting;
  await loop.stop();
  const during = batches.filter((b) => b.started < started + result.millis);
  t.equal(result.flows, oldFlows, 'retention finished');
  t.equal(count(db, "SELECT count(*) AS n FROM flows f JOIN sources s ON s.id = f.source_id WHERE s.key = 'stream:c'")
    + count(db, "SELECT count(*) AS n FROM quarantine q JOIN sources s ON s.id = q.source_id WHERE s.key = 'stream:c'"), lines.length, 'every batch stored');
  t.ok(retentionDone);
  t.ok(during.length >= 2, `${during.length} batches committed while the pass ran (${result.chunks} chunks)`);
  const worstBatch = Math.max(...batches.map((b) => b.waited));
  t.comment(`retention: ${result.flows} flows in ${result.chunks} chunks of <= 5000 rows, pass ${result.millis.toFixed(0)} ms, longest chunk ${result.longestChunkMs.toFixed(1)} ms (median ${chunkTimes.sort((a, b) => a - b)[Math.floor(chunkTimes.length / 2)]!.toFixed(1)} ms); slowest batch hand-over+commit ${worstBatch.toFixed(1)} ms`);
  t.ok(result.longestChunkMs < 30_000, 'hang detector only: no chunk near the 30 s cap');
});

t.test('incremental vacuum: new databases shrink after retention, old ones are left as they are', async (t) => {
  const dir = t.testdir({});
  // A new database set up the way openDatabase should (see vacuum.ts): mode first, then migrations.
  const raw = new Database(path.join(dir, 'inc.db'));
  t.ok(enableIncrementalVacuumIfNew(raw), 'INCREMENTAL set on a new file');
  raw.pragma('journal_mode = WAL');
  migrate(raw);
  raw.close();
  const db = openDatabase(path.join(dir, 'inc.db'));
  t.teardown(() => db.close());
  t.equal(autoVacuumMode(db), 'incremental', 'the mode survives reopening and migrations');
  t.notOk(enableIncrementalVacuumIfNew(db), 'never on a database with tables');
  const store = new Store(db);
  registerRollups(store);
  await ingest(store, generateMeshTraffic({ requests: 2000, seed: 14, end: NOW - 60 * DAY }), 'old');
  await ingest(store, generateMeshTraffic({ requests: 10, seed: 15, end: NOW }), 'new');
  const pages = () => db.pragma('page_count', { simple: true }) as number;
  const before = pages();
  const r = await runRetention(db, config({ incremental_vacuum_pages: 1_000_000 }), { now: NOW });
  t.ok(r.vacuumedPages > 0, `${r.vacuumedPages} pages released`);
  t.ok(pages() < before, `page_count ${before} -> ${pages()}`);
  t.equal(freePages(db), 0);

  // openDatabase now creates INCREMENTAL databases; a database from before that (auto_vacuum NONE)
  // is made the old way: tables first, so the mode can no longer change.
  const legacyFile = path.join(dir, 'legacy.db');
  const pre = new Database(legacyFile);
  pre.pragma('journal_mode = WAL');
  migrate(pre);
  pre.close();
  const legacy = openDatabase(legacyFile);
  t.teardown(() => legacy.close());
  const ls = new Store(legacy);
  registerRollups(ls);
  t.equal(autoVacuumMode(legacy), 'none', 'a database created before incremental vacuum keeps auto_vacuum=NONE');
  const { db: created } = fresh(t, 'created.db');
  t.equal(autoVacuumMode(created), 'incremental', 'openDatabase creates new databases with incremental vacuum');
  await ingest(ls, generateMeshTraffic({ requests: 500, seed: 16, end: NOW - 60 * DAY }), 'old');
  await ingest(ls, generateMeshTraffic({ requests: 10, seed: 17, end: NOW }), 'new');
  const r2 = await runRetention(legacy, config(), { now: NOW });
  t.equal(r2.vacuumedPages, 0, 'no vacuum on a NONE database');
  t.ok(freePages(legacy) > 0, 'its freed pages stay on the freelist for reuse');
});

t.test('the loop: stop aborts between chunks and is idempotent; a disabled loop never runs by itself', async (t) => {
  const { db, store } = fresh(t, 'l.db');
  await ingest(store, generateMeshTraffic({ requests: 500, seed: 18, end: NOW - 60 * DAY }), 'old');
  await ingest(store, generateMeshTraffic({ requests: 5, seed: 19, end: NOW }), 'new');
  let passes = 0;
  const off = startRetention(db, config({ enabled: false, interval_ms: 1000 }), { initialDelayMs: 1, now: () => NOW, onPass: () => passes++ });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(passes, 0, 'disabled: no pass');
  await off.stop();

  let chunks = 0;
  const loop = startRetention(db, config({ chunk_rows: 100 }), { initialDelayMs: 3_600_000, now: () => NOW, onChunk: () => { if (++chunks === 3) void loop.stop(); } });
  const r = await loop.runNow();
  t.ok(r.aborted, 'pass aborted by stop');
  t.equal(chunks, 3, 'no chunk after the stop');
  await loop.stop();
  await loop.stop();
  const auto = startRetention(db, config(), { initialDelayMs: 1, now: () => NOW, onPass: () => passes++ });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await auto.stop();
  t.equal(passes, 1, 'an enabled loop runs its first pass after the initial delay');
  t.equal(count(db, 'SELECT count(*) AS n FROM flows WHERE ts < ?', NOW - 14 * DAY), 0);
});
