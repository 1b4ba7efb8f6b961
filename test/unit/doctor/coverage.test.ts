import t from 'tap';
import { DoctorReportSchema, type DoctorReport } from '../../../schemas/coverage-api.js';
import { CoverageAnalyzer } from '../../../src/doctor/coverage.js';
import { evidenceKind, groupOf } from '../../../src/doctor/facts.js';
import { renderDoctorText } from '../../../src/doctor/render.js';
import { processLine } from '../../../src/pipeline/process-line.js';

// Istio's default TEXT format (1.24+): a caller's outbound line and the server's inbound line.
const TEXT_OUTBOUND = '[2026-03-01T10:00:00.000Z] "GET /api/items HTTP/1.1" 200 - via_upstream - "-" 0 512 12 10 "-" "curl/8.0" "rid-1" "cart.shop:8080" "10.1.0.7:8080" outbound|8080||cart.shop.svc.cluster.local 10.1.0.5:41234 10.96.0.10:8080 10.1.0.5:50000 - default';
const TEXT_INBOUND = '[2026-03-01T10:00:00.002Z] "GET /api/items HTTP/1.1" 200 - via_upstream - "-" 0 512 9 8 "-" "curl/8.0" "rid-1" "cart.shop:8080" "10.1.0.7:8080" inbound|8080|| 127.0.0.6:51111 10.1.0.7:8080 10.1.0.5:41234 outbound_.8080_._.cart.shop.svc.cluster.local default';
const TEXT_INBOUND_PLAIN = '[2026-03-01T10:00:01.000Z] "GET /health HTTP/1.1" 200 - via_upstream - "-" 0 2 1 1 "-" "kube-probe" "rid-2" "cart.shop:8080" "10.1.0.7:8080" inbound|8080|| 127.0.0.6:51112 10.1.0.7:8080 10.1.0.9:40000 - default';

const CLIENT = 'spiffe://cluster.local/ns/web/sa/frontend';
const SERVER = 'spiffe://cluster.local/ns/shop/sa/cart';

/** A JSON line with Istio's default keys plus identity operators named by the lower-snake convention. */
function jsonLine(direction: 'inbound' | 'outbound', extra: Record<string, unknown> = {}): string {
  const base: Record<string, unknown> = {
    start_time: '2026-03-01T10:00:00.000Z', method: 'GET', path: '/api/items', protocol: 'HTTP/1.1', response_code: 200,
    response_flags: '-', response_code_details: 'via_upstream', connection_termination_details: null,
    upstream_transport_failure_reason: null, bytes_received: 0, bytes_sent: 512, duration: 12, upstream_service_time: '10',
    x_forwarded_for: null, user_agent: 'curl/8.0', request_id: 'rid-9', authority: 'cart.shop:8080', upstream_host: '10.1.0.7:8080',
    upstream_cluster: direction === 'inbound' ? 'inbound|8080||' : 'outbound|8080||cart.shop.svc.cluster.local',
    upstream_local_address: direction === 'inbound' ? '127.0.0.6:51111' : '10.1.0.5:41234',
    downstream_local_address: direction === 'inbound' ? '10.1.0.7:8080' : '10.96.0.10:8080',
    downstream_remote_address: direction === 'inbound' ? '10.1.0.5:41234' : '10.1.0.5:50000',
    requested_server_name: direction === 'inbound' ? 'outbound_.8080_._.cart.shop.svc.cluster.local' : null, route_name: 'default',
    downstream_peer_uri_san: direction === 'inbound' ? CLIENT : null,
    downstream_local_uri_san: direction === 'inbound' ? SERVER : null,
    upstream_peer_uri_san: direction === 'outbound' ? SERVER : null,
    upstream_local_uri_san: direction === 'outbound' ? CLIENT : null,
    downstream_tls_version: direction === 'inbound' ? 'TLSv1.3' : null,
    downstream_tls_cipher: direction === 'inbound' ? 'TLS_AES_128_GCM_SHA256' : null,
    upstream_tls_version: direction === 'outbound' ? 'TLSv1.3' : null,
    upstream_tls_cipher: direction === 'outbound' ? 'TLS_AES_128_GCM_SHA256' : null,
    downstream_peer_fingerprint_256: direction === 'inbound' ? 'ab'.repeat(32) : null,
    downstream_peer_subject: null,
    upstream_peer_subject: null,
    upstream_local_subject: null,
  };
  return JSON.stringify({ ...base, ...extra });
}

function analyse(lines: string[]): DoctorReport {
  const a = new CoverageAnalyzer();
  for (const l of lines) a.addLine(l);
  const report = a.report();
  DoctorReportSchema.parse(report);
  return report;
}

const group = (r: DoctorReport, g: string) => {
  const found = r.groups.find((x) => x.group === g);
  if (!found) throw new Error(`no group ${g} in ${r.groups.map((x) => x.group).join(',')}`);
  return found;
};

