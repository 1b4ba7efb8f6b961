/**
 * The file source against real files and a real SQLite store: follow, rotation, copytruncate,
 * restart, partial lines and crashes -- every input line stored exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { BatchHandler, BatchOutcome, SourceBatch } from '../../src/pipeline/contracts.js';
import { createBatchHandler, type RunnerOptions } from '../../src/pipeline/runner.js';
import { fingerprint, ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { FileSource, type FileSourceConfig } from '../../src/sources/file.source.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

/** Polls `cond` until it holds; fails with `what` after the deadline. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A migrated store in `dir` plus a handler that records what it was given. */
function pipeline(dir: string, name = 'm.db', options: RunnerOptions = {}) {
  const db = openDatabase(path.join(dir, name));
  const store = new Store(db);
  const inner = createBatchHandler(store, options);
  const totals = { batches: 0, records: 0, duplicates: 0 };
  const handler: BatchHandler = async (batch) => {
    const outcome = await inner(batch);
    totals.batches++;
    totals.records += batch.records.length;
    totals.duplicates += outcome.duplicates;
    return outcome;
  };
  const stored = () => (db.prepare('SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM quarantine) AS n').get() as { n: number }).n;
  const requestIds = () => (db.prepare('SELECT request_id AS r FROM flows').all() as { r: string | null }[]).map((x) => String(x.r)).sort();
  const positions = () => (db.prepare('SELECT s.key, f.pos FROM flows f JOIN sources s ON s.id = f.source_id UNION ALL SELECT s.key, q.pos FROM quarantine q JOIN sources s ON s.id = q.source_id').all() as { key: string; pos: number }[]);
  return { db, store, inner, handler, totals, stored, requestIds, positions };
}

/** A source stopped when the test ends, even when a wait in it failed. */
function tracked(t: Test, ...args: ConstructorParameters<typeof FileSource>): FileSource {
  const s = new FileSource(...args);
  t.teardown(() => s.stop());
  return s;
}

const fast = (file: string, extra: Partial<FileSourceConfig> = {}): FileSourceConfig => ({ path: file, follow: true, poll_interval_ms: 10, rotate_wait_ms: 1000, ...extra });
const text = (lines: string[]) => lines.map((l) => `${l}\n`).join('');

t.test('follow: lines appended while running are all stored once', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const lines = generateMeshTraffic({ requests: 200, seed: 11 });
  fs.writeFileSync(file, text(lines.slice(0, 100)));
  const p = pipeline(dir);
  const source = tracked(t, fast(file, { batch_max_records: 37 }), p.store);
  await source.start(p.handler);
  // Appends cut at arbitrary bytes, so lines arrive in pieces across polls.
  const rest = Buffer.from(text(lines.slice(100)));
  for (let at = 0; at < rest.length; at += 7919) {
    fs.appendFileSync(file, rest.subarray(at, at + 7919));
    if (at % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => p.stored() === lines.length, `${lines.length} records stored`);
  await source.stop();
  t.equal(p.stored(), lines.length, 'every line stored');
  t.equal(p.totals.records, lines.length, 'no line delivered twice');
  t.equal(p.totals.duplicates, 0);
  const key = fingerprint(Buffer.from(lines[0]!));
  t.equal(p.store.sources.get(key)?.position, fs.statSync(file).size, 'committed position is the end of the file');
  t.match(p.store.sources.get(key)?.meta, { path: file, ino: fs.statSync(file).ino, line: lines.length });
  const first = p.db.prepare('SELECT line, pos FROM flows UNION ALL SELECT line, pos FROM quarantine ORDER BY pos').all() as { line: number; pos: number }[];
  t.same(first.slice(0, 2), [{ line: 1, pos: 0 }, { line: 2, pos: Buffer.byteLength(lines[0]!) + 1 }], 'exact byte offsets and line numbers');
  p.db.close();
});

