import t from 'tap';
import { decodeEnvelope, splitCri, stripEol } from '../../../src/decode/envelope.js';

const LINE = '[2023-01-02T03:04:05.678Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2 3 "-" "ua" "rid" "a" "b" - - - - - -';
const CRI = `2023-01-02T03:04:05.987654321Z stdout F ${LINE}`;

function env(text: string) {
  const r = decodeEnvelope(text);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.envelope;
}

t.test('bare line, trailing newline and CR stripped', async (t) => {
  t.same(env(`${LINE}\r\n`), { line: LINE, kind: 'none', reporter: {} });
  t.equal(env(`${LINE}\n`).line, LINE);
  t.equal(stripEol('x\r'), 'x');
});

t.test('CRI prefix: F unwraps, P is refused, stderr works', async (t) => {
  t.same(env(CRI), { line: LINE, kind: 'cri', reporter: {} });
  t.equal(env(CRI.replace('stdout', 'stderr')).line, LINE);
  const p = decodeEnvelope(CRI.replace(' F ', ' P '));
  t.equal(p.ok, false);
  if (!p.ok) t.equal(p.reason, 'partial_line');
  t.equal(env('2023-01-02T03:04:05.987654321Z stdout F').line, '', 'empty full record');
});

t.test('ztunnel and other timestamped lines are not CRI', async (t) => {
  const zt = '2024-01-01T00:00:00.000001Z\tinfo\taccess\tconnection complete\tsrc.addr=10.0.0.1:1';
  t.equal(env(zt).kind, 'none');
  t.equal(env(zt).line, zt);
  t.equal(splitCri('2024-01-01T00:00:00Z info stdout F x'), null);
});

t.test('Docker json-file', async (t) => {
  const e = env(JSON.stringify({ log: `${LINE}\n`, stream: 'stdout', time: '2023-01-02T03:04:05.9Z' }));
  t.same(e, { line: LINE, kind: 'docker-json', reporter: {} });
});

t.test('Fluent Bit record with kubernetes metadata', async (t) => {
  const rec = {
    log: `${LINE}\n`, stream: 'stdout', time: 'x',
    kubernetes: { pod_name: 'cart-7d9f-abcde', namespace_name: 'shop', container_name: 'istio-proxy', labels: { app: 'cart', n: 3 } },
  };
  t.same(env(JSON.stringify(rec)), {
    line: LINE, kind: 'shipper',
    reporter: { pod: 'cart-7d9f-abcde', namespace: 'shop', container: 'istio-proxy', labels: { app: 'cart' } },
  });
});

t.test('Vector record whose message still carries a CRI prefix', async (t) => {
  const rec = {
    message: `${CRI}\n`, source_type: 'kubernetes_logs', timestamp: 'x',
    kubernetes: { pod_name: 'istio-ingressgateway-55-xyz', pod_namespace: 'istio-system', container_name: 'istio-proxy', pod_labels: { istio: 'ingressgateway' } },
  };
  const e = env(JSON.stringify(rec));
  t.equal(e.line, LINE);
  t.equal(e.kind, 'shipper');
  t.same(e.reporter, { pod: 'istio-ingressgateway-55-xyz', namespace: 'istio-system', container: 'istio-proxy', labels: { istio: 'ingressgateway' } });
});

t.test('inner partial CRI record is refused', async (t) => {
  const r = decodeEnvelope(JSON.stringify({ log: CRI.replace(' F ', ' P '), kubernetes: {} }));
  t.equal(r.ok, false);
});

t.test('JSON that is not an envelope stays bare', async (t) => {
  const istioJson = JSON.stringify({ start_time: 'x', response_code: 200, upstream_cluster: 'a', log: 'not mine' });
  t.same(env(istioJson), { line: istioJson, kind: 'none', reporter: {} });
  const ztJson = JSON.stringify({ level: 'info', time: 't', scope: 'access', message: 'connection complete', 'src.addr': '1.2.3.4:5' });
  t.equal(env(ztJson).kind, 'none', 'a bare `message` is not a Vector record');
  t.equal(env('{not json').line, '{not json');
  t.equal(env('{"log": 5}').kind, 'none');
});