t.test('default TEXT format: low coverage, the right cannot-prove statements and verdicts', async (t) => {
  const r = analyse([TEXT_OUTBOUND, TEXT_INBOUND, TEXT_INBOUND_PLAIN, '']);
  t.equal(r.sample.lines, 3, 'blank lines are not counted');
  t.equal(r.sample.flows, 3);
  t.equal(r.sample.failed, 0);
  const inbound = group(r, 'sidecar_inbound');
  const outbound = group(r, 'sidecar_outbound');
  t.equal(inbound.flows, 2);
  t.equal(outbound.flows, 1);
  t.ok(inbound.score < 40, `inbound score ${inbound.score} is low`);
  t.ok(outbound.score < 40, `outbound score ${outbound.score} is low`);
  t.ok(r.score < 40);
  const fact = (g: typeof inbound, id: string) => g.facts.find((f) => f.id === id)!;
  t.equal(fact(inbound, 'source_principal').carried, false);
  t.equal(fact(inbound, 'sni').carried, true, 'the default format carries SNI');
  t.equal(fact(inbound, 'request_id').carried, true);
  t.equal(fact(outbound, 'destination_principal').carried, false);
  t.equal(fact(outbound, 'tls_version').carried, false);
  t.ok(outbound.cannot_prove.some((s) => s.startsWith('outbound sidecar lines carry no upstream peer identity') && s.includes('whether the server was authenticated, cannot be proven')));
  t.ok(outbound.cannot_prove.some((s) => s.includes('%UPSTREAM_TLS_VERSION%')));
  t.ok(inbound.cannot_prove.some((s) => s.startsWith('inbound sidecar lines carry no caller identity')));
  t.notOk(inbound.cannot_prove.some((s) => s.includes('no x-request-id')), 'request id is carried, so no statement about it');
  // Verdicts: the Istio SNI heuristic (true), no SNI from a pod address (false), outbound unknown.
  t.same(inbound.mtls, { true: 1, false: 1, unknown: 0 });
  t.same(inbound.evidence.map((e) => e.kind).sort(), ['heuristic_istio_sni', 'no_sni_plaintext']);
  t.same(outbound.mtls, { true: 0, false: 0, unknown: 1 });
  t.equal(outbound.evidence[0]!.kind, 'not_provable');
  t.equal(inbound.source_principal_share, 0);
  t.same(inbound.formats, [{ format: 'istio-text-1.9', flows: 2 }]);
  t.ok(inbound.cannot_prove.some((s) => s.includes('rest on a heuristic')));
  t.same(r.snippet.added_operators.slice(0, 3), ['DOWNSTREAM_PEER_URI_SAN', 'DOWNSTREAM_LOCAL_URI_SAN', 'UPSTREAM_PEER_URI_SAN']);
  t.match(r.snippet.yaml, /downstream_peer_uri_san: "%DOWNSTREAM_PEER_URI_SAN%"/);
  t.match(r.snippet.yaml, /kind: Telemetry/);
});

t.test('JSON with identity operators: full coverage, verdicts on certificates', async (t) => {
  const r = analyse([jsonLine('inbound'), jsonLine('outbound')]);
  const inbound = group(r, 'sidecar_inbound');
  const outbound = group(r, 'sidecar_outbound');
  t.equal(inbound.score, 100);
  t.equal(outbound.score, 100);
  t.equal(r.score, 100);
  t.same(inbound.cannot_prove, [], 'nothing unprovable on the server side');
  t.same(outbound.cannot_prove, []);
  t.same(inbound.mtls, { true: 1, false: 0, unknown: 0 });
  t.equal(inbound.evidence[0]!.kind, 'peer_uri_san');
  t.equal(outbound.evidence[0]!.kind, 'peer_uri_san');
  t.equal(inbound.source_principal_share, 1);
  t.equal(outbound.destination_principal_share, 1);
  t.same(r.snippet.added_operators, [], 'the lines already carry every snippet operator');
});

t.test('JSON without an identity key loses exactly that fact', async (t) => {
  const line = JSON.parse(jsonLine('outbound')) as Record<string, unknown>;
  delete line.upstream_peer_uri_san;
  const r = analyse([JSON.stringify(line)]);
  const outbound = group(r, 'sidecar_outbound');
  t.equal(outbound.facts.find((f) => f.id === 'destination_principal')!.carried, false);
  t.equal(outbound.score, 70, '(10 - 3) / 10 of the weights');
  t.equal(outbound.cannot_prove.filter((s) => s.includes('%UPSTREAM_PEER_URI_SAN%')).length, 1);
  t.same(r.snippet.added_operators, ['UPSTREAM_PEER_URI_SAN']);
});

