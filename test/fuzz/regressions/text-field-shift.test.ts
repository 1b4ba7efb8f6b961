// BUG (src/parse/istio-text.parser.ts): a `" "` inside X-FORWARDED-FOR or X-REQUEST-ID (client-controlled
// headers) silently shifts text into the neighbouring field instead of being kept or quarantined.
import fc from 'fast-check';
import t from 'tap';
import { processLine } from '../../../src/pipeline/process-line.js';
import { renderTextLine, textLineFields, TEXT_LAYOUTS, hostileSingleLine, fuzzParams } from '../../support/arbitraries.js';

for (const field of ['x_forwarded_for', 'request_id'] as const) {
  t.test(`hostile ${field} is kept verbatim or quarantined`, async (t) => {
    t.doesNotThrow(() => fc.assert(fc.property(textLineFields, fc.constantFrom(...TEXT_LAYOUTS), hostileSingleLine, (f, layout, v) => {
      const r = processLine(renderTextLine({ ...f, [field]: v }, layout), { format: 'auto' });
      if (!r.ok) return true;
      const want = v === '' || v === '-' ? null : v;
      return r.flow[field] === want && r.flow.user_agent === f.user_agent;
    }), fuzzParams(2000)));
  });
}
t.test('reproducers', async (t) => {
  const base = '[2023-05-06T07:08:09.010Z] "GET /orders/1 HTTP/1.1" 200 - via_upstream - "-" 0 321 9 8 "XFF" "UA" "RID" "orders.shop:8080" "10.9.0.3:8080" inbound|8080|| 127.0.0.6:41000 10.9.0.3:8080 10.9.1.1:52000 outbound_.8080_._.orders.shop.svc.cluster.local default';
  const a = processLine(base.replace('RID', 'x" "victim-request-id'), { format: 'auto' });
  t.ok(!a.ok || a.flow.request_id === 'x" "victim-request-id', `request_id forged: ${a.ok ? a.flow.request_id : ''} / ua ${a.ok ? a.flow.user_agent : ''}`);
  const b = processLine(base.replace('XFF', '1.2.3.4" "evil'), { format: 'auto' });
  t.ok(!b.ok || b.flow.x_forwarded_for === '1.2.3.4" "evil', `xff truncated: ${b.ok ? b.flow.x_forwarded_for : ''} / ua ${b.ok ? b.flow.user_agent : ''}`);
});
