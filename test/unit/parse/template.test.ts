import t from 'tap';
import { emptyFlow, FlowSchema, type Flow } from '../../../schemas/flow.js';
import { compileTemplate, renderTemplate, tokenizeTemplate } from '../../../src/parse/template/index.js';
import { MeshtrailError } from '../../../src/errors.js';

const ISTIO_124 =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

const IDENTITY =
  '%START_TIME% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %DURATION% src="%DOWNSTREAM_PEER_URI_SAN%" self="%DOWNSTREAM_LOCAL_URI_SAN%" ' +
  'dst="%UPSTREAM_PEER_URI_SAN%" tls=%DOWNSTREAM_TLS_VERSION%/%DOWNSTREAM_TLS_CIPHER% utls=%UPSTREAM_TLS_VERSION% ' +
  'tenant=%REQ(X-Tenant-Id):12% md=%DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_engine_result)% fs=%FILTER_STATE(io.example.peer:PLAIN)% 100%% done';

function sampleFlow(format: string): Flow {
  const f = emptyFlow(format);
  Object.assign(f, {
    start_time: '2031-02-03T04:05:06.789Z', method: 'POST', path: '/v2/orders?expand=items', protocol: 'HTTP/2',
    response_code: 503, response_flags: ['UF', 'URX'], response_code_details: 'upstream_reset_before_response_started{connection_failure}',
    connection_termination_details: null, upstream_transport_failure_reason: 'delayed_connect_error:_111', bytes_received: 312,
    bytes_sent: 91, duration: 27, upstream_service_time: null, x_forwarded_for: '198.51.100.7', user_agent: 'okhttp/4.12.0 (Linux; Android 14)',
    request_id: '0d4d7f0e-1a9b-4b1e-9b71-3f1c2f0e9a11', authority: 'orders.shop:8080', upstream_host: '10.20.3.4:8080',
    upstream_cluster: 'outbound|8080|v2|orders.shop.svc.cluster.local', upstream_local_address: '10.20.1.9:48812',
    downstream_local_address: '10.96.14.2:8080', downstream_remote_address: '10.20.1.9:37710', requested_server_name: null, route_name: 'default',
  });
  return f;
}

t.test('round trip through the Istio 1.24 default format: render -> parse -> equal', async (t) => {
  const p = compileTemplate(ISTIO_124, { name: 'istio-text-custom' });
  const f = sampleFlow('istio-text-custom');
  const line = renderTemplate(ISTIO_124, f);
  t.notOk(line.endsWith('\n'), 'the trailing newline of the format is not part of a line');
  t.match(line, /^\[2031-02-03T04:05:06\.789Z\] "POST \/v2\/orders\?expand=items HTTP\/2" 503 UF,URX /);
  const r = p.parse(line);
  t.ok(r.ok);
  if (r.ok) {
    t.same(r.flow, f);
    t.ok(FlowSchema.safeParse(r.flow).success);
  }
  t.ok(p.detect(line));
  t.ok(p.carries('REQUESTED_SERVER_NAME'));
  t.notOk(p.carries('DOWNSTREAM_PEER_URI_SAN'));
});

t.test('a TCP line ("- - -", 0, all dashes) parses to nulls', async (t) => {
  const p = compileTemplate(ISTIO_124);
  const f = emptyFlow('envoy-template');
  Object.assign(f, { start_time: '2031-02-03T04:05:06.000Z', response_code: 0, bytes_received: 10, bytes_sent: 20, duration: 5, upstream_cluster: 'inbound|5432||' });
  const line = renderTemplate(ISTIO_124, f);
  t.match(line, /"- - -" 0 - - - "-" 10 20 5 - "-" "-" "-" "-" "-" inbound\|5432\|\| - - - - -$/);
  const r = p.parse(line);
  t.ok(r.ok);
  if (r.ok) t.same(r.flow, f);
});

t.test('round trip through a custom format with identity operators, header lengths and metadata', async (t) => {
  const p = compileTemplate(IDENTITY);
  const f = emptyFlow('envoy-template');
  Object.assign(f, { start_time: '2031-02-03T04:05:06.789Z', method: 'GET', path: '/healthz', response_code: 200, duration: 3 });
  f.extra = {
    downstream_peer_uri_san: 'spiffe://corp.example/ns/edge/sa/ingress',
    downstream_local_uri_san: 'spiffe://corp.example/ns/api/sa/api',
    upstream_peer_uri_san: '-',
    downstream_tls_version: 'TLSv1.3',
    downstream_tls_cipher: 'TLS_AES_256_GCM_SHA384',
    upstream_tls_version: '-',
    'REQ(X-TENANT-ID)': 'acme-europe',
    'DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_engine_result)': 'allowed',
    'FILTER_STATE(io.example.peer:PLAIN)': 'peer-7',
  };
  const line = renderTemplate(IDENTITY, f);
  t.match(line, / 100% done$/, '%% renders as a literal %');
  const r = p.parse(line);
  t.ok(r.ok, JSON.stringify(r));
  if (r.ok) t.same(r.flow, f);
  t.same(p.operators.slice(0, 3), ['START_TIME', 'REQ(:METHOD)', 'REQ(:PATH)']);
  t.ok(p.carries('DOWNSTREAM_PEER_URI_SAN'));
  t.ok(p.carries('REQ(X-TENANT-ID)'), 'header names are case-normalised');
});

