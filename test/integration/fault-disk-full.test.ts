/**
 * Fault drill: the database's disk fills up while a source keeps delivering.
 *
 * Two ways to fill it, the same expectations:
 * - a real 16 MiB tmpfs holding the database, filled by a filler file and freed by deleting it
 *   (needs `mount`, i.e. root in a sandbox that allows it; where it does not, the drill says so
 *   and the SQLite limit below still runs);
 * - SQLite's own `PRAGMA max_page_count`, lowered on the connection and raised again.
 *
 * The last drill is the operator's view: `meshtrail run` (the built CLI) following a file when
 * the disk fills logs a retriable ERR_DB_FULL per attempt, exits 0 on SIGTERM while still full
 * (the 30 s cap is a hang detector), and once space is back a restart stores every line once.
 *
 * Expectations: the batch handler does not resolve while the disk is full (the source is blocked,
 * so nothing is acknowledged upstream), each failed attempt is reported through `onRetry` as a
 * retriable ERR_DB_FULL, the database holds exactly the acknowledged batches (the failing one is
 * rolled back whole), and once space returns ingestion resumes by itself and every line is stored
 * exactly once (by count, by position and by the multiset of request ids).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { startRun, storedRows } from '../support/meshtrail-run.js';
import type { MeshtrailError } from '../../src/errors.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { createBatchHandler } from '../../src/pipeline/runner.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';

const BATCH = 250;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How space is taken away and given back. */
interface Disk {
  db: Db;
  fill(): void;
  free(): void;
}

/**
 * Runs the drill: a source delivering `lines` in batches, acknowledging each one only when the
 * handler resolved (as the file and Kafka sources do); the disk fills after `fillAfter` batches.
 */
