import t from 'tap';
import { LineSplitter, type SplitLine } from '../../../src/sources/line-splitter.js';

const view = (lines: SplitLine[]) => lines.map((l) => ({ text: l.bytes.toString(), offset: l.offset, next: l.next, lineNo: l.lineNo, oversize: l.oversize }));

t.test('every chunking of the input gives the same lines, offsets and line numbers', (t) => {
  const input = Buffer.from('alpha\r\nbeta\n\ngamma-é\nlast');
  const whole = new LineSplitter();
  const expected = view([...whole.push(input), ...whole.end()]);
  t.same(expected, [
    { text: 'alpha', offset: 0, next: 7, lineNo: 1, oversize: undefined },
    { text: 'beta', offset: 7, next: 12, lineNo: 2, oversize: undefined },
    { text: '', offset: 12, next: 13, lineNo: 3, oversize: undefined },
    { text: 'gamma-é', offset: 13, next: 22, lineNo: 4, oversize: undefined },
    { text: 'last', offset: 22, next: 26, lineNo: 5, oversize: undefined },
  ]);
  for (let a = 0; a <= input.length; a++) {
    for (let b = a; b <= input.length; b++) {
      const s = new LineSplitter();
      // One reused buffer, as the file source reads: the splitter must copy what it keeps.
      const scratch = Buffer.alloc(input.length);
      const got: SplitLine[] = [];
      for (const [from, to] of [[0, a], [a, b], [b, input.length]] as const) {
        input.copy(scratch, 0, from, to);
        got.push(...s.push(scratch.subarray(0, to - from)));
        scratch.fill(0);
      }
      got.push(...s.end());
      t.same(view(got), expected, `cut at ${a}, ${b}`);
    }
  }
  t.end();
});

t.test('the unterminated last line is held until end()', (t) => {
  const s = new LineSplitter();
  t.same(view(s.push(Buffer.from('one\ntw'))).map((l) => l.text), ['one']);
  t.equal(s.heldBytes, 2);
  t.same(view(s.push(Buffer.from('o'))), []);
  t.same(view(s.push(Buffer.from('\n'))).map((l) => l.text), ['two']);
  t.equal(s.heldBytes, 0);
  t.same(s.end(), []);
  t.end();
});

t.test('starting at an offset and line number continues both', (t) => {
  const s = new LineSplitter(1000, 1 << 20, 41);
  t.same(view(s.push(Buffer.from('x\ny\n'))), [
    { text: 'x', offset: 1000, next: 1002, lineNo: 42, oversize: undefined },
    { text: 'y', offset: 1002, next: 1004, lineNo: 43, oversize: undefined },
  ]);
  t.end();
});

t.test('over-long lines keep their head, their real length and exact offsets', (t) => {
  const s = new LineSplitter(0, 4);
  const lines = [...s.push(Buffer.from('abcdefgh')), ...s.push(Buffer.from('ij\nok\n'))];
  t.same(view(lines), [
    { text: 'abcd', offset: 0, next: 11, lineNo: 1, oversize: 10 },
    { text: 'ok', offset: 11, next: 14, lineNo: 2, oversize: undefined },
  ]);
  t.end();
});
