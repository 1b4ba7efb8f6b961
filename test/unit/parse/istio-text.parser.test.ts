import t from 'tap';
import { istioTextParser, parseIstioText } from '../../../src/parse/istio-text.parser.js';
import type { Flow } from '../../../schemas/flow.js';

// Lines are assembled from named parts so each test states which layout it exercises.
const HEAD = '[2023-04-05T06:07:08.123Z] "POST /api/items?id=7 HTTP/2"';
const QUOTED5 = '"-" "probe/1.0" "0b1e2c3d-aaaa-bbbb-cccc-000000000001" "items.shop:8080" "10.1.2.3:8080"';
const TAIL6 = 'outbound|8080||items.shop.svc.cluster.local 10.1.9.9:40000 10.96.0.10:8080 10.1.9.9:51234 - items-route';
const TAIL5 = 'outbound|8080||items.shop.svc.cluster.local 10.1.9.9:40000 10.96.0.10:8080 10.1.9.9:51234 -';

function ok(line: string): Flow {
  const r = parseIstioText(line);
  if (!r.ok) throw new Error(`expected a flow, got ${r.reason}: ${r.detail}`);
  return r.flow;
}

t.test('1.9+ layout (also 1.24+): details, termination details, quoted failure reason', async (t) => {
  const f = ok(`${HEAD} 201 - via_upstream - "-" 12 34 56 55 ${QUOTED5} ${TAIL6}`);
  t.equal(f.format, 'istio-text-1.9');
  t.equal(f.start_time, '2023-04-05T06:07:08.123Z');
  t.equal(f.method, 'POST');
  t.equal(f.path, '/api/items?id=7');
  t.equal(f.protocol, 'HTTP/2');
  t.equal(f.response_code, 201);
  t.same(f.response_flags, []);
  t.equal(f.response_code_details, 'via_upstream');
  t.equal(f.connection_termination_details, null);
  t.equal(f.upstream_transport_failure_reason, null);
  t.equal(f.bytes_received, 12);
  t.equal(f.bytes_sent, 34);
  t.equal(f.duration, 56);
  t.equal(f.upstream_service_time, 55);
  t.equal(f.x_forwarded_for, null);
  t.equal(f.user_agent, 'probe/1.0');
  t.equal(f.request_id, '0b1e2c3d-aaaa-bbbb-cccc-000000000001');
  t.equal(f.authority, 'items.shop:8080');
  t.equal(f.upstream_host, '10.1.2.3:8080');
  t.equal(f.upstream_cluster, 'outbound|8080||items.shop.svc.cluster.local');
  t.equal(f.upstream_local_address, '10.1.9.9:40000');
  t.equal(f.downstream_local_address, '10.96.0.10:8080');
  t.equal(f.downstream_remote_address, '10.1.9.9:51234');
  t.equal(f.requested_server_name, null);
  t.equal(f.route_name, 'items-route');
  t.same(f.extra, {});
});

t.test('1.6-1.8 layout: one quoted failure reason, no details', async (t) => {
  const f = ok(`${HEAD} 503 UF "TLS_error:_WRONG_VERSION" 0 91 3 - ${QUOTED5} ${TAIL6}`);
  t.equal(f.format, 'istio-text-1.6');
  t.equal(f.upstream_transport_failure_reason, 'TLS_error:_WRONG_VERSION');
  t.equal(f.response_code_details, null);
  t.equal(f.upstream_service_time, null);
  t.equal(f.route_name, 'items-route');
});

t.test('1.3-1.5 layout: mixer status and failure reason, with route name', async (t) => {
  const f = ok(`${HEAD} 200 - "Ok" "-" 1 2 3 4 ${QUOTED5} ${TAIL6}`);
  t.equal(f.format, 'istio-text-1.3');
  t.equal(f.extra.mixer_status, 'Ok');
  t.equal(f.upstream_transport_failure_reason, null);
  t.equal(f.route_name, 'items-route');
});

