import t from 'tap';
import { processLine } from '../../../src/pipeline/process-line.js';
import { findParser, registerParser, registeredParsers, resetParsers } from '../../../src/parse/registry.js';
import { FlowSchema, emptyFlow, type Flow } from '../../../schemas/flow.js';
import type { LineParser, ParseOutcome } from '../../../src/pipeline/contracts.js';
import { decodeEnvelope } from '../../../src/decode/envelope.js';
import { applyDirection } from '../../../src/enrich/direction.js';
import { applyReporter } from '../../../src/enrich/reporter.js';
import { enrichIdentity } from '../../../src/enrich/identity.js';
import { generateMeshTraffic } from '../../../src/sample/mesh-traffic.js';

const INBOUND = '[2023-05-06T07:08:09.010Z] "GET /orders/1 HTTP/1.1" 200 - via_upstream - "-" 0 321 9 8 "-" "curl/8.0" "req-9" "orders.shop:8080" "10.9.0.3:8080" inbound|8080|| 127.0.0.6:41000 10.9.0.3:8080 10.9.1.1:52000 outbound_.8080_._.orders.shop.svc.cluster.local default';
const OUTBOUND = '[2023-05-06T07:08:09.010Z] "GET /orders/1 HTTP/1.1" 200 - via_upstream - "-" 0 321 10 9 "-" "curl/8.0" "req-9" "orders.shop:8080" "10.9.0.3:8080" outbound|8080||orders.shop.svc.cluster.local 10.9.1.1:39000 10.96.7.7:8080 10.9.1.1:52000 - default';
const ENVOY = '[2023-05-06T07:08:09.010Z] "GET /x HTTP/1.1" 200 - 0 10 1 1 "-" "ua" "rid" "host" "10.0.0.1:80"';
const JSON_LINE = JSON.stringify({ start_time: '2023-05-06T07:08:09.010Z', response_code: 404, response_flags: 'NR', upstream_cluster: null, method: 'GET', path: '/nope' });

function flowOf(r: ParseOutcome): Flow {
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.flow;
}

t.test('auto: text and JSON lines, enriched and schema-valid', async (t) => {
  const inbound = flowOf(processLine(INBOUND, { format: 'auto' }));
  t.equal(inbound.direction, 'inbound');
  t.equal(inbound.destination_service, 'orders.shop.svc.cluster.local');
  t.equal(inbound.destination_port, 8080);
  t.equal(inbound.reporter.kind, 'sidecar');
  t.ok(FlowSchema.safeParse(inbound).success);
  const outbound = flowOf(processLine(OUTBOUND, { format: 'auto' }));
  t.equal(outbound.direction, 'outbound');
  t.equal(flowOf(processLine(ENVOY, { format: 'auto' })).reporter.kind, 'envoy');
  const json = flowOf(processLine(JSON_LINE, { format: 'auto' }));
  t.equal(json.format, 'istio-json');
  t.same(json.response_flags, ['NR']);
});

t.test('forced formats use that parser only', async (t) => {
  t.equal(flowOf(processLine(INBOUND, { format: 'istio-text' })).format, 'istio-text-1.9');
  const r = processLine(INBOUND, { format: 'istio-json' });
  t.equal(r.ok, false);
  if (!r.ok) t.equal(r.reason, 'invalid_json');
  const r2 = processLine(JSON_LINE, { format: 'istio-text' });
  t.equal(r2.ok, false);
  if (!r2.ok) t.equal(r2.reason, 'unrecognised_format');
});

