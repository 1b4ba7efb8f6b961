/**
 * End to end through the store: a hostile file (valid lines mixed with every hostile kind) is
 * ingested into a real SQLite file, then checked row by row. Nothing may be lost: every line is
 * a flow, a quarantined record or a blank line; every stored flow reads back schema-valid;
 * over-long lines are quarantined as `line_too_long`, never truncated into a flow; the raw bytes
 * of quarantined lines are kept byte-exact (invalid UTF-8 and NUL included).
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import t from 'tap';
import { FlowSchema } from '../../schemas/flow.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { openDatabase } from '../../src/store/db.js';
import { FLOW_SELECT, type FlowRow } from '../../src/store/flows.repository.js';
import { Store } from '../../src/store/store.js';
import { INVALID_UTF8, anyValidLine, hostileSingleLine, mutatedLine, randomBytesText, textLine } from '../support/arbitraries.js';

const MAX_LINE = 64 * 1024;

/** Builds the hostile file as a list of lines (bytes, without their newline). */
function hostileLines(seed: number): Buffer[] {
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, s: number) => fc.sample(arb, { seed: seed + s, numRuns: n });
  const noNl = (b: Buffer) => Buffer.from(b.filter((x) => x !== 10));
  const lines: Buffer[] = [];
  for (const l of sample(anyValidLine, 150, 1)) lines.push(noNl(Buffer.from(l, 'utf8')));
  for (const l of sample(mutatedLine, 150, 2)) lines.push(noNl(Buffer.from(l, 'utf8')));
  for (const l of sample(randomBytesText, 60, 3)) lines.push(noNl(Buffer.from(l, 'latin1')));
  for (const l of sample(hostileSingleLine, 40, 4)) lines.push(noNl(Buffer.from(l, 'utf8')));
  // Raw invalid UTF-8 and NUL bytes, alone and inside otherwise valid lines.
  const text = sample(textLine, INVALID_UTF8.length, 5);
  INVALID_UTF8.forEach((bad, i) => {
    lines.push(bad);
    const line = Buffer.from(text[i]!.line, 'utf8');
    lines.push(Buffer.concat([line.subarray(0, 40), bad, Buffer.from([0]), line.subarray(40)]));
  });
  lines.push(Buffer.from([0, 0, 0]), Buffer.from('\0{"method":"GET"}'));
  // CRLF, blank and whitespace-only lines.
  lines.push(Buffer.from(`${text[0]!.line}\r`), Buffer.from(''), Buffer.from('   \t'), Buffer.from('\r'));
  // Deep and huge JSON, numbers beyond 2^53, impossible timestamps, formula/ANSI payloads.
  lines.push(Buffer.from(`{"method":"GET","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`));
  lines.push(Buffer.from(JSON.stringify({ method: 'GET', user_agent: 'u'.repeat(MAX_LINE - 100) })));
  lines.push(Buffer.from('{"method":"GET","response_code":1e400}'), Buffer.from('{"method":"GET","bytes_sent":9007199254740993}'));
  lines.push(Buffer.from('{"method":"GET","start_time":"2026-13-45T00:00:00Z"}'), Buffer.from('{"method":"GET","start_time":"99999-01-01T00:00:00Z"}'));
  lines.push(Buffer.from(JSON.stringify({ method: 'GET', user_agent: "=cmd|' /C calc'!A0", path: '\x1b]0;pwned\x07' })));
  // Over-long lines: just over the limit, far over it, and far over with invalid UTF-8 at the cut.
  lines.push(Buffer.from(JSON.stringify({ method: 'GET', user_agent: 'v'.repeat(MAX_LINE) })));
  lines.push(Buffer.alloc(3 * MAX_LINE + 7, 'x'));
  lines.push(Buffer.concat([Buffer.alloc(MAX_LINE - 1, 'a'), Buffer.from([0xe2, 0x82, 0xac]), Buffer.alloc(1000, 0)]));
  return fc.sample(fc.shuffledSubarray(lines, { minLength: lines.length, maxLength: lines.length }), { seed, numRuns: 1 })[0]!;
}

/** What the line splitter hands on for a line: without a trailing CR (unless over-long). */
function splitterView(line: Buffer): Buffer {
  return line.length <= MAX_LINE && line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
}

const isBlank = (b: Buffer) => b.every((x) => x === 32 || x === 9 || x === 13);