t.test('1.2 layout: like 1.3 without route name', async (t) => {
  const f = ok(`${HEAD} 200 - "-" "reset" 1 2 3 4 ${QUOTED5} ${TAIL5}`);
  t.equal(f.format, 'istio-text-1.2');
  t.equal(f.upstream_transport_failure_reason, 'reset');
  t.notOk('mixer_status' in f.extra, 'absent mixer status is not kept');
  t.equal(f.route_name, null);
  t.equal(f.upstream_cluster, 'outbound|8080||items.shop.svc.cluster.local');
});

t.test('~1.1 layout: one quoted field, five tail tokens, old inbound cluster name', async (t) => {
  const f = ok(`${HEAD} 200 - "-" 1 2 3 4 ${QUOTED5} inbound|8080|http|items.shop.svc.cluster.local - 10.1.2.3:8080 10.1.9.9:51234 outbound_.8080_._.items.shop.svc.cluster.local`);
  t.equal(f.format, 'istio-text-1.1');
  t.equal(f.upstream_cluster, 'inbound|8080|http|items.shop.svc.cluster.local');
  t.equal(f.requested_server_name, 'outbound_.8080_._.items.shop.svc.cluster.local');
  t.equal(f.upstream_local_address, null);
});

t.test("Envoy's own default format: no Istio tail", async (t) => {
  const f = ok(`${HEAD} 200 - 0 1024 9 8 "198.51.100.1, 203.0.113.9" "Some Bot (+http://bot.example/)" "rid-1" "shop.example" "-"`);
  t.equal(f.format, 'envoy-text');
  t.equal(f.x_forwarded_for, '198.51.100.1, 203.0.113.9');
  t.equal(f.user_agent, 'Some Bot (+http://bot.example/)');
  t.equal(f.upstream_host, null);
  t.equal(f.upstream_cluster, null);
});

t.test('gotchas', async (t) => {
  t.test('unescaped quotes inside the User-Agent', async (t) => {
    const ua = 'Evil "quoted" agent" x "y';
    const f = ok(`${HEAD} 200 - via_upstream - "-" 1 2 3 4 "-" "${ua}" "rid" "a.b" "10.0.0.1:80" ${TAIL6}`);
    t.equal(f.user_agent, ua);
    t.equal(f.request_id, 'rid');
    t.equal(f.authority, 'a.b');
  });
  t.test('User-Agent made of a lone quote', async (t) => {
    const f = ok(`${HEAD} 200 - via_upstream - "-" 1 2 3 4 "-" """ "rid" "a.b" "10.0.0.1:80" ${TAIL6}`);
    t.equal(f.user_agent, '"');
  });
  t.test('IPv6 addresses everywhere', async (t) => {
    const f = ok(`${HEAD} 200 - via_upstream - "-" 1 2 3 4 "-" "ua" "rid" "[fd00::1]:8080" "[fd00::2]:8080" inbound|8080|| [::1]:4000 [fd00::2]:8080 [2001:db8::7]:5000 - default`);
    t.equal(f.authority, '[fd00::1]:8080');
    t.equal(f.upstream_host, '[fd00::2]:8080');
    t.equal(f.upstream_local_address, '[::1]:4000');
    t.equal(f.downstream_remote_address, '[2001:db8::7]:5000');
  });
  t.test('`;` in cluster names, comma flags, braces/brackets/colons in details', async (t) => {
    const details = 'upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}[x]';
    const f = ok(`${HEAD} 503 UH,URX,UF ${details} - "-" 0 145 0 - "-" "ua" "rid" "a" "-" outbound;8080;;items.shop.svc.cluster.local; - 10.0.0.9:8080 10.0.0.8:1234 - -`);
    t.same(f.response_flags, ['UH', 'URX', 'UF']);
    t.equal(f.response_code_details, details);
    t.equal(f.upstream_cluster, 'outbound;8080;;items.shop.svc.cluster.local;');
  });
  t.test('TCP line: "- - -", response code 0, downstream port :0', async (t) => {
    const f = ok(`[2023-04-05T06:07:08.123Z] "- - -" 0 - - - "-" 1500 3000 20000 - "-" "-" "-" "-" "10.0.0.5:5432" outbound|5432||db.data.svc.cluster.local 10.0.0.4:51000 10.96.3.3:5432 10.0.0.4:0 - -`);
    t.equal(f.method, null);
    t.equal(f.path, null);
    t.equal(f.protocol, null);
    t.equal(f.response_code, 0);
    t.equal(f.user_agent, null);
    t.equal(f.downstream_remote_address, '10.0.0.4:0');
    t.equal(f.duration, 20000);
  });
  t.test('junk x-envoy-upstream-service-time is kept raw, not fatal', async (t) => {
    const f = ok(`${HEAD} 200 - via_upstream - "-" 1 2 3 12,13 ${QUOTED5} ${TAIL6}`);
    t.equal(f.upstream_service_time, null);
    t.equal(f.extra.upstream_service_time_raw, '12,13');
  });
  t.test('start time with an offset is normalised to UTC', async (t) => {
    const f = ok(`[2023-04-05T08:07:08.5+02:00] "GET / HTTP/1.1" 200 - via_upstream - "-" 1 2 3 4 ${QUOTED5} ${TAIL6}`);
    t.equal(f.start_time, '2023-04-05T06:07:08.500Z');
  });
});