async function drill(t: Test, disk: Disk, lines: string[], fillAfter: number) {
  const { db } = disk;
  const store = new Store(db);
  registerRollups(store);
  const retries: { code: string; retriable: boolean; message: string; attempt: number }[] = [];
  const handler = createBatchHandler(store, {
    format: 'auto',
    retry: { initialMs: 5, maxMs: 40 },
    onRetry: (err: MeshtrailError, attempt) => retries.push({ code: err.code, retriable: err.retriable, message: err.message, attempt }),
  });
  let acked = 0; // lines acknowledged upstream
  let delivered = 0; // batches handed over
  const stored = () => (db.prepare('SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM quarantine) AS n').get() as { n: number }).n;
  const source = (async () => {
    for (let i = 0; i < lines.length; i += BATCH) {
      if (delivered === fillAfter) disk.fill();
      const records = lines.slice(i, i + BATCH).map((text, j) => ({ text, position: { source: 'drill:disk', pos: i + j, line: i + j + 1 } }));
      delivered++;
      await handler({ records, positions: [{ source: 'drill:disk', position: i + records.length }], labels: { 'drill:disk': 'drill' } });
      acked += records.length; // the ack: only after the handler resolved
    }
  })();

  await waitFor(() => retries.length >= 3, 'the store to report the full disk');
  const ackedWhileFull = acked;
  const deliveredWhileFull = delivered;
  const retriesBefore = retries.length;
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.equal(acked, ackedWhileFull, 'nothing acknowledged while the disk is full');
  t.equal(delivered, deliveredWhileFull, 'the source is blocked: no further batch handed over');
  t.ok(retries.length > retriesBefore, `the batch keeps being retried (${retries.length} attempts so far)`);
  t.equal(stored(), ackedWhileFull, 'the database holds exactly the acknowledged lines: the failing batch left nothing behind');
  t.ok(ackedWhileFull < lines.length, `the disk filled mid-stream (${ackedWhileFull}/${lines.length} lines stored)`);
  t.ok(retries.every((r) => r.code === 'ERR_DB_FULL' && r.retriable), `every failure is a retriable ERR_DB_FULL: ${JSON.stringify(retries[0])}`);
  t.match(retries[0]?.message ?? '', /full|retried/i, 'with a message that says what happened');
  t.same(retries.slice(0, 3).map((r) => r.attempt), [1, 2, 3], 'attempts are counted');

  disk.free();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([source, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ingestion did not resume within 30 s of freeing space; ${retries.length} attempts, last ${JSON.stringify(retries.at(-1))}`)), 30_000);
  })]).finally(() => clearTimeout(timer));
  t.equal(acked, lines.length, 'ingestion resumed by itself and finished');

  // Exactly once.
  const expectedIds: string[] = [];
  let expectedQuarantined = 0;
  for (const l of lines) {
    const o = processLine(l, { format: 'auto' });
    if (o.ok) expectedIds.push(String(o.flow.request_id));
    else expectedQuarantined++;
  }
  expectedIds.sort();
  const ids = (db.prepare('SELECT request_id AS r FROM flows').all() as { r: string | null }[]).map((x) => String(x.r)).sort();
  t.equal(stored(), lines.length, 'every line stored once (count)');
  t.same(ids, expectedIds, 'the multiset of request ids is the input\'s');
  t.equal((db.prepare('SELECT count(*) AS n FROM quarantine').get() as { n: number }).n, expectedQuarantined, 'and the quarantine holds the rest');
  const positions = db.prepare('SELECT pos FROM flows UNION ALL SELECT pos FROM quarantine ORDER BY pos').all() as { pos: number }[];
  t.same(positions.map((p) => p.pos), lines.map((_, i) => i), 'every position 0..n-1 exactly once');
  t.equal((db.prepare("SELECT position AS p FROM sources WHERE key = 'drill:disk'").get() as { p: number }).p, lines.length, 'the committed position is the end');
  t.equal((db.prepare('SELECT sum(requests) AS n FROM edge_rollup_minute').get() as { n: number }).n, expectedIds.length, 'the rollups counted every flow once');
  t.equal(db.pragma('quick_check', { simple: true }), 'ok', 'the database is sound');
}

t.test('SQLite page limit: SQLITE_FULL pauses ingestion, raising the limit resumes it', async (t) => {
  const db = openDatabase(path.join(t.testdir({}), 'full.db'));
  t.teardown(() => db.close());
  const pages = () => db.pragma('page_count', { simple: true }) as number;
  const lines = generateMeshTraffic({ requests: 1500, seed: 31, malformed: true });
  await drill(t, {
    db,
    fill: () => { db.pragma(`max_page_count = ${pages() + 2}`); },
    free: () => { db.pragma('max_page_count = 1073741823'); },
  }, lines, 6);
});

// Ask the kernel for a real small filesystem; report instead of failing where that is not allowed.
const mountDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'meshtrail-tmpfs-'));
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountDir]).status === 0;
t.teardown(() => {
  if (mounted) spawnSync('umount', ['-l', mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });
});

t.test('a real full filesystem (16 MiB tmpfs): ENOSPC pauses ingestion, deleting a file resumes it', async (t) => {
  if (!mounted) {
    t.comment('mount -t tmpfs is not permitted here (not root, or no CAP_SYS_ADMIN): the SQLite page-limit drill above covers the same path through the store and runner');
    t.pass('tmpfs drill not possible in this sandbox');
    return;
  }
  const db = openDatabase(path.join(mountDir, 'full.db'));
  t.teardown(() => db.close());
  const filler = path.join(mountDir, 'filler');
  // About 2.5 MB of database and at most 4 MB of WAL (auto-checkpoint at 1000 pages): it fits once the filler is gone.
  const lines = generateMeshTraffic({ requests: 800, seed: 32, malformed: true });
  await drill(t, {
    db,
    fill: () => {
      // Take every free byte: write until ENOSPC.
      const fd = fs.openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      const small = Buffer.alloc(512, 0x61);
      try {
        for (;;) fs.writeSync(fd, small);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        fs.closeSync(fd);
      }
    },
    free: () => fs.rmSync(filler),
  }, lines, 3);
});

t.test('`meshtrail run` on a full disk: logs ERR_DB_FULL, exits 0 on SIGTERM, a restart stores every line once', async (t) => {
  if (!mounted) {
    t.comment('mount -t tmpfs is not permitted here: the CLI disk-full drill needs a real small filesystem');
    t.pass('CLI disk-full drill not possible in this sandbox');
    return;
  }
  const dir = t.testdir({});
  const mnt = path.join(mountDir, 'cli');
  fs.mkdirSync(mnt);
  const dbFile = path.join(mnt, 'run.db');
  const log = path.join(dir, 'access.log');
  const lines = generateMeshTraffic({ requests: 800, seed: 33 });
  fs.writeFileSync(log, `${lines.slice(0, 1000).join('\n')}\n`);
  const cfg = (follow: boolean) => {
    const f = path.join(dir, `run-${follow}.yaml`);
    fs.writeFileSync(f, YAML.stringify({
      database: dbFile, api: { enabled: false },
      sources: [{ type: 'file', path: log, follow, poll_interval_ms: 50, batch_max_records: 500 }],
      pipeline: { drain_timeout_ms: 2000 },
    }));
    return f;
  };
  const run = startRun(t, cfg(true));
  await waitFor(() => storedRows(dbFile) >= 1000, 'the first lines to be stored');
  const filler = path.join(mountDir, 'cli-filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (const size of [64 * 1024, 512]) {
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(size, 0x61));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.appendFileSync(log, `${lines.slice(1000).join('\n')}\n`);
  await waitFor(() => run.logs().filter((l) => l.code === 'ERR_DB_FULL').length >= 2, 'the run to log the full disk');
  const full = run.logs().filter((l) => l.code === 'ERR_DB_FULL');
  t.ok(full.every((l) => l.level === 50 && /retrying/.test(String(l.msg))), `logged as errors: ${JSON.stringify(full[0])}`);
  t.ok(storedRows(dbFile) < lines.length, 'ingestion paused');

  const sent = Date.now();
  run.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), 30_000); })]);
  clearTimeout(timer);
  t.equal(code, 0, `exit 0 on SIGTERM while the disk is full (after ${Date.now() - sent} ms; drain_timeout_ms 2000)`);

  fs.rmSync(filler);
  const again = startRun(t, cfg(false));
  const code2 = await Promise.race([again.exited, new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), 60_000); })]);
  clearTimeout(timer);
  t.equal(code2, 0, 'the restart finished the file');
  const db = openDatabase(dbFile, { readonly: true });
  t.teardown(() => db.close());
  const positions = db.prepare('SELECT pos FROM flows UNION ALL SELECT pos FROM quarantine ORDER BY pos').all() as { pos: number }[];
  let offset = 0;
  const offsets = lines.map((l) => { const o = offset; offset += Buffer.byteLength(l) + 1; return o; });
  t.same(positions.map((p) => p.pos), offsets, 'every line stored exactly once');
});
