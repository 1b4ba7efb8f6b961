/**
 * Fault drills with signals, on the built CLI as an operator runs it:
 *
 * - SIGTERM while `meshtrail run` is busy following a large file: it drains and exits 0 (the
 *   30 s cap is a hang detector, not a benchmark); a restart stores the rest, and every line is
 *   stored exactly once.
 * - SIGKILL while `meshtrail ingest` is writing a large file (no drain, no cleanup: the
 *   transaction in flight is lost): re-running the same command stores the rest, exactly once.
 *
 * "Exactly once" is checked three ways: the number of rows is the number of non-blank lines,
 * every line's byte offset is stored once, and the multiset of request ids equals the input's.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { meshtrail, meshtrailBackground } from '../helpers/cli.js';
import { startRun, storedRows } from '../support/meshtrail-run.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';

const HANG_CAP_MS = 30_000;

/** A large access log and what exactly-once storage of it looks like. */
function bigLog(dir: string, seed: number) {
  const lines = generateMeshTraffic({ requests: 8000, seed, malformed: true });
  const file = path.join(dir, 'access.log');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const offsets: number[] = [];
  const ids: string[] = [];
  let offset = 0;
  for (const l of lines) {
    if (l.trim() !== '') {
      offsets.push(offset);
      const o = processLine(l, { format: 'auto' });
      if (o.ok) ids.push(String(o.flow.request_id));
    }
    offset += Buffer.byteLength(l) + 1;
  }
  ids.sort();
  return { file, lines, offsets, ids };
}

function checkExactlyOnce(t: Test, dbFile: string, expected: ReturnType<typeof bigLog>) {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const positions = (db.prepare('SELECT pos FROM flows UNION ALL SELECT pos FROM quarantine ORDER BY pos').all() as { pos: number }[]).map((r) => r.pos);
    const ids = (db.prepare('SELECT request_id AS r FROM flows').all() as { r: string | null }[]).map((r) => String(r.r)).sort();
    const sources = (db.prepare('SELECT count(*) AS n FROM sources').get() as { n: number }).n;
    t.equal(positions.length, expected.offsets.length, `rows = non-blank lines (${expected.offsets.length})`);
    t.same(positions, expected.offsets, 'every line\'s byte offset stored exactly once');
    t.same(ids, expected.ids, 'the multiset of request ids equals the input\'s');
    t.equal(sources, 1, 'one stream: the restart resumed it instead of starting a new one');
    t.equal(db.pragma('quick_check', { simple: true }), 'ok', 'the database is sound');
  } finally {
    db.close();
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function config(dir: string, database: string, file: string, follow: boolean): string {
  const f = path.join(dir, `run-${follow ? 'follow' : 'once'}.yaml`);
  fs.writeFileSync(f, YAML.stringify({
    database,
    api: { enabled: false },
    sources: [{ type: 'file', path: file, follow, poll_interval_ms: 50, batch_max_records: 1000 }],
    pipeline: { drain_timeout_ms: 10_000 },
  }));
  return f;
}

t.test('SIGTERM during a busy `meshtrail run`: exits 0, a restart stores every line exactly once', async (t) => {
  const dir = t.testdir({});
  const log = bigLog(dir, 51);
  const dbFile = path.join(dir, 'run.db');
  const run = startRun(t, config(dir, dbFile, log.file, true));
  await waitFor(() => storedRows(dbFile) >= 5000, 'the run to store its first batches');
  const sent = Date.now();
  run.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), HANG_CAP_MS); })]);
  clearTimeout(timer);
  const took = Date.now() - sent;
  t.equal(code, 0, `exit code 0 after SIGTERM (in ${took} ms)`);
  const atStop = storedRows(dbFile);
  t.ok(atStop < log.offsets.length, `stopped mid-file: ${atStop}/${log.offsets.length} rows stored`);
  t.match(run.stderr(), /Stopped\./, 'logged its orderly stop');

  // Restart reading to the end (follow: false ends the run when the file is done).
  const again = startRun(t, config(dir, dbFile, log.file, false));
  const code2 = await Promise.race([again.exited, new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), 120_000); })]);
  clearTimeout(timer);
  t.equal(code2, 0, 'the restart finished the file and exited 0');
  checkExactlyOnce(t, dbFile, log);
});

t.test('SIGKILL during `meshtrail ingest`: re-running stores every line exactly once', async (t) => {
  const dir = t.testdir({});
  const log = bigLog(dir, 52);
  const dbFile = path.join(dir, 'ingest.db');
  const child = meshtrailBackground(['ingest', '--db', dbFile, log.file], dir);
  const exited = new Promise<string | number | null>((resolve) => child.once('exit', (c, s) => resolve(s ?? c)));
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  await waitFor(() => storedRows(dbFile) >= 5000 || child.exitCode !== null, 'the ingest to store its first batches');
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL', 'killed mid-ingest');
  const atKill = storedRows(dbFile);
  t.ok(atKill > 0 && atKill < log.offsets.length, `killed mid-file: ${atKill}/${log.offsets.length} rows stored`);

  const r = meshtrail(['ingest', '--db', dbFile, log.file]);
  t.equal(r.status, 0, r.stderr);
  const already = Number(/already stored: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  t.equal(already, atKill, `the re-run recognised the ${atKill} stored lines and skipped them`);
  checkExactlyOnce(t, dbFile, log);
});
