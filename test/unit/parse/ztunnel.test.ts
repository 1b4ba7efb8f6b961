import t from 'tap';
import { FlowSchema } from '../../../schemas/flow.js';
import { durationMillis, parseKeyValues, ztunnelPlainParser } from '../../../src/parse/ztunnel.parser.js';
import { ztunnelJsonParser } from '../../../src/parse/ztunnel-json.parser.js';
import { enrichIdentity } from '../../../src/enrich/identity.js';

const FIELDS =
  'src.addr=10.60.2.17:41822 src.workload="billing-worker-5c9f7d-xq2lm" src.namespace="billing" src.identity="spiffe://corp.mesh/ns/billing/sa/worker" ' +
  'dst.addr=10.60.4.9:15008 dst.hbone_addr=10.60.4.9:6379 dst.service="cache.infra.svc.cluster.local" dst.workload="cache-0" dst.namespace="infra" ' +
  'dst.identity="spiffe://corp.mesh/ns/infra/sa/cache" direction="outbound" bytes_sent=1204 bytes_recv=88 duration="42ms"';

const TAB = `2031-07-08T09:10:11.500000Z\tinfo\taccess\tconnection complete\t${FIELDS}`;

t.test('tab-separated plain line: every field lands where documented', async (t) => {
  t.ok(ztunnelPlainParser.detect(TAB));
  const r = ztunnelPlainParser.parse(TAB);
  t.ok(r.ok);
  if (!r.ok) return;
  const f = r.flow;
  t.equal(f.format, 'ztunnel-plain');
  t.equal(f.reporter.kind, 'ztunnel');
  t.equal(f.downstream_remote_address, '10.60.2.17:41822');
  t.equal(f.upstream_host, '10.60.4.9:15008');
  t.equal(f.destination_service, 'cache.infra.svc.cluster.local');
  t.equal(f.destination_port, 6379, 'port from dst.hbone_addr, not the HBONE port');
  t.equal(f.source_workload, 'billing-worker-5c9f7d-xq2lm');
  t.equal(f.destination_workload, 'cache-0');
  t.equal(f.source_namespace, 'billing');
  t.equal(f.source_namespace_from, 'ztunnel src.namespace');
  t.equal(f.source_principal, 'spiffe://corp.mesh/ns/billing/sa/worker');
  t.equal(f.source_principal_from, 'ztunnel src.identity');
  t.equal(f.destination_principal_from, 'ztunnel dst.identity');
  t.equal(f.direction, 'outbound');
  t.equal(f.bytes_sent, 1204);
  t.equal(f.bytes_received, 88);
  t.equal(f.duration, 42);
  t.equal(f.start_time, '2031-07-08T09:10:11.458Z', 'log time minus duration');
  t.same(f.extra, { level: 'info', target: 'access', message: 'connection complete', log_time: '2031-07-08T09:10:11.500000Z', 'dst.hbone_addr': '10.60.4.9:6379' });
  t.ok(FlowSchema.safeParse(f).success);
  const e = enrichIdentity(f);
  t.equal(e.mtls, true);
  t.match(e.mtls_evidence, /ztunnel src\.identity and dst\.identity/);
  t.equal(e.source_service_account, 'worker');
  t.equal(e.destination_namespace, 'infra');
});

