// BUG (src/parse/istio-json.parser.ts keepLeftovers, src/parse/ztunnel.parser.ts ztunnelFlow default branch,
// src/parse/template/labels.parser.ts): a leftover key named `__proto__` is silently dropped from `extra`
// (`flow.extra[key] = text` hits the Object.prototype setter), so that part of the record is lost.
import t from 'tap';
import { processLine } from '../../../src/pipeline/process-line.js';

t.test('__proto__ keys are kept in extra like any other key', async (t) => {
  const a = processLine('{"method":"GET","__proto__":"evidence"}', { format: 'auto' });
  t.ok(a.ok && Object.prototype.hasOwnProperty.call(a.flow.extra, '__proto__'), 'istio-json keeps __proto__');
  const b = processLine('src.addr=1.1.1.1:1 dst.addr=2.2.2.2:2 __proto__=evidence', { format: 'auto' });
  t.ok(b.ok && Object.prototype.hasOwnProperty.call(b.flow.extra, '__proto__'), 'ztunnel keeps __proto__');
});
