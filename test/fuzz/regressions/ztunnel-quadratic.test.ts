// BUG (src/parse/ztunnel.parser.ts parseKeyValues): O(n^2) on many bare words after the last '=':
// `s.indexOf('=', i)` scans to the end of the line for every word. 1 MiB -> ~2.8 s per line.
import t from 'tap';
import { processLine } from '../../../src/pipeline/process-line.js';

t.test('a 1 MiB ztunnel-looking line of bare words parses in under 1 s', async (t) => {
  for (const line of ['src.addr=1 ' + 'x '.repeat(1 << 19), 'hello src.addr=1.1.1.1:1 ' + 'a '.repeat(1 << 19)]) {
    const t0 = performance.now();
    processLine(line, { format: 'auto' });
    const ms = performance.now() - t0;
    t.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  }
});