t.test('an empty ("-") identity value still counts as carried: the format has the operator', async (t) => {
  const r = analyse([jsonLine('inbound', { downstream_peer_uri_san: null, downstream_tls_version: null, downstream_peer_fingerprint_256: null })]);
  const inbound = group(r, 'sidecar_inbound');
  t.equal(inbound.facts.find((f) => f.id === 'source_principal')!.carried, true);
  t.same(inbound.mtls, { true: 0, false: 1, unknown: 0 }, 'TLS version "-" proves plaintext');
  t.equal(inbound.evidence[0]!.kind, 'tls_version_absent');
});

t.test('ztunnel lines: identities from src/dst.identity, fixed caveats', async (t) => {
  const mtls = `2026-03-01T10:00:00.123456Z\tinfo\taccess\tconnection complete\tsrc.addr=10.1.0.5:50000 src.workload="frontend-1" src.namespace="web" src.identity="${CLIENT}" dst.addr=10.1.0.7:15008 dst.hbone_addr=10.1.0.7:8080 dst.service="cart.shop.svc.cluster.local" dst.workload="cart-1" dst.namespace="shop" dst.identity="${SERVER}" direction="inbound" bytes_sent=512 bytes_recv=100 duration="3ms"`;
  const plain = '2026-03-01T10:00:01.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.9.9.9:1234 dst.addr=10.1.0.7:8080 dst.workload="cart-1" dst.namespace="shop" direction="inbound" bytes_sent=5 bytes_recv=5 duration="1ms"';
  const r = analyse([mtls, plain]);
  const z = group(r, 'ztunnel');
  t.equal(z.flows, 2);
  t.equal(z.score, 100, 'every ztunnel fact appeared in at least one line');
  t.equal(z.facts.find((f) => f.id === 'source_principal')!.share, 0.5);
  t.same(z.mtls, { true: 1, false: 1, unknown: 0 });
  t.same(z.evidence.map((e) => e.kind).sort(), ['ztunnel_identity', 'ztunnel_passthrough']);
  t.ok(z.cannot_prove.some((s) => s.includes('do not log the TLS version')));
  t.ok(z.cannot_prove.some((s) => s.includes('not HTTP requests')));

  const noId = analyse([plain]);
  const z2 = group(noId, 'ztunnel');
  t.equal(z2.score, 0);
  t.ok(z2.cannot_prove.some((s) => s.includes('carried src.identity')));
});

t.test('failures are counted by reason and printed without control characters', async (t) => {
  const a = new CoverageAnalyzer();
  a.addLine('\u001b]0;pwned\u0007 not a log line');
  a.addLine(TEXT_INBOUND);
  const r = a.report();
  t.equal(r.sample.failed, 1);
  t.equal(r.sample.failures[0]!.reason, 'unrecognised_format');
  const text = renderDoctorText(r);
  t.notOk(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text), 'no raw control characters reach the terminal');
  t.match(text, /\\x1b\]0;pwned\\x07/);
  t.match(text, /Overall identity\/TLS coverage score: \d+\/100/);
  t.match(text, /coverage score \(0-100\) of a reporter kind = 100 x/);
  t.match(text, /what meshtrail cannot prove with this format:/);
});

t.test('no understood line: score 0 and a hint', async (t) => {
  const r = analyse(['garbage']);
  t.equal(r.score, 0);
  t.same(r.groups, []);
  t.match(renderDoctorText(r), /No line of the sample was understood/);
});

t.test('grouping and evidence classification', async (t) => {
  const flow = (line: string) => {
    const o = processLine(line, { format: 'auto' });
    if (!o.ok) throw new Error(o.detail);
    return o.flow;
  };
  t.equal(groupOf(flow(TEXT_INBOUND)), 'sidecar_inbound');
  t.equal(groupOf(flow(TEXT_OUTBOUND)), 'sidecar_outbound');
  const gw = flow(TEXT_OUTBOUND.replace(' - default', ' outbound_.443_._.istio-ingressgateway.istio-system.svc.cluster.local default'));
  t.equal(groupOf(gw), 'gateway');
  t.equal(evidenceKind(null, null), 'none');
  t.equal(evidenceKind('upstream_local_subject: a client certificate was presented on the upstream connection', true), 'client_certificate');
  t.equal(evidenceKind('downstream_tls_version TLSv1.2 but downstream_peer_subject is "-": one-way TLS, no client certificate', false), 'one_way_tls');
  t.equal(evidenceKind('heuristic: downstream_tls_version TLSv1.3 on a sidecar inbound listener; ...', true), 'heuristic_tls_listener');
  t.equal(evidenceKind('upstream_tls_version TLSv1.3: TLS, but the line does not show a peer certificate, so mutual authentication is not proven', null), 'tls_without_peer_certificate');
  t.equal(evidenceKind('something new', true), 'other');
});
