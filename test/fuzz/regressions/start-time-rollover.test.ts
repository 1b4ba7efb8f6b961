// BUG (src/parse/fields.ts toStartTime): impossible calendar dates roll over silently
// (`2026-02-30T00:00:00.000Z` -> `2026-03-02T00:00:00.000Z`) and V8's legacy Date parser accepts junk ("1 2 3" -> 2003-01-02).
import fc from 'fast-check';
import t from 'tap';
import { processLine } from '../../../src/pipeline/process-line.js';
import { fuzzParams } from '../../support/arbitraries.js';

t.test('an ISO-shaped start_time is stored with the same calendar fields, or refused', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(fc.integer({ min: 1970, max: 2100 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
    const ts = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00.000Z`;
    for (const line of [JSON.stringify({ method: 'GET', start_time: ts }), JSON.stringify({ method: 'GET', start_time: ts.replace('.000Z', 'Z') })]) {
      const r = processLine(line, { format: 'auto' });
      if (r.ok && r.flow.start_time !== ts) throw new Error(`${line} stored start_time ${r.flow.start_time}`);
    }
    return true;
  }), fuzzParams(2000)));
  for (const junk of ['1 2 3', '2026/02/30 00:00:00', 'Tue, 30 Feb 2026 00:00:00 GMT']) {
    const r = processLine(JSON.stringify({ method: 'GET', start_time: junk }), { format: 'auto' });
    t.notOk(r.ok, `${junk} -> ${r.ok ? r.flow.start_time : ''}`);
  }
});