t.test('a hostile file: nothing lost, every flow schema-valid, raw bytes kept exactly', async (t) => {
  const lines = hostileLines(7);
  // The last line is left unterminated, as a file still being written would have it.
  const file = Buffer.concat(lines.flatMap((l, i) => (i === lines.length - 1 ? [l] : [l, Buffer.from('\n')])));
  const dir = t.testdir({});
  const db = openDatabase(path.join(dir, 'hostile.db'));
  t.teardown(() => db.close());
  const store = new Store(db);
  // Small chunks, so lines (and UTF-8 sequences) straddle chunk boundaries.
  const chunks: Buffer[] = [];
  for (let i = 0; i < file.length; i += 4093) chunks.push(file.subarray(i, i + 4093));
  const stats = await ingestStream(store, Readable.from(chunks), { format: 'auto', label: 'hostile.log', maxLineBytes: MAX_LINE, batchSize: 97 });

  t.equal(stats.lines, lines.length, 'every line was read');
  t.equal(stats.duplicates, 0);
  t.equal(stats.lines, stats.flows + stats.quarantined + stats.blank, 'lines == flows + quarantined + blank');
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  t.equal(count('flows'), stats.flows, 'flows in the database');
  t.equal(count('quarantine'), stats.quarantined, 'quarantined records in the database');

  // Expected outcome per byte offset.
  const expected = new Map<number, Buffer>();
  let offset = 0;
  let blank = 0;
  for (const l of lines) {
    if (l.length <= MAX_LINE && isBlank(l)) blank++;
    else expected.set(offset, l);
    offset += l.length + 1;
  }
  t.equal(stats.blank, blank, 'blank lines counted as blank, nothing else');

  const flows = db.prepare(`SELECT ${FLOW_SELECT} FROM flows f JOIN sources s ON s.id = f.source_id ORDER BY f.pos`).all() as FlowRow[];
  let invalid = 0;
  const flowPos = new Set<number>();
  for (const row of flows) {
    const { id: _id, source: _source, ...flow } = store.flows.fromRow(row);
    if (!FlowSchema.safeParse(flow).success) invalid++;
    flowPos.add(Number(row.pos));
    const original = expected.get(Number(row.pos));
    if (original === undefined) t.fail(`flow at ${row.pos} matches no input line`);
    else if (original.length > MAX_LINE) t.fail(`over-long line at ${row.pos} became a flow`);
  }
  t.equal(invalid, 0, 'every stored flow satisfies FlowSchema when read back');

  const quarantined = db.prepare('SELECT pos, reason, detail, raw FROM quarantine ORDER BY pos').all() as { pos: number; reason: string; detail: string; raw: Buffer }[];
  let mismatched = 0;
  let oversize = 0;
  for (const q of quarantined) {
    t.notOk(flowPos.has(q.pos), `position ${q.pos} is not both a flow and quarantined`);
    t.match(q.reason, /^[a-z_]+$/);
    const original = expected.get(q.pos);
    if (original === undefined) {
      t.fail(`quarantined record at ${q.pos} matches no input line`);
      continue;
    }
    if (original.length > MAX_LINE) {
      oversize++;
      t.equal(q.reason, 'line_too_long', `over-long line at ${q.pos}`);
      t.match(q.detail, String(original.length), 'detail names the real length');
      if (!q.raw.equals(original.subarray(0, MAX_LINE))) mismatched++;
    } else if (!q.raw.equals(splitterView(original))) mismatched++;
  }
  t.equal(mismatched, 0, 'quarantined raw bytes equal the input bytes');
  t.equal(oversize, lines.filter((l) => l.length > MAX_LINE).length, 'every over-long line is quarantined');
  t.equal(flowPos.size + quarantined.length, expected.size, 'every non-blank line is a flow or a quarantined record');

  // The split between flows and quarantine is exactly what processLine decides per line.
  let disagreements = 0;
  for (const [pos, l] of expected) {
    if (l.length > MAX_LINE) continue;
    if (processLine(splitterView(l).toString('utf8'), { format: 'auto' }).ok !== flowPos.has(pos)) disagreements++;
  }
  t.equal(disagreements, 0, 'a line is stored as a flow exactly when processLine accepts it');
  t.ok(stats.flows > 100 && stats.quarantined > 50, `the mix exercises both paths (${stats.flows} flows, ${stats.quarantined} quarantined)`);

  // Re-ingesting the same bytes stores nothing twice.
  const again = await ingestStream(store, Readable.from([file]), { format: 'auto', label: 'hostile.log', maxLineBytes: MAX_LINE });
  t.equal(again.flows + again.quarantined, 0, 'replay stores nothing');
  t.equal(again.duplicates, stats.flows + stats.quarantined);
});
