/**
 * The file source's batching, back-pressure, retry and resume rules, against a handler that
 * records batches and an in-memory position table (no SQLite).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { BatchHandler, SourceBatch } from '../../../src/pipeline/contracts.js';
import { fingerprint } from '../../../src/pipeline/ingest-stream.js';
import { FileSource, FileSourceConfigSchema, type CommittedPosition } from '../../../src/sources/file.source.js';

const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1} ${'x'.repeat(i % 17)}`);
const content = lines.map((l) => `${l}\n`).join('');
const offsetOf = (i: number) => Buffer.byteLength(lines.slice(0, i).map((l) => `${l}\n`).join(''));
const key = fingerprint(Buffer.from(lines[0]!));

/** A handler that keeps committed positions in a map, like the store does. */
function memory() {
  const committed = new Map<string, CommittedPosition>();
  const batches: SourceBatch[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const handler: BatchHandler = async (batch) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    batches.push(batch);
    for (const p of batch.positions) committed.set(p.source, { position: p.position, meta: p.meta ?? null });
    inFlight--;
    return { flows: batch.records.length, quarantined: 0, duplicates: 0 };
  };
  return { committed, batches, handler, lookup: (k: string) => committed.get(k), maxInFlight: () => maxInFlight };
}

t.test('config defaults', (t) => {
  t.same(FileSourceConfigSchema.parse({ path: 'a.log', follow: true }), {
    path: 'a.log', follow: true, poll_interval_ms: 250, batch_max_records: 2000, batch_max_bytes: 4 << 20, max_line_bytes: 1 << 20, rotate_wait_ms: 5000,
  });
  t.throws(() => new FileSource({ path: 'a.log', follow: true, extra: 1 } as never, () => undefined), { code: 'ERR_CONFIG_INVALID' });
  t.end();
});

t.test('batches are bounded, contiguous, one at a time, and each commits the offset after its last line', async (t) => {
  const dir = t.testdir({ 'a.log': content });
  const m = memory();
  const source = new FileSource({ path: path.join(dir, 'a.log'), follow: false, batch_max_records: 7, batch_max_bytes: 150 }, m.lookup, { readChunkBytes: 64 });
  await source.start(m.handler);
  await source.done;
  await source.stop();
  t.equal(m.maxInFlight(), 1, 'never more than one batch in flight');
  t.same(m.batches.flatMap((b) => b.records.map((r) => r.text)), lines, 'every line once, in order');
  let expectedLine = 1;
  for (const b of m.batches) {
    t.ok(b.records.length <= 7, 'record bound');
    t.ok(b.records.slice(0, -1).reduce((n, r) => n + Buffer.byteLength(r.text), 0) < 150, 'byte bound (the last record may cross it)');
    for (const r of b.records) {
      t.same(r.position, { source: key, pos: offsetOf(expectedLine - 1), line: expectedLine });
      expectedLine++;
    }
    t.same(b.positions, [{ source: key, position: offsetOf(expectedLine - 1), meta: { path: path.join(dir, 'a.log'), dev: fs.statSync(dir).dev, ino: fs.statSync(path.join(dir, 'a.log')).ino, line: expectedLine - 1 } }]);
    t.same(b.labels, { [key]: path.join(dir, 'a.log') });
  }
  t.end();
});

t.test('a rejected batch is not skipped: the source rewinds to the committed position and delivers again', async (t) => {
  const dir = t.testdir({ 'a.log': content });
  const m = memory();
  let calls = 0;
  const failures: number[] = [];
  const flaky: BatchHandler = async (batch) => {
    calls++;
    if (calls === 3 || calls === 4) throw new Error('store unavailable');
    return m.handler(batch);
  };
  const source = new FileSource({ path: path.join(dir, 'a.log'), follow: false, batch_max_records: 10 }, m.lookup, {
    retry: { initialMs: 1, maxMs: 2 },
    onEvent: (e) => { if (e.kind === 'deliver_failed') failures.push(e.attempt); },
  });
  await source.start(flaky);
  await source.done;
  t.same(failures, [1, 2], 'two failed attempts reported');
  t.same(m.batches.flatMap((b) => b.records.map((r) => r.text)), lines, 'nothing skipped, nothing doubled');
  t.equal(m.committed.get(key)?.position, Buffer.byteLength(content));
  t.end();
});

t.test('resume: from a committed position, with or without a stored line number', async (t) => {
  const dir = t.testdir({ 'a.log': content });
  const file = path.join(dir, 'a.log');
  const cases: [string, CommittedPosition, number | null][] = [
    ['with the line number this source stored', { position: offsetOf(40), meta: { line: 40 } }, 41],
    ['after meshtrail ingest (no meta)', { position: offsetOf(40), meta: null }, null],
  ];
  for (const [name, stored, firstLine] of cases) {
    const m = memory();
    m.committed.set(key, stored);
    const source = new FileSource({ path: file, follow: false }, m.lookup);
    await source.start(m.handler);
    await source.done;
    const records = m.batches.flatMap((b) => b.records);
    t.same(records.map((r) => r.text), lines.slice(40), `${name}: only the unread lines`);
    t.same(records[0]!.position, { source: key, pos: offsetOf(40), line: firstLine }, name);
  }
  // A position beyond this file's end belongs to a longer copy: read from the start (replays are deduplicated).
  const m = memory();
  m.committed.set(key, { position: Buffer.byteLength(content) + 10 });
  const source = new FileSource({ path: file, follow: false }, m.lookup);
  await source.start(m.handler);
  await source.done;
  t.equal(m.batches.flatMap((b) => b.records).length, lines.length);
  t.end();
});

t.test('leading blank lines do not count for the identity; a file of blanks delivers nothing', async (t) => {
  const dir = t.testdir({ 'a.log': `\n  \n${content}`, 'blank.log': '\n\n \n' });
  const m = memory();
  const a = new FileSource({ path: path.join(dir, 'a.log'), follow: false }, m.lookup);
  await a.start(m.handler);
  await a.done;
  t.equal(m.batches[0]!.records[0]!.position.source, key, 'same key as the file without the blanks');
  t.same(m.batches[0]!.records[0]!.position, { source: key, pos: 4, line: 3 });
  const n = m.batches.length;
  const blank = new FileSource({ path: path.join(dir, 'blank.log'), follow: false }, m.lookup);
  await blank.start(m.handler);
  await blank.done;
  t.equal(m.batches.length, n, 'no batch for a stream without identity');
  t.end();
});

t.test('gives up after maxAttempts: done rejects with the handler error, stop still resolves', async (t) => {
  const dir = t.testdir({ 'a.log': content });
  const source = new FileSource({ path: path.join(dir, 'a.log'), follow: true, poll_interval_ms: 5 }, () => undefined, { maxAttempts: 2, retry: { initialMs: 1, maxMs: 1 } });
  let calls = 0;
  await source.start(async () => {
    calls++;
    throw new Error('disk on fire');
  });
  await t.rejects(source.done, /disk on fire/);
  t.equal(calls, 2);
  await source.stop();
  t.end();
});