t.test('failures', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['[2021-03-12 15:31:30.492][1][warning][runtime] [source/x.cc:31] Unable to use runtime', 'unrecognised_format', /quoted request line/],
    ['2023-04-05T06:07:08.123Z info starting server on port 8080', 'unrecognised_format', /START_TIME/],
    [`${HEAD} 200 - a b c "-" 1 2 3 4 ${QUOTED5} ${TAIL6}`, 'unrecognised_format', /\[bbbq\]/],
    [`${HEAD} 200 - via_upstream - "-" 1 2 3 4 ${QUOTED5} ${TAIL6} extra`, 'unrecognised_format', /7 token/],
    [`${HEAD} 200 - via_upstream - "-" 1 2 abc 4 ${QUOTED5} ${TAIL6}`, 'invalid_field', /duration/],
    [`${HEAD} 200 - via_upstream - "-" -1 2 3 4 ${QUOTED5} ${TAIL6}`, 'invalid_field', /bytes_received/],
    [`[not a time] "GET / HTTP/1.1" 200 - via_upstream - "-" 1 2 3 4 ${QUOTED5} ${TAIL6}`, 'invalid_field', /start_time/],
    [`${HEAD} OK - via_upstream - "-" 1 2 3 4 ${QUOTED5} ${TAIL6}`, 'unrecognised_format', /RESPONSE_CODE/],
    [`[2023-04-05T06:07:08.123Z] "GET" 200 - via_upstream - "-" 1 2 3 4 ${QUOTED5} ${TAIL6}`, 'unrecognised_format', /METHOD PATH PROTOCOL/],
    [`${HEAD} 200 - via_upstream - "-" 1 2 3 4 "-" "ua"`, 'unrecognised_format', /./],
    [`${HEAD} 200`, 'unrecognised_format', /./],
    ['[', 'unrecognised_format', /./],
    ['', 'unrecognised_format', /./],
  ];
  for (const [line, reason, detail] of cases) {
    const r = istioTextParser.parse(line);
    t.equal(r.ok, false, line.slice(0, 50));
    if (!r.ok) {
      t.equal(r.reason, reason, `reason for ${line.slice(0, 50)}`);
      t.match(r.detail, detail, `detail for ${line.slice(0, 50)}`);
    }
  }
});

t.test('detect', async (t) => {
  t.ok(istioTextParser.detect(`${HEAD} 200 -`));
  t.notOk(istioTextParser.detect('[2021-03-12 15:31:30.492][1][warning][main] hi'));
  t.notOk(istioTextParser.detect('{"start_time":"x"}'));
  t.notOk(istioTextParser.detect(''));
});
