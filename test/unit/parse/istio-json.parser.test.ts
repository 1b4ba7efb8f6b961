import t from 'tap';
import { istioJsonParser, readAccessLogKeys, keepLeftovers } from '../../../src/parse/istio-json.parser.js';
import { emptyFlow } from '../../../schemas/flow.js';

const base = {
  start_time: '2023-01-02T03:04:05.678Z', method: 'PUT', path: '/v1/thing', protocol: 'HTTP/1.1', response_code: 204,
  response_flags: '-', response_code_details: 'via_upstream', connection_termination_details: null,
  upstream_transport_failure_reason: '-', bytes_received: 10, bytes_sent: 0, duration: 7, upstream_service_time: '6',
  x_forwarded_for: null, user_agent: 'client/2', request_id: 'r-1', authority: 'thing.ns:80', upstream_host: '10.2.0.4:80',
  upstream_cluster: 'outbound|80||thing.ns.svc.cluster.local', upstream_local_address: '10.2.0.9:44000',
  downstream_local_address: '10.96.1.1:80', downstream_remote_address: '[fd00::9]:33000', requested_server_name: null,
  route_name: 'default',
};

t.test('Istio JSON: numbers, strings, null and "-" alike', async (t) => {
  const r = istioJsonParser.parse(JSON.stringify(base));
  t.ok(r.ok);
  if (!r.ok) return;
  const f = r.flow;
  t.equal(f.format, 'istio-json');
  t.equal(f.response_code, 204);
  t.equal(f.upstream_service_time, 6, 'string header value becomes a number');
  t.same(f.response_flags, []);
  t.equal(f.connection_termination_details, null);
  t.equal(f.upstream_transport_failure_reason, null, '"-" is null');
  t.equal(f.x_forwarded_for, null);
  t.equal(f.downstream_remote_address, '[fd00::9]:33000');
  t.equal(f.route_name, 'default');
  t.same(f.extra, {});
});

t.test('missing keys are null; numeric strings and flag lists convert', async (t) => {
  const r = istioJsonParser.parse(JSON.stringify({ response_code: '503', response_flags: 'UH,URX', duration: '12', bytes_sent: 1 }));
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.flow.response_code, 503);
  t.same(r.flow.response_flags, ['UH', 'URX']);
  t.equal(r.flow.duration, 12);
  t.equal(r.flow.start_time, null);
  t.equal(r.flow.method, null);
});

t.test('unknown keys go to extra as strings; absent ones are dropped', async (t) => {
  const r = istioJsonParser.parse(JSON.stringify({ ...base, downstream_peer_uri_san: 'spiffe://td/ns/a/sa/b', port: 8080, tags: { a: 1 }, gone: null, dash: '-' }));
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.flow.extra, { downstream_peer_uri_san: 'spiffe://td/ns/a/sa/b', port: '8080', tags: '{"a":1}' });
});

t.test('readAccessLogKeys hook returns leftovers for later mapping', async (t) => {
  const flow = emptyFlow('custom');
  const record = { method: 'GET', downstream_peer_uri_san: 'spiffe://x', other: 'y' };
  const left = readAccessLogKeys(record, flow);
  t.same(left, ['downstream_peer_uri_san', 'other']);
  t.equal(flow.method, 'GET');
  keepLeftovers(record, ['other'], flow);
  t.same(flow.extra, { other: 'y' });
});

t.test('failures name the field and never throw', async (t) => {
  const cases: [string, string, RegExp][] = [
    [JSON.stringify({ ...base, response_code: 'abc' }), 'invalid_field', /response_code/],
    [JSON.stringify({ ...base, bytes_sent: -5 }), 'invalid_field', /bytes_sent/],
    [JSON.stringify({ ...base, duration: '1e5' }), 'invalid_field', /duration/],
    [JSON.stringify({ ...base, method: { x: 1 } }), 'invalid_field', /method/],
    [JSON.stringify({ ...base, start_time: 'yesterday' }), 'invalid_field', /start_time/],
    [JSON.stringify({ ...base, response_flags: 7 }), 'invalid_field', /response_flags/],
    ['{"start_time": ', 'invalid_json', /JSON/],
    ['{"level":"info","message":"hello"}', 'unrecognised_format', /access-log keys/],
    ['[1,2]', 'not_an_object', /array/],
  ];
  for (const [line, reason, detail] of cases) {
    const r = istioJsonParser.parse(line);
    t.equal(r.ok, false, line.slice(0, 40));
    if (!r.ok) {
      t.equal(r.reason, reason, line.slice(0, 40));
      t.match(r.detail, detail);
    }
  }
});

t.test('detect', async (t) => {
  t.ok(istioJsonParser.detect(JSON.stringify(base)));
  t.ok(istioJsonParser.detect('{broken'), 'claims broken JSON so the failure says invalid_json');
  t.notOk(istioJsonParser.detect('{"level":"info","scope":"access","message":"connection complete"}'));
  t.notOk(
    istioJsonParser.detect('{"level":"info","scope":"access","src.addr":"10.0.0.1:1","bytes_sent":5,"duration":"1ms"}'),
    'ztunnel JSON shares bytes_sent/duration but is not claimed',
  );
  t.notOk(istioJsonParser.detect('[2023-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200'));
});