t.test('space-separated, tracing default layout and timestamp-less variants parse the same', async (t) => {
  const base = ztunnelPlainParser.parse(TAB);
  const variants = [
    TAB.replaceAll('\t', '    '),
    `2031-07-08T09:10:11.500000Z  INFO access: connection complete ${FIELDS}`,
    `info\taccess\tconnection complete\t${FIELDS}`,
    `connection complete ${FIELDS}`,
    FIELDS,
  ];
  for (const v of variants) {
    t.ok(ztunnelPlainParser.detect(v), v.slice(0, 50));
    const r = ztunnelPlainParser.parse(v);
    t.ok(r.ok, v.slice(0, 50));
    if (!r.ok || !base.ok) continue;
    t.equal(r.flow.source_principal, base.flow.source_principal);
    t.equal(r.flow.duration, 42);
    t.equal(r.flow.destination_port, 6379);
  }
  const spaced = ztunnelPlainParser.parse(variants[1]!);
  t.equal(spaced.ok && spaced.flow.extra.level, 'info', 'level lower-cased');
  t.equal(spaced.ok && spaced.flow.extra.target, 'access', 'trailing colon dropped');
  const bare = ztunnelPlainParser.parse(variants[3]!);
  t.equal(bare.ok && bare.flow.extra.message, 'connection complete');
  t.equal(bare.ok && bare.flow.extra.target, undefined, 'no target invented from the message');
  t.equal(bare.ok && bare.flow.start_time, null, 'no time without a timestamp');
});

t.test('error lines, escapes, bare values and unknown keys', async (t) => {
  const line =
    '2031-07-08T09:10:12.000001Z\terror\taccess\tconnection complete\tsrc.addr=10.60.9.9:5000 src.workload=legacy-batch-1 ' +
    'dst.addr=10.60.4.9:6379 dst.service="cache.infra.svc.cluster.local" direction="inbound" bytes_sent=0 bytes_recv=0 duration="1.5s" ' +
    'error="connection closed due to policy rejection: allow policies exist, but none allowed \\"batch\\" \\\\ path" dst.cluster="east" flow.tag=7';
  const r = ztunnelPlainParser.parse(line);
  t.ok(r.ok);
  if (!r.ok) return;
  const f = r.flow;
  t.equal(f.response_code_details, 'connection closed due to policy rejection: allow policies exist, but none allowed "batch" \\ path');
  t.equal(f.source_workload, 'legacy-batch-1', 'bare Display value');
  t.equal(f.duration, 1500);
  t.equal(f.destination_port, 6379, 'dst.addr port when there is no hbone address and it is not 15008');
  t.equal(f.extra.level, 'error');
  t.equal(f.extra['dst.cluster'], 'east');
  t.equal(f.extra['flow.tag'], '7');
  const e = enrichIdentity(f);
  t.equal(e.mtls, false, 'inbound, no HBONE, no identity: plaintext');
  t.match(e.mtls_evidence, /passthrough/);
});

t.test('connection opened lines and outbound lines without identity are not called plaintext', async (t) => {
  const opened = ztunnelPlainParser.parse('2031-07-08T09:10:12Z\tdebug\taccess\tconnection opened\tsrc.addr=10.0.0.1:1 dst.addr=10.0.0.2:80 direction="inbound"');
  t.ok(opened.ok);
  if (opened.ok) {
    t.equal(opened.flow.duration, null);
    t.equal(opened.flow.start_time, '2031-07-08T09:10:12.000Z');
    t.equal(enrichIdentity(opened.flow).mtls, null);
  }
  const out = ztunnelPlainParser.parse('src.addr=10.0.0.1:1 dst.addr=93.184.215.14:443 direction="outbound" bytes_sent=1 bytes_recv=2 duration="3ms"');
  t.ok(out.ok);
  if (out.ok) t.equal(enrichIdentity(out.flow).mtls, null);
});

t.test('failures: bad numbers, bad durations, unterminated quotes, non-access ztunnel logs', async (t) => {
  const cases: Array<[string, string]> = [
    ['src.addr=1.1.1.1:1 bytes_sent=lots', 'invalid_field'],
    ['src.addr=1.1.1.1:1 duration="forever"', 'invalid_field'],
    ['src.addr=1.1.1.1:1 src.workload="unterminated', 'invalid_field'],
    ['2031-07-08T09:10:12Z\tinfo\txds::client\treceived response\tsize=3', 'not_access_log'],
    ['not-a-time\tinfo\taccess\tconnection complete\tsrc.addr=1.1.1.1:1', 'ok'],
  ];
  for (const [line, reason] of cases) {
    const r = ztunnelPlainParser.parse(line);
    if (reason === 'ok') {
      t.ok(r.ok, 'an unrecognised first word is part of the message, not a time');
      continue;
    }
    t.same(r.ok, false, line);
    if (!r.ok) t.equal(r.reason, reason, line);
  }
  const badTime = ztunnelPlainParser.parse('2031-13-45T99:99:99Z info access connection complete src.addr=1.1.1.1:1');
  t.same(badTime.ok, false, 'a timestamp-shaped but impossible time fails');
});