t.test('a partial last line is not stored until its newline arrives', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const [a, b] = generateMeshTraffic({ requests: 1, seed: 5, malformed: false }) as [string, string];
  const cut = Math.floor(b.length / 2);
  fs.writeFileSync(file, `${a}\n${b.slice(0, cut)}`);
  const p = pipeline(dir);
  const batches: SourceBatch[] = [];
  const source = tracked(t, fast(file), p.store);
  await source.start(async (batch) => {
    batches.push(batch);
    return p.handler(batch);
  });
  // The first read saw both the complete line and the partial one: the batch it made is the verdict.
  await waitFor(() => batches.length >= 1, 'first batch');
  t.equal(p.stored(), 1, 'only the complete line is stored');
  t.same(batches[0]!.records.map((r) => r.text), [a]);
  t.equal(batches[0]!.positions[0]!.position, Buffer.byteLength(a) + 1, 'committed position stays at the start of the partial line');
  fs.appendFileSync(file, b.slice(cut));
  await new Promise((resolve) => setTimeout(resolve, 50));
  fs.appendFileSync(file, '\n');
  await waitFor(() => p.stored() === 2, 'completed line stored');
  await source.stop();
  const raw = p.db.prepare('SELECT pos, line FROM flows ORDER BY pos').all();
  t.same(raw, [{ pos: 0, line: 1 }, { pos: Buffer.byteLength(a) + 1, line: 2 }]);
  t.same(batches.flatMap((x) => x.records.map((r) => r.text)), [a, b], 'the line was delivered whole, once');
  p.db.close();
});

t.test('rotation by rename: the old file is read to its end (even after the rename), the new one from 0', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 400, seed: 21 });
  const before = all.slice(0, 300);
  const lateOld = all.slice(300, 400);
  const fresh = all.slice(400);
  fs.writeFileSync(file, text(before));
  const p = pipeline(dir);
  const events: string[] = [];
  const source = tracked(t, fast(file, { batch_max_records: 100 }), p.store, { onEvent: (e) => events.push(e.kind) });
  await source.start(p.handler);
  await waitFor(() => p.stored() >= 100, 'reading started');
  // What a writer with the old descriptor still open does: rename, keep writing, then reopen.
  fs.renameSync(file, `${file}.1`);
  fs.appendFileSync(`${file}.1`, text(lateOld.slice(0, 50)));
  fs.writeFileSync(file, text(fresh.slice(0, 10)));
  await waitFor(() => events.includes('rotated'), 'rotation noticed');
  fs.appendFileSync(`${file}.1`, text(lateOld.slice(50)));
  fs.appendFileSync(file, text(fresh.slice(10)));
  await waitFor(() => p.stored() === all.length, `${all.length} records stored`);
  await source.stop();
  t.equal(p.totals.records, all.length, 'no line delivered twice');
  const keys = new Map<string, number>();
  for (const { key } of p.positions()) keys.set(key, (keys.get(key) ?? 0) + 1);
  t.same(Object.fromEntries(keys), { [fingerprint(Buffer.from(before[0]!))]: 400, [fingerprint(Buffer.from(fresh[0]!))]: fresh.length }, 'two streams');
  t.equal(p.store.sources.get(fingerprint(Buffer.from(before[0]!)))?.position, fs.statSync(`${file}.1`).size);
  p.db.close();
});

t.test('rotation by rename while the source is still behind loses nothing', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 600, seed: 22 });
  const split = Math.floor(all.length * 0.8);
  fs.writeFileSync(file, text(all.slice(0, split)));
  const p = pipeline(dir);
  const source = tracked(t, fast(file, { batch_max_records: 50 }), p.store, { readChunkBytes: 64 * 1024 });
  await source.start(p.handler);
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, text(all.slice(split)));
  await waitFor(() => p.stored() === all.length, `${all.length} records stored`);
  await source.stop();
  t.equal(p.totals.records, all.length);
  p.db.close();
});

t.test('copytruncate: shorter file, or first line rewritten in place, is a new stream read from 0', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 300, seed: 31 });
  const first = all.slice(0, 200);
  const second = all.slice(200, 220);
  const third = all.slice(220);
  fs.writeFileSync(file, text(first));
  const p = pipeline(dir);
  const events: string[] = [];
  const source = tracked(t, fast(file), p.store, { onEvent: (e) => events.push(e.kind) });
  await source.start(p.handler);
  await waitFor(() => p.stored() === first.length, 'first content stored');

  // logrotate copytruncate: copy away, truncate, the writer goes on at a smaller size.
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  fs.appendFileSync(file, text(second));
  await waitFor(() => p.stored() === first.length + second.length, 'content after truncation stored');

  // Rewritten in place with more bytes than were read: the size never shrinks, the first line differs.
  t.ok(Buffer.byteLength(text(third)) > fs.statSync(file).size);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, text(third), 0);
  fs.closeSync(fd);
  await waitFor(() => p.stored() === all.length, 'rewritten content stored');
  await source.stop();
  t.equal(events.filter((e) => e === 'truncated').length, 2, 'both truncations noticed');
  t.equal(p.totals.records, all.length, 'nothing delivered twice');
  t.equal(new Set(p.positions().map((x) => x.key)).size, 3, 'three streams');
  p.db.close();
});

