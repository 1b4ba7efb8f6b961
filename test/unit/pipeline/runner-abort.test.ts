// Reproducer (kept out of the repo, it FAILS today): a batch handler sleeping in its disk-full
// backoff ignores the abort signal, and after the abort it writes once more.
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import t from 'tap';
import { createBatchHandler } from '../../../src/pipeline/runner.js';
import { openDatabase } from '../../../src/store/db.js';
import { Store } from '../../../src/store/store.js';
import { generateMeshTraffic } from '../../../src/sample/mesh-traffic.js';

t.test('abort during the disk-full backoff ends the handler promptly', async (t) => {
  const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-')), 'r.db'));
  const store = new Store(db);
  db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 1}`);
  const controller = new AbortController();
  let retries = 0;
  const handler = createBatchHandler(store, { signal: controller.signal, retry: { initialMs: 5000, maxMs: 5000 }, onRetry: () => { retries++; } });
  const lines = generateMeshTraffic({ requests: 200, seed: 1 });
  const records = lines.map((text, i) => ({ text, position: { source: 's', pos: i, line: i + 1 } }));
  const p = handler({ records, positions: [{ source: 's', position: records.length }] });
  p.catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  t.equal(retries, 1, 'in its first backoff');
  const aborted = Date.now();
  controller.abort();
  db.close(); // what run.command.ts does after the drain timeout
  const err = await p.then(() => null, (e: Error) => e);
  const took = Date.now() - aborted;
  t.ok(took < 500, `handler settled ${took} ms after the abort (backoff was 2500-5000 ms)`);
  t.match(err, { code: 'ERR_DB_FULL' }, `rejects with the store error, not: ${err?.message}`);
});
