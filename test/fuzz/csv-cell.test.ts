/**
 * Properties of the CSV export cell encoder (`csvCell` in src/api/csv.ts, which already exists, so
 * it is tested here rather than duplicated): RFC 4180 quoting round-trips any text, and no cell a
 * spreadsheet reads can start with a formula trigger (`=`, `+`, `-`, `@`, TAB, CR).
 */
import fc from 'fast-check';
import t from 'tap';
import { csvCell, csvRow } from '../../src/api/csv.js';
import { HOSTILE_CONSTANTS, fuzzParams, hostileString } from '../support/arbitraries.js';

/** A strict RFC 4180 reader for one record (CRLF-terminated), written independently of the encoder. */
function readRecord(text: string): string[] {
  if (!text.endsWith('\r\n')) throw new Error('record not CRLF-terminated');
  const s = text.slice(0, -2);
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new Error('unterminated quoted cell');
        if (s[i] === '"') {
          if (s[i + 1] === '"') { cell += '"'; i += 2; continue; }
          i++;
          break;
        }
        cell += s[i++];
      }
    } else {
      while (i < s.length && s[i] !== ',') {
        if (s[i] === '"' || s[i] === '\r' || s[i] === '\n') throw new Error(`bare ${JSON.stringify(s[i])} in an unquoted cell`);
        cell += s[i++];
      }
    }
    cells.push(cell);
    if (i >= s.length) return cells;
    if (s[i] !== ',') throw new Error(`expected "," at ${i}`);
    i++;
  }
}

const TRIGGER = /^[=+\-@\t\r]/;

t.test('any text round-trips through a CSV record, neutralised with a leading quote when it could be a formula', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(fc.oneof(hostileString, fc.string({ unit: 'binary' })), { minLength: 1, maxLength: 6 }), (values) => {
        const cells = readRecord(csvRow(values));
        if (cells.length !== values.length) throw new Error(`${values.length} values became ${cells.length} cells`);
        cells.forEach((cell, i) => {
          const v = values[i]!;
          const want = TRIGGER.test(v) ? `'${v}` : v;
          if (cell !== want) throw new Error(`${JSON.stringify(v)} read back as ${JSON.stringify(cell)}`);
          if (TRIGGER.test(cell)) throw new Error(`cell ${JSON.stringify(cell)} starts with a formula trigger`);
        });
        return true;
      }),
      fuzzParams(2000),
    ),
  );
});

t.test('the classic payloads are neutralised', async (t) => {
  t.equal(csvCell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
  t.equal(csvCell('@SUM(1+1)'), "'@SUM(1+1)");
  t.equal(csvCell('\t=1'), "'\t=1");
  t.equal(csvCell('\r=1'), `"'\r=1"`);
  t.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  t.equal(csvCell(null), '');
  t.equal(csvCell(['UH', 'UF']), '"UH,UF"');
  HOSTILE_CONSTANTS.forEach((v, i) => t.notMatch(readRecord(csvRow([v]))[0]!, TRIGGER, `hostile constant #${i}`));
});