t.test('restart resumes from the committed position with exact line numbers; ingest then follow does too', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 300, seed: 41 });
  fs.writeFileSync(file, text(all.slice(0, 400)));
  const p = pipeline(dir);
  const one = tracked(t, fast(file), p.store);
  await one.start(p.handler);
  await waitFor(() => p.stored() === 400, 'first run stored');
  await one.stop();
  p.db.close();
  fs.appendFileSync(file, text(all.slice(400, 600)));

  const q = pipeline(dir);
  const two = tracked(t, fast(file), (key) => q.store.sources.get(key));
  await two.start(q.handler);
  fs.appendFileSync(file, text(all.slice(600)));
  await waitFor(() => q.stored() === all.length, 'second run stored');
  await two.stop();
  t.equal(q.totals.records, all.length - 400, 'only the new lines were read');
  t.equal(q.totals.duplicates, 0);
  const lines = q.db.prepare('SELECT line FROM flows UNION ALL SELECT line FROM quarantine ORDER BY line').all() as { line: number }[];
  t.same(lines.map((x) => x.line), all.map((_, i) => i + 1), 'line numbers continue across the restart');
  q.db.close();

  // meshtrail ingest first, then a followed source on the same file: it resumes (no line numbers).
  const other = path.join(dir, 'other.log');
  const more = generateMeshTraffic({ requests: 50, seed: 42 });
  fs.writeFileSync(other, text(more.slice(0, 100)));
  const r = pipeline(dir, 'ingest.db');
  await ingestStream(r.store, fs.createReadStream(other), { format: 'auto', label: other });
  t.equal(r.stored(), 100);
  const three = tracked(t, fast(other), r.store);
  await three.start(r.handler);
  fs.appendFileSync(other, text(more.slice(100)));
  await waitFor(() => r.stored() === more.length, 'appended lines stored');
  await three.stop();
  t.equal(r.totals.records, more.length - 100, 'resumed after what ingest stored');
  const resumed = r.db.prepare('SELECT line FROM flows WHERE pos >= ? UNION ALL SELECT line FROM quarantine WHERE pos >= ?').all(Buffer.byteLength(text(more.slice(0, 100))), Buffer.byteLength(text(more.slice(0, 100)))) as { line: number | null }[];
  t.ok(resumed.length > 0 && resumed.every((x) => x.line === null), 'line numbers are unknown after resuming from ingest');
  r.db.close();
});

t.test('crash simulation: failures before and after the commit, then a restart: exactly once', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 500, seed: 51 });
  fs.writeFileSync(file, text(all));
  const reference = pipeline(dir, 'reference.db');
  await ingestStream(reference.store, fs.createReadStream(file), { format: 'auto', label: file });

  const p = pipeline(dir);
  let calls = 0;
  // Batch 3 commits but the "process dies" before the source learns it; batch 6 dies before committing.
  const crashing: BatchHandler = async (batch): Promise<BatchOutcome> => {
    calls++;
    if (calls === 6) throw new Error('simulated crash before commit');
    const outcome = await p.handler(batch);
    if (calls === 3) throw new Error('simulated crash after commit');
    return outcome;
  };
  const one = tracked(t, fast(file, { follow: false, batch_max_records: 60 }), p.store, { maxAttempts: 1 });
  await one.start(crashing);
  await t.rejects(one.done, /simulated crash after commit/, 'gives up after maxAttempts');
  await one.stop();
  t.ok(p.stored() > 0 && p.stored() < all.length, 'stopped mid-stream');

  const two = tracked(t, fast(file, { follow: false, batch_max_records: 60 }), p.store, { retry: { initialMs: 1, maxMs: 5 } });
  calls = 0;
  await two.start(crashing);
  await two.done;
  await two.stop();
  t.equal(p.stored(), all.length, 'count equals input lines');
  t.equal(p.stored(), reference.stored());
  t.same(p.requestIds(), reference.requestIds(), 'same multiset of request ids as a one-shot ingest');
  t.ok(p.totals.duplicates > 0, 'the batch committed before the crash was replayed, harmlessly');
  p.db.close();
  reference.db.close();
});