t.test('detect claims neither Istio TEXT nor JSON lines', async (t) => {
  const istioText = '[2031-07-08T09:10:11.000Z] "GET /src.addr=1 HTTP/1.1" 200 - via_upstream - "-" 0 2 3 2 "-" "curl/8" "id" "a" "10.0.0.1:80" outbound|80||a.b.svc.cluster.local 10.0.0.2:1 10.0.0.3:80 10.0.0.2:2 - default';
  const istioJson = '{"start_time":"2031-07-08T09:10:11.000Z","response_code":200,"path":"/?src.addr=1"}';
  for (const l of [istioText, istioJson]) {
    t.notOk(ztunnelPlainParser.detect(l), l.slice(0, 30));
    t.notOk(ztunnelJsonParser.detect(l), l.slice(0, 30));
  }
});

t.test('JSON layout: flattened dotted keys, numbers, and the same mapping', async (t) => {
  const line = JSON.stringify({
    level: 'info', time: '2031-07-08T09:10:11.500000Z', scope: 'access', message: 'connection complete',
    'src.addr': '10.60.2.17:41822', 'src.workload': 'billing-worker', 'src.namespace': 'billing', 'src.identity': 'spiffe://corp.mesh/ns/billing/sa/worker',
    'dst.addr': '10.60.4.9:15008', 'dst.hbone_addr': '10.60.4.9:6379', 'dst.service': 'cache.infra.svc.cluster.local',
    direction: 'outbound', bytes_sent: 1204, bytes_recv: 88, duration: '42ms',
  });
  t.ok(ztunnelJsonParser.detect(line));
  t.notOk(ztunnelPlainParser.detect(line));
  const r = ztunnelJsonParser.parse(line);
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.flow.format, 'ztunnel-json');
  t.equal(r.flow.bytes_sent, 1204);
  t.equal(r.flow.duration, 42);
  t.equal(r.flow.destination_port, 6379);
  t.equal(r.flow.source_principal_from, 'ztunnel src.identity');
  t.equal(r.flow.extra.target, 'access');
  t.equal(r.flow.start_time, '2031-07-08T09:10:11.458Z');
  t.ok(FlowSchema.safeParse(r.flow).success);
  t.equal(enrichIdentity(r.flow).mtls, true);

  const tracing = ztunnelJsonParser.parse(JSON.stringify({ timestamp: '2031-07-08T09:10:11Z', level: 'INFO', target: 'access', fields: { message: 'connection complete', 'src.addr': '10.0.0.1:1', 'dst.addr': '10.0.0.2:80' } }));
  t.ok(tracing.ok);
  if (tracing.ok) {
    t.equal(tracing.flow.extra.message, 'connection complete');
    t.equal(tracing.flow.downstream_remote_address, '10.0.0.1:1');
    t.equal(tracing.flow.extra.level, 'info');
  }
  const broken = ztunnelJsonParser.parse('{"src.addr": ');
  t.same(broken.ok, false);
});

t.test('helpers: Rust Debug strings and durations', async (t) => {
  t.same([...parseKeyValues('a="x \\"y\\" \\u{e9}\\n" b=2 c=')!], [['a', 'x "y" é\n'], ['b', '2'], ['c', '']]);
  t.equal(durationMillis('13ms'), 13);
  t.equal(durationMillis('250µs'), 0.25);
  t.equal(durationMillis('250us'), 0.25);
  t.equal(durationMillis('2s'), 2000);
  t.equal(durationMillis('7'), 7);
  t.equal(durationMillis('-3ms'), null);
  t.equal(durationMillis('soon'), null);
});