t.test('envelopes feed the reporter', async (t) => {
  const cri = flowOf(processLine(`2023-05-06T07:08:09.123456789Z stdout F ${INBOUND}\n`, { format: 'auto' }));
  t.equal(cri.request_id, 'req-9');
  t.equal(cri.reporter.pod, null);

  const gw = flowOf(processLine(JSON.stringify({
    log: `${OUTBOUND}\n`,
    kubernetes: { pod_name: 'istio-ingressgateway-6b7-abcde', namespace_name: 'istio-system', container_name: 'istio-proxy', labels: { app: 'istio-ingressgateway' } },
  }), { format: 'auto' }));
  t.same(gw.reporter, { kind: 'gateway', pod: 'istio-ingressgateway-6b7-abcde', namespace: 'istio-system', container: 'istio-proxy', labels: { app: 'istio-ingressgateway' } });

  const sidecar = flowOf(processLine(JSON.stringify({
    message: INBOUND, source_type: 'kubernetes_logs',
    kubernetes: { pod_name: 'orders-5f6-xyz', pod_namespace: 'shop', container_name: 'istio-proxy', pod_labels: { app: 'orders' } },
  }), { format: 'auto' }));
  t.equal(sidecar.reporter.kind, 'sidecar');
  t.equal(sidecar.reporter.namespace, 'shop');

  const waypoint = flowOf(processLine(JSON.stringify({
    log: OUTBOUND, kubernetes: { pod_name: 'waypoint-7c8-q', namespace_name: 'shop', labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } },
  }), { format: 'auto' }));
  t.equal(waypoint.reporter.kind, 'waypoint');

  const egressByLabel = flowOf(processLine(JSON.stringify({ log: OUTBOUND, kubernetes: { pod_name: 'egress-1', labels: { istio: 'egressgateway' } } }), { format: 'auto' }));
  t.equal(egressByLabel.reporter.kind, 'gateway');

  // Weak evidence without an envelope: mesh SNI addressed to a gateway service on an outbound cluster.
  const weak = INBOUND.replace('inbound|8080||', 'outbound|443||api.example.com').replace(
    'outbound_.8080_._.orders.shop.svc.cluster.local', 'outbound_.443_._.istio-egressgateway.istio-system.svc.cluster.local');
  t.equal(flowOf(processLine(weak, { format: 'auto' })).reporter.kind, 'gateway');
});

t.test('failures carry reasons', async (t) => {
  const cases: [string, string][] = [
    ['[2021-03-12 15:31:30.492][1][warning][runtime] [x.cc:31] Unable to use runtime', 'unrecognised_format'],
    ['2023-05-06T07:08:09.123456789Z stdout P [2023-05-06T07:08:09.010Z] "GET', 'partial_line'],
    ['', 'empty_line'],
    ['   \r\n', 'empty_line'],
    ['{"log": "\\n", "stream": "stdout", "time": "t"}', 'empty_line'],
    ['{not json', 'invalid_json'],
    [INBOUND.replace(' 321 ', ' 3x1 '), 'invalid_field'],
  ];
  for (const [line, reason] of cases) {
    const r = processLine(line, { format: 'auto' });
    t.equal(r.ok, false, line.slice(0, 40));
    if (!r.ok) t.equal(r.reason, reason, line.slice(0, 40));
  }
});

t.test('a parser producing an invalid flow becomes schema_violation, a throwing one internal_error', async (t) => {
  const bad: LineParser = {
    name: 'bad', detect: () => true,
    parse: () => ({ ok: true, flow: { ...emptyFlow('bad'), response_code: -1 } }),
  };
  const r = processLine('anything', { format: 'auto', parsers: [bad] });
  t.equal(r.ok, false);
  if (!r.ok) {
    t.equal(r.reason, 'schema_violation');
    t.match(r.detail, /response_code/);
  }
  const throwing: LineParser = { name: 'boom', detect: () => { throw new Error('kaboom'); }, parse: () => ({ ok: false, reason: 'x', detail: 'x' }) };
  const r2 = processLine('anything', { format: 'auto', parsers: [throwing] });
  t.equal(r2.ok, false);
  if (!r2.ok) t.equal(r2.reason, 'internal_error');
});

