/**
 * A 1M-flow CSV export streams with bounded memory: the server runs in a child process, the
 * client stops reading for a while mid-export (so back-pressure, not a fast socket, is what
 * keeps the server small), and the server's resident set size is watched from outside the whole
 * time. No timing is asserted.
 *
 * Filling 1M flows through the store one batch at a time would take minutes, so the database is
 * built in two steps: BASE flows go through the real write path (Store.writeBatch, fixtures with
 * identities and hostile text), then SQLite copies them into further time windows with
 * INSERT ... SELECT in one transaction (new positions, times and request ids; every index kept),
 * which takes seconds. The export reads them like any other rows.
 *
 * The bound, MAX_GROWTH = 64 MiB of RSS growth over the warm server's size: the CSV of 1M flows is
 * ~345 MiB (asserted to be over 4x the bound), and a server that buffered it -- as one string, an
 * array of rows, or unsent socket writes while the client is not reading -- would hold at least
 * that many bytes, so it would fail by a wide margin. A streaming export holds one 1,000-row chunk
 * (~0.4 MB) plus the socket's buffer; the rest of the margin is V8 heap slack.
 * SQLite's page cache is not part of the export's cost but would count against the bound: it
 * is allowed 64 MiB (cache_size in src/store/db.ts) and a 1M-row scan fills it (the 200k-row
 * database never did). So the baseline is taken after a query that matches no flow has walked
 * every flow in time order (the export's own access path) and so filled that cache to its
 * ceiling; without that warm-up this test saw 45-90 MiB of growth, up to 64 MiB of it page cache.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { makeFlows, writeFlows } from '../unit/api/flow-fixtures.js';

const ROWS = 1_000_000;
/** Flows written through the store; the rest are SQL copies of them. */
const BASE = 50_000;
const MAX_GROWTH = 64 * 1024 * 1024;
/** The fixtures span two hours (inbound lines 3 ms later); each copy moves to the next three-hour window, so windows never overlap. */
const WINDOW_MS = 3 * 3_600_000;
/** The ndjson export covers the first 100k flows only: it is the same code path, and would be 1.3 GB more to read. */
const NDJSON_ROWS = 100_000;