t.test('follow: waits for a missing file, survives its deletion and re-creation', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'later.log');
  const all = generateMeshTraffic({ requests: 40, seed: 61 });
  const p = pipeline(dir);
  const events: string[] = [];
  const source = tracked(t, fast(file, { rotate_wait_ms: 0 }), p.store, { onEvent: (e) => events.push(e.kind) });
  await source.start(p.handler);
  fs.writeFileSync(file, text(all.slice(0, 50)));
  await waitFor(() => p.stored() === 50, 'file created later is read');
  fs.unlinkSync(file);
  await waitFor(() => events.includes('closed'), 'deleted file released');
  fs.writeFileSync(file, text(all.slice(50)));
  await waitFor(() => p.stored() === all.length, 're-created file is read');
  await source.stop();
  t.equal(p.totals.records, all.length);
  p.db.close();
});

t.test('follow: false reads to EOF, delivers an unterminated last line, and resolves done', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 30, seed: 71 });
  fs.writeFileSync(file, `\n${all.join('\r\n')}\n\n${'x'.repeat(20_000)}\nlast line without newline`);
  // The source and the runner share the line limit (the lead wires both from one config value).
  const p = pipeline(dir, 'm.db', { maxLineBytes: 10_000 });
  const source = tracked(t, { path: file, follow: false, max_line_bytes: 10_000 }, p.store);
  await source.start(p.handler);
  await source.done;
  await source.stop();
  t.equal(p.stored(), all.length + 2, 'blank lines are not records; the long and the last line are');
  const long = p.db.prepare("SELECT reason, length(raw) AS n FROM quarantine WHERE reason = 'line_too_long'").all();
  t.same(long, [{ reason: 'line_too_long', n: 10_000 }], 'an over-long line is quarantined, its head kept');
  const last = p.db.prepare('SELECT raw FROM quarantine ORDER BY pos DESC LIMIT 1').get() as { raw: Buffer };
  t.equal(String(last.raw), 'last line without newline');
  t.equal(p.store.sources.get(fingerprint(Buffer.from(all[0]!)))?.position, fs.statSync(file).size);
  // The same file with ingest's key: a second pass stores nothing.
  const again = tracked(t, { path: file, follow: false }, p.store);
  const before = p.totals.records;
  await again.start(p.handler);
  await again.done;
  t.equal(p.totals.records, before, 'nothing re-read');
  p.db.close();
});

t.test('lifecycle: stop before start, twice, and with a batch in flight', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'access.log');
  const all = generateMeshTraffic({ requests: 20, seed: 81 });
  fs.writeFileSync(file, text(all));
  const p = pipeline(dir);

  const idle = tracked(t, fast(file), p.store);
  await idle.stop();
  await idle.stop();
  await idle.start(p.handler);
  t.equal(p.totals.batches, 0, 'start after stop does nothing');

  await t.rejects(new FileSource({ path: path.join(dir, 'nope.log'), follow: false }, p.store).start(p.handler), { code: 'ERR_INPUT_NOT_FOUND' });
  t.throws(() => new FileSource({ path: file, follow: true, poll_interval_ms: -1 }, p.store), { code: 'ERR_CONFIG_INVALID' });

  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let entered = false;
  const source = tracked(t, fast(file), p.store);
  await source.start(async (batch) => {
    entered = true;
    await gate;
    return p.handler(batch);
  });
  await waitFor(() => entered, 'batch in flight');
  let stopped = false;
  const stopping = source.stop().then(() => { stopped = true; });
  t.equal(source.stop(), source.stop(), 'stop is idempotent');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(stopped, false, 'stop waits for the batch in flight');
  release();
  await stopping;
  t.equal(p.stored(), all.length, 'the in-flight batch committed');
  t.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, timersBefore, 'no timer left behind');
  p.db.close();
});
