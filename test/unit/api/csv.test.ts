import t from 'tap';
import { z } from 'zod';
import { csvCell, csvColumns, csvHeader, csvRow } from '../../../src/api/csv.js';

t.test('cells that would start a formula are prefixed with a quote', (t) => {
  for (const s of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) t.equal(csvCell(s).replace(/^"|"$/g, '').startsWith(`'${s[0]}`), true, JSON.stringify(s));
  t.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
  t.equal(csvCell('a=b'), 'a=b', 'only a leading character counts');
  t.equal(csvCell(-5), "'-5", 'numbers are cells too');
  t.end();
});

t.test('quoting: commas, quotes, line breaks and edge spaces are quoted; nothing else', (t) => {
  t.equal(csvCell('plain'), 'plain');
  t.equal(csvCell('a,b'), '"a,b"');
  t.equal(csvCell('say "hi"'), '"say ""hi"""');
  t.equal(csvCell('two\nlines'), '"two\nlines"');
  t.equal(csvCell(' padded'), '" padded"');
  t.equal(csvCell(null), '');
  t.equal(csvCell(undefined), '');
  t.equal(csvCell(['UF', 'URX']), '"UF,URX"');
  t.equal(csvCell({ app: 'x' }), '"{""app"":""x""}"');
  t.equal(csvCell(true), 'true');
  t.equal(csvRow(['a', 1, null]), 'a,1,\r\n');
  t.end();
});

t.test('columns come from the schema, nested objects flattened', (t) => {
  const schema = z.object({ id: z.number(), who: z.object({ name: z.string(), tags: z.record(z.string(), z.string()).nullable() }), list: z.array(z.string()) });
  const cols = csvColumns(schema);
  t.same(cols.map((c) => c.header), ['id', 'who.name', 'who.tags', 'list']);
  t.equal(csvHeader(cols), 'id,who.name,who.tags,list\r\n');
  const item = { id: 3, who: { name: '=x', tags: { a: 'b' } }, list: ['p', 'q'] };
  t.equal(csvRow(cols.map((c) => c.get(item))), `3,'=x,"{""a"":""b""}","p,q"\r\n`);
  t.equal(csvRow(cols.map((c) => c.get({ id: 1, who: null, list: [] }))), '1,,,\r\n', 'a null parent gives empty cells');
  t.end();
});
