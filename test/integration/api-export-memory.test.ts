/**
 * A 200k-flow export streams with bounded memory: the server runs in a child process, the
 * client stops reading for a while mid-export (so back-pressure, not a fast socket, is what
 * keeps the server small), and the server's resident set size is sampled throughout. The bound is generous: holding
 * the export in memory would take several times more. No timing is asserted.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { makeFlows, writeFlows } from '../unit/api/flow-fixtures.js';

const ROWS = 200_000;
const MAX_GROWTH = 64 * 1024 * 1024;

const file = path.join(t.testdir({}), 'big.db');
{
  const db = openDatabase(file);
  const store = new Store(db);
  // 20 distinct streams of 10k flows each: the same generator, fresh positions.
  for (let i = 0; i < ROWS / 10_000; i++) writeFlows(store, makeFlows(10_000, 100 + i), `src:${i}`, 0, 5000);
  t.equal((db.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n, ROWS);
  db.close();
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
const rss = () => new Promise<number>((resolve) => {
  child.once('message', (m: any) => resolve(m.rss));
  child.send('rss');
});

/** GETs `p`, reading slowly; returns the LF and CRLF counts and bytes. */
const slowGet = (p: string, onChunk: () => Promise<void>) => new Promise<{ lines: number; crlf: number; bytes: number; status: number }>((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: p }, (res) => {
    let lines = 0;
    let crlf = 0;
    let bytes = 0;
    let sinceYield = 0;
    let lastByte = 0;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
        lines++;
        if ((i > 0 ? chunk[i - 1] : lastByte) === 13) crlf++;
      }
      lastByte = chunk[chunk.length - 1]!;
      sinceYield += chunk.length;
      if (sinceYield >= 4 << 20) {
        sinceYield = 0;
        res.pause();
        onChunk().then(() => res.resume(), reject);
      }
    });
    res.on('end', () => resolve({ lines, crlf, bytes, status: res.statusCode! }));
    res.on('error', reject);
  }).on('error', reject);
});

t.test('ndjson export of every flow keeps the server small', async (t) => {
  await slowGet('/api/v1/flows?format=ndjson&limit=1000', async () => {}); // warm up code paths and caches
  const before = await rss();
  let peak = before;
  let stalled = false;
  const r = await slowGet('/api/v1/flows?format=ndjson', async () => {
    // Stop reading for a while once: a server that ignored back-pressure would buffer the
    // export meanwhile.
    if (!stalled) { stalled = true; await sleep(3000); }
    peak = Math.max(peak, await rss());
  });
  peak = Math.max(peak, await rss());
  t.equal(r.status, 200);
  t.equal(r.lines, ROWS, 'one line per flow');
  t.ok(r.bytes > 3 * MAX_GROWTH, `the export (${(r.bytes / 2 ** 20).toFixed(0)} MiB) is much larger than the bound`);
  t.ok(peak - before < MAX_GROWTH, `server RSS grew ${((peak - before) / 2 ** 20).toFixed(1)} MiB (bound ${MAX_GROWTH / 2 ** 20} MiB)`);
});

t.test('csv export of every flow keeps the server small', async (t) => {
  const before = await rss();
  let peak = before;
  let stalled = false;
  const r = await slowGet('/api/v1/flows?format=csv', async () => {
    if (!stalled) { stalled = true; await sleep(3000); }
    peak = Math.max(peak, await rss());
  });
  t.equal(r.crlf, ROWS + 1, 'header plus one CRLF-terminated record per flow');
  t.ok(peak - before < MAX_GROWTH, `server RSS grew ${((peak - before) / 2 ** 20).toFixed(1)} MiB`);
});
