import t from 'tap';
import { emptyFlow, FlowSchema } from '../../../schemas/flow.js';
import { compileLabels } from '../../../src/parse/template/index.js';
import { applyOperatorKeys, extraKey, operatorForKey, parseOperatorText } from '../../../src/parse/operators.js';
import { enrichIdentity } from '../../../src/enrich/identity.js';

const LABELS = {
  ts: '%START_TIME%',
  verb: '%REQ(:METHOD)%',
  status: '%RESPONSE_CODE%',
  took: '%DURATION%',
  cluster: '%UPSTREAM_CLUSTER_RAW%',
  caller: '%DOWNSTREAM_PEER_URI_SAN%',
  tls: '%DOWNSTREAM_TLS_VERSION%',
  tenant: '%REQ(X-TENANT)%',
  note: 'route=%ROUTE_NAME%',
};

t.test('labels: single-operator labels map by operator, whatever the key is called', async (t) => {
  const p = compileLabels(LABELS, { name: 'telemetry-json' });
  const line = JSON.stringify({
    ts: '2031-05-06T07:08:09.010Z', verb: 'PUT', status: 201, took: 14, cluster: 'inbound|7000||',
    caller: 'spiffe://acme.internal/ns/jobs/sa/scheduler', tls: 'TLSv1.3', tenant: null, note: 'route=default', other: { a: 1 },
  });
  t.ok(p.detect(line));
  const r = p.parse(line);
  t.ok(r.ok);
  if (!r.ok) return;
  const f = r.flow;
  t.equal(f.format, 'telemetry-json');
  t.equal(f.start_time, '2031-05-06T07:08:09.010Z');
  t.equal(f.method, 'PUT');
  t.equal(f.response_code, 201);
  t.equal(f.duration, 14);
  t.equal(f.upstream_cluster, 'inbound|7000||');
  t.same(f.extra, {
    downstream_peer_uri_san: 'spiffe://acme.internal/ns/jobs/sa/scheduler',
    downstream_tls_version: 'TLSv1.3',
    'REQ(X-TENANT)': '-',
    note: 'route=default',
    other: '{"a":1}',
  });
  t.ok(FlowSchema.safeParse(f).success);
  t.ok(p.carries('DOWNSTREAM_PEER_URI_SAN'));
  t.notOk(p.carries('ROUTE_NAME'), 'mixed text is not an operator value');
  const e = enrichIdentity({ ...f, direction: 'inbound' });
  t.equal(e.source_principal_from, 'downstream_peer_uri_san');
  t.equal(e.mtls, true);
});

t.test('labels: omitted keys stay unknown; wrong types fail; non-JSON fails', async (t) => {
  const p = compileLabels(LABELS);
  const sparse = p.parse('{"verb":"GET"}');
  t.ok(sparse.ok);
  if (sparse.ok) t.same(sparse.flow.extra, {}, 'omitEmptyValues: no key, no claim about it');
  const bad = p.parse('{"status":"teapot"}');
  t.same(bad.ok, false);
  if (!bad.ok) t.equal(bad.reason, 'invalid_field');
  const notJson = p.parse('{"verb":');
  t.same(notJson.ok, false);
  t.notOk(p.detect('{"start_time":"x","response_code":200}'), 'a line without any label key is not claimed');
  t.notOk(p.detect('[2031-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200'));
});

t.test('labels: bad format strings and empty maps are rejected at compile time', async (t) => {
  t.throws(() => compileLabels({}), /empty/);
  t.throws(() => compileLabels({ a: '%REQ(X' }), /key "a"/);
});

t.test('operator naming convention: lower-snake for bare commands, operator text otherwise', async (t) => {
  t.equal(extraKey(parseOperatorText('DOWNSTREAM_PEER_URI_SAN')!), 'downstream_peer_uri_san');
  t.equal(extraKey(parseOperatorText('req(x-custom):20')!), 'REQ(X-CUSTOM)');
  t.equal(extraKey(parseOperatorText('DYNAMIC_METADATA(istio.mixer:status)')!), 'DYNAMIC_METADATA(istio.mixer:status)', 'metadata keys keep their case');
  t.equal(parseOperatorText('not an operator'), null);
  t.equal(operatorForKey('upstream_tls_version')?.text, 'UPSTREAM_TLS_VERSION');
  t.equal(operatorForKey('start_time'), null, "Istio's own JSON keys are the JSON parser's");
  t.equal(operatorForKey('favourite_colour'), null);
});

t.test('applyOperatorKeys claims operator-named JSON keys and leaves the rest', async (t) => {
  const f = emptyFlow('istio-json');
  const claimed = applyOperatorKeys(f, {
    start_time: '2031-01-01T00:00:00Z',
    downstream_peer_uri_san: 'spiffe://td/ns/a/sa/b',
    upstream_peer_uri_san: null,
    downstream_tls_cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
    upstream_cluster_raw: 'outbound|80||web.a.svc.cluster.local',
    app_label: 'x',
  });
  t.same(claimed.sort(), ['downstream_peer_uri_san', 'downstream_tls_cipher', 'upstream_cluster_raw', 'upstream_peer_uri_san']);
  t.same(f.extra, { downstream_peer_uri_san: 'spiffe://td/ns/a/sa/b', upstream_peer_uri_san: '-', downstream_tls_cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
  t.equal(f.upstream_cluster, 'outbound|80||web.a.svc.cluster.local');
  t.equal(f.start_time, null, 'start_time is left to the JSON parser');
  const g = emptyFlow('istio-json');
  g.upstream_cluster = 'outbound|80||already.set';
  applyOperatorKeys(g, { upstream_cluster_raw: 'outbound|80||other' });
  t.equal(g.upstream_cluster, 'outbound|80||already.set', 'a column already filled is not overwritten');
});