const file = path.join(t.testdir({}), 'big.db');
{
  const started = performance.now();
  const db = openDatabase(file);
  const store = new Store(db);
  for (let i = 0; i < BASE / 10_000; i++) writeFlows(store, makeFlows(10_000, 100 + i), `src:${i}`, 0, 5000);
  // Every stored column (generated ones are derived, hidden > 0) but those a copy must change. The
  // request id is stored as request_id, or as request_id_key where request_id is generated from
  // it; the fixtures' ids are not UUIDs, so either holds text. Names come from the schema only.
  const stored = db.prepare("SELECT name FROM pragma_table_xinfo('flows') WHERE hidden = 0").pluck().all() as string[];
  const rid = stored.includes('request_id_key') ? 'request_id_key' : 'request_id';
  const columns = stored.filter((c) => !['id', 'pos', 'line', 'ts', rid].includes(c));
  const copy = db.prepare(`INSERT INTO flows (pos, line, ts, ${rid}, ${columns.join(', ')})
    SELECT pos + @shift_pos, line + @shift_pos, ts + @shift_ts, ${rid} || @suffix, ${columns.join(', ')}
    FROM flows WHERE id <= @base ORDER BY id`);
  db.transaction(() => {
    for (let k = 1; k < ROWS / BASE; k++) copy.run({ shift_pos: k * 10_000, shift_ts: k * WINDOW_MS, suffix: `-c${k}`, base: BASE });
  })();
  t.equal((db.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n, ROWS);
  t.equal((db.prepare('SELECT count(DISTINCT request_id) AS n FROM flows').get() as { n: number }).n,
    (ROWS / BASE) * (db.prepare('SELECT count(DISTINCT request_id) AS n FROM flows WHERE id <= ?').get(BASE) as { n: number }).n,
    'copies do not share request ids with their originals');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  t.comment(`database of ${ROWS} flows built in ${((performance.now() - started) / 1000).toFixed(1)} s (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB)`);
}

const child = fork(fileURLToPath(new URL('../unit/api/export-server.child.ts', import.meta.url)), [file], {
  execArgv: process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps'),
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
t.teardown(() => { child.kill(); });
const port = await new Promise<number>((resolve, reject) => {
  child.once('message', (m: any) => resolve(m.port));
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

/** The server's resident set size, read from outside it (no IPC round trip to wait for). */
const rss = (): number => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${child.pid}/status`);
  return Number(m[1]) * 1024;
};

/**
 * Samples the server's RSS every 20 ms until stopped; returns the peak seen, and the peak per
 * tenth of the export (`progress` says how far it is, 0..1), which shows a plateau or a climb.
 */
function watch(progress: () => number): { stop: () => { peak: number; tenths: number[] } } {
  const tenths: number[] = [];
  let peak = 0;
  const sample = () => {
    const v = rss();
    peak = Math.max(peak, v);
    const i = Math.min(9, Math.floor(progress() * 10));
    tenths[i] = Math.max(tenths[i] ?? 0, v);
  };
  sample();
  const timer = setInterval(sample, 20);
  return { stop: () => { clearInterval(timer); sample(); return { peak, tenths }; } };
}
const mib = (b: number) => (b / 2 ** 20).toFixed(0);

/** GETs `p`, pausing once for `stallMs` after the first 4 MiB; returns the LF and CRLF counts and bytes. */
const slowGet = (p: string, stallMs: number, onLines: (n: number) => void = () => {}) => new Promise<{ lines: number; crlf: number; bytes: number; status: number }>((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: p }, (res) => {
    let lines = 0;
    let crlf = 0;
    let bytes = 0;
    let lastByte = 0;
    let stalled = stallMs === 0;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
        lines++;
        if ((i > 0 ? chunk[i - 1] : lastByte) === 13) crlf++;
      }
      lastByte = chunk[chunk.length - 1]!;
      onLines(lines);
      // Stop reading for a while once: a server that ignored back-pressure would buffer the export meanwhile.
      if (!stalled && bytes >= 4 << 20) {
        stalled = true;
        res.pause();
        sleep(stallMs).then(() => res.resume(), reject);
      }
    });
    res.on('end', () => resolve({ lines, crlf, bytes, status: res.statusCode! }));
    res.on('error', reject);
  }).on('error', reject);
});

// Warm up code paths, statement caches and the heap before the baseline is taken, and fill
// SQLite's page cache to its configured ceiling with a full scan of the flows (see above).
await slowGet('/api/v1/flows?format=csv&limit=5000', 0);
await slowGet('/api/v1/flows?format=ndjson&limit=5000', 0);
{
  const cold = rss();
  const scan = await fetch(`http://127.0.0.1:${port}/api/v1/flows?response_code=599&limit=1`);
  t.same(await scan.json(), { items: [], next_cursor: null }, 'the page-cache warm-up walked every flow and matched none');
  t.comment(`page-cache warm-up: server RSS ${(cold / 2 ** 20).toFixed(0)} -> ${(rss() / 2 ** 20).toFixed(0)} MiB`);
}

t.test('csv export of 1M flows keeps the server small', async (t) => {
  const before = rss();
  let lines = 0;
  const w = watch(() => lines / ROWS);
  const started = performance.now();
  const r = await slowGet('/api/v1/flows?format=csv', 3000, (n) => { lines = n; });
  const { peak, tenths } = w.stop();
  t.equal(r.status, 200);
  t.equal(r.crlf, ROWS + 1, 'header plus one CRLF-terminated record per flow');
  t.ok(r.bytes > 4 * MAX_GROWTH, `the export (${(r.bytes / 2 ** 20).toFixed(0)} MiB) is much larger than the bound`);
  t.ok(peak - before < MAX_GROWTH, `server RSS grew ${((peak - before) / 2 ** 20).toFixed(1)} MiB (from ${(before / 2 ** 20).toFixed(0)} to ${(peak / 2 ** 20).toFixed(0)} MiB; bound ${MAX_GROWTH / 2 ** 20} MiB)`);
  t.comment(`csv: ${ROWS} rows, ${mib(r.bytes)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s; server RSS ${mib(before)} -> peak ${mib(peak)} MiB; peak per tenth of the export: ${tenths.map(mib).join(' ')} MiB`);
});

t.test('ndjson export keeps the server small', async (t) => {
  const to = new Date(Date.parse('2026-03-01T10:00:00Z') + (NDJSON_ROWS / BASE) * WINDOW_MS).toISOString();
  const before = rss();
  let lines = 0;
  const w = watch(() => lines / NDJSON_ROWS);
  const r = await slowGet(`/api/v1/flows?format=ndjson&to=${to}`, 3000, (n) => { lines = n; });
  const { peak } = w.stop();
  t.equal(r.status, 200);
  t.equal(r.lines, NDJSON_ROWS, 'one line per flow of the window');
  t.ok(r.bytes > 2 * MAX_GROWTH, `the export (${(r.bytes / 2 ** 20).toFixed(0)} MiB) is much larger than the bound`);
  t.ok(peak - before < MAX_GROWTH, `server RSS grew ${((peak - before) / 2 ** 20).toFixed(1)} MiB (bound ${MAX_GROWTH / 2 ** 20} MiB)`);
});