t.test(':Z truncates on render; the parser keeps what Envoy printed', async (t) => {
  const p = compileTemplate('%REQ(X-TENANT-ID):4% %RESPONSE_CODE%');
  const f = emptyFlow('envoy-template');
  f.response_code = 204;
  f.extra['REQ(X-TENANT-ID)'] = 'acme-europe';
  const line = renderTemplate('%REQ(X-TENANT-ID):4% %RESPONSE_CODE%', f);
  t.equal(line, 'acme 204');
  const r = p.parse(line);
  t.equal(r.ok && r.flow.extra['REQ(X-TENANT-ID)'], 'acme');
});

t.test('a quoted value that contains the delimiter makes the line ambiguous: quarantined, not guessed', async (t) => {
  const p = compileTemplate(ISTIO_124);
  const f = sampleFlow('envoy-template');
  f.user_agent = 'weird" "agent';
  const r = p.parse(renderTemplate(ISTIO_124, f));
  t.notOk(r.ok);
  if (!r.ok) t.equal(r.reason, 'ambiguous_fields');
  // A lone quote (no space beside it) leaves one reading: kept verbatim.
  f.user_agent = 'weird"agent';
  const ok = p.parse(renderTemplate(ISTIO_124, f));
  t.ok(ok.ok);
  if (ok.ok) {
    t.equal(ok.flow.user_agent, 'weird"agent');
    t.equal(ok.flow.request_id, f.request_id);
  }
});

t.test('unknown operators land in extra under their operator text; simple ones in lower case', async (t) => {
  const p = compileTemplate('%HOSTNAME% "%REQ(x-b3-traceid)%" %UPSTREAM_REQUEST_ATTEMPT_COUNT% %START_TIME(%Y/%m/%d)%');
  const r = p.parse('node-7 "80f198ee56343ba8" 2 2031/02/03');
  t.ok(r.ok);
  if (r.ok) {
    t.same(r.flow.extra, { hostname: 'node-7', 'REQ(X-B3-TRACEID)': '80f198ee56343ba8', upstream_request_attempt_count: '2', 'START_TIME(%Y/%m/%d)': '2031/02/03' });
    t.equal(r.flow.start_time, null, 'a START_TIME with a custom strftime is not guessed into start_time');
  }
});

t.test('lines that do not fit the format fail with a reason', async (t) => {
  const p = compileTemplate(ISTIO_124);
  const bad = p.parse('2031-02-03T04:05:06Z\tinfo\taccess\tconnection complete src.addr=1.2.3.4:5');
  t.same(bad.ok, false);
  if (!bad.ok) t.equal(bad.reason, 'template_mismatch');
  t.notOk(p.detect('{"start_time":"x"}'));
  const typed = compileTemplate('[%START_TIME%] %REQ(:METHOD)%').parse('[not-a-time] GET');
  t.same(typed.ok, false);
  if (!typed.ok) t.equal(typed.reason, 'invalid_field');
  const numeric = compileTemplate('%RESPONSE_CODE% %REQ(:METHOD)%').parse('abc GET');
  t.same(numeric.ok, false);
});

t.test('a hostile line costs bounded time', async (t) => {
  const p = compileTemplate('%REQ(A)% %REQ(B)% %REQ(C)% %REQ(D)% %REQ(E)% %REQ(F)%|');
  const start = Date.now();
  const r = p.parse('x '.repeat(5000));
  t.same(r.ok, false);
  t.ok(Date.now() - start < 2000, `took ${Date.now() - start}ms`);
});

t.test('compile-time errors: adjacent operators, bad syntax, no operator', async (t) => {
  t.throws(() => compileTemplate('%BYTES_SENT%%BYTES_RECEIVED%'), /adjacent/);
  t.throws(() => compileTemplate('%BYTES_SENT% 50% off'), MeshtrailError);
  t.throws(() => compileTemplate('%REQ(X-A% x'), /unclosed/);
  t.throws(() => compileTemplate('plain text only'), /no %OPERATOR%/);
  try {
    compileTemplate('%A%%B%');
    t.fail('should throw');
  } catch (err) {
    t.equal((err as MeshtrailError).code, 'ERR_CONFIG_INVALID');
  }
});

t.test('tokenizer: arguments with ":" and "%", lengths, %% and the trailing newline', async (t) => {
  const segs = tokenizeTemplate('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH):64% %START_TIME(%s.%3f)% 5%%\n');
  t.same(segs.map((s) => (s.kind === 'literal' ? s.text : s.op.text)), ['REQ(X-ENVOY-ORIGINAL-PATH?:PATH)', ' ', 'START_TIME(%s.%3f)', ' 5%']);
  const first = segs[0];
  t.equal(first?.kind === 'operator' && first.op.maxLength, 64);
});