t.test('never throws on garbage', async (t) => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const alphabet = '[]"{}:,| -\\\n\r\t\0abc019.;_/ZTstdoutF';
  const inputs: string[] = [
    '\0'.repeat(100), `${INBOUND}\0`, INBOUND.replace(/"/g, ''), INBOUND.replace(/ /g, '  '), 'x'.repeat(1 << 20),
    `[${'9'.repeat(1 << 20)}] "GET / HTTP/1.1" 200`, `{"log":${JSON.stringify('x'.repeat(1 << 20))}}`,
    '{"start_time":{"$gt":1}}', '{"__proto__":{"x":1},"response_code":1}', '{"response_code":1e400}', 'null', '[]', '"str"', '\uD800',
  ];
  for (let i = 0; i < 3000; i++) {
    // Random mutations of a valid line and random strings from a hostile alphabet.
    const src = [INBOUND, OUTBOUND, ENVOY, JSON_LINE][i % 4]!;
    const pos = rnd(src.length);
    inputs.push(src.slice(0, pos) + alphabet[rnd(alphabet.length)]! + src.slice(pos + 1 + rnd(3)));
    let s = '';
    for (let k = rnd(80); k > 0; k--) s += alphabet[rnd(alphabet.length)];
    inputs.push(s);
  }
  let flows = 0;
  for (const input of inputs) {
    for (const format of ['auto', 'istio-text', 'istio-json'] as const) {
      let r: ParseOutcome;
      try {
        r = processLine(input, { format });
      } catch (err) {
        t.fail(`threw on ${JSON.stringify(input.slice(0, 60))}: ${String(err)}`);
        continue;
      }
      if (r.ok) {
        flows++;
        if (!FlowSchema.safeParse(r.flow).success) t.fail(`invalid flow from ${JSON.stringify(input.slice(0, 60))}`);
      } else if (typeof r.reason !== 'string' || r.detail.length > 300) t.fail('bad failure shape');
    }
  }
  t.ok(flows > 0, `${flows} mutated lines still parsed, all schema-valid`);
  t.equal(processLine(undefined as unknown as string, { format: 'auto' }).ok, false);
});

t.test('registry: register, order, replace', async (t) => {
  t.teardown(resetParsers);
  const builtin = ['istio-text', 'istio-json', 'ztunnel-json', 'ztunnel-plain'];
  t.same(registeredParsers().map((p) => p.name), builtin);
  const custom: LineParser = {
    name: 'custom', detect: (l) => l.startsWith('ZT '),
    parse: () => ({ ok: true, flow: { ...emptyFlow('custom'), reporter: { kind: 'ztunnel', pod: null, namespace: null, container: null, labels: null } } }),
  };
  registerParser(custom);
  t.same(registeredParsers().map((p) => p.name), [...builtin, 'custom']);
  const zt = flowOf(processLine('ZT hello', { format: 'auto' }));
  t.equal(zt.reporter.kind, 'ztunnel', 'a kind set by the parser is kept');
  registerParser({ ...custom, name: 'first' }, { before: 'istio-text' });
  t.equal(registeredParsers()[0]!.name, 'first');
  const replacement = { ...custom, detect: () => false };
  registerParser(replacement);
  t.equal(findParser('custom'), replacement);
  t.equal(registeredParsers().length, builtin.length + 2);
});

t.test('enrichment happens in place on the parser\'s own flow: each line\'s flow is the pure enrichment of its parse, whatever came before', async (t) => {
  // processLine enriches the parser's fresh flow in place. These would show it going wrong: a
  // parser object (extra, reporter, labels) shared between lines keeps a previous line's
  // principal or evidence, or the pipeline's result stops being the pure enrichment.
  const lines = generateMeshTraffic({ seed: 7, requests: 300, jsonShare: 0.3, envelopeShare: 0.3, malformed: false });
  const pure = (line: string): Flow => {
    const decoded = decodeEnvelope(line);
    if (!decoded.ok) throw new Error(decoded.detail);
    const parser = registeredParsers().find((p) => p.detect(decoded.envelope.line))!;
    const parsed = parser.parse(decoded.envelope.line);
    if (!parsed.ok) throw new Error(parsed.detail);
    applyDirection(parsed.flow);
    applyReporter(parsed.flow, decoded.envelope.reporter);
    return enrichIdentity(parsed.flow);
  };
  const forward = lines.map((l) => flowOf(processLine(l, { format: 'auto' })));
  const backward = [...lines].reverse().map((l) => flowOf(processLine(l, { format: 'auto' }))).reverse();
  let principals = 0;
  for (let i = 0; i < lines.length; i++) {
    const expected = pure(lines[i]!);
    if (!t.same(forward[i], expected, `line ${i}: the pure enrichment`, { diagnostic: false })) break;
    if (!t.same(backward[i], expected, `line ${i}: the same after the lines in the other order`, { diagnostic: false })) break;
    if (expected.source_principal !== null) principals++;
  }
  t.ok(principals > 0 && principals < lines.length, `lines with and without a source principal (${principals} of ${lines.length}): leaked state would show`);
});
