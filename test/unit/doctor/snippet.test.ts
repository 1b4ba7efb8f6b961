import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseAllDocuments } from 'yaml';
import { emptyFlow, type Flow } from '../../../schemas/flow.js';
import { loadFormatTemplate } from '../../../src/cli/doctor.command.js';
import { CoverageAnalyzer } from '../../../src/doctor/coverage.js';
import { IDENTITY_SNIPPET_OPERATORS, renderLabelsLine, snippetYaml } from '../../../src/doctor/snippet.js';
import { processLine } from '../../../src/pipeline/process-line.js';
import { renderTemplate } from '../../../src/parse/template/index.js';

const CLIENT = 'spiffe://cluster.local/ns/web/sa/frontend';
const SERVER = 'spiffe://cluster.local/ns/shop/sa/cart';
const CIPHER = 'TLS_AES_128_GCM_SHA256';

/** One request as its two proxies would log it with every identity operator set. */
function flows(): { inbound: Flow; outbound: Flow } {
  const common = (): Flow => ({
    ...emptyFlow('test'),
    start_time: '2026-03-01T10:00:00.000Z', method: 'POST', path: '/cart/items?id=7', protocol: 'HTTP/1.1', response_code: 201,
    response_code_details: 'via_upstream', bytes_received: 31, bytes_sent: 512, duration: 12, upstream_service_time: 10,
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted"', request_id: '3b1c6e0a-aa', authority: 'cart.shop:8080',
  });
  const inbound: Flow = {
    ...common(), upstream_host: '10.1.0.7:8080', upstream_cluster: 'inbound|8080||', upstream_local_address: '127.0.0.6:51111',
    downstream_local_address: '10.1.0.7:8080', downstream_remote_address: '10.1.0.5:41234',
    requested_server_name: 'outbound_.8080_._.cart.shop.svc.cluster.local', route_name: 'default',
    extra: {
      downstream_peer_uri_san: CLIENT, downstream_local_uri_san: SERVER, upstream_peer_uri_san: '-', upstream_local_uri_san: '-',
      downstream_tls_version: 'TLSv1.3', downstream_tls_cipher: CIPHER, upstream_tls_version: '-', upstream_tls_cipher: '-',
      downstream_peer_fingerprint_256: 'ab'.repeat(32), downstream_peer_subject: '-', upstream_peer_subject: '-', upstream_local_subject: '-',
    },
  };
  const outbound: Flow = {
    ...common(), upstream_host: '10.1.0.7:8080', upstream_cluster: 'outbound|8080||cart.shop.svc.cluster.local',
    upstream_local_address: '10.1.0.5:41234', downstream_local_address: '10.96.0.10:8080', downstream_remote_address: '10.1.0.5:50000',
    route_name: 'cart.shop.svc.cluster.local:8080/*',
    extra: {
      downstream_peer_uri_san: '-', downstream_local_uri_san: '-', upstream_peer_uri_san: SERVER, upstream_local_uri_san: CLIENT,
      downstream_tls_version: '-', downstream_tls_cipher: '-', upstream_tls_version: 'TLSv1.3', upstream_tls_cipher: CIPHER,
      downstream_peer_fingerprint_256: '-', downstream_peer_subject: '-', upstream_peer_subject: 'O=Example Corp, CN=cart', upstream_local_subject: '-',
    },
  };
  return { inbound, outbound };
}

/** The provider's logFormat from the emitted YAML, read back with a real YAML parser. */
function logFormat(t: Test, yaml: string): { labels?: Record<string, string>; text?: string } {
  const docs = parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, any>);
  t.equal(docs.length, 2, 'two documents: meshConfig and Telemetry');
  const provider = docs[0]!.meshConfig.extensionProviders[0];
  const telemetry = docs[1]!;
  t.equal(telemetry.apiVersion, 'telemetry.istio.io/v1');
  t.equal(telemetry.kind, 'Telemetry');
  t.equal(telemetry.spec.accessLogging[0].providers[0].name, provider.name, 'the Telemetry resource enables the provider');
  t.equal(provider.envoyFileAccessLog.path, '/dev/stdout');
  return provider.envoyFileAccessLog.logFormat;
}

function checkParsed(t: Test, line: string, parsers?: Parameters<typeof processLine>[1]['parsers']) {
  const o = processLine(line, { format: 'auto', parsers });
  t.ok(o.ok, `parsed: ${o.ok ? '' : o.detail}`);
  if (!o.ok) return;
  t.equal(o.flow.source_principal, CLIENT);
  t.equal(o.flow.destination_principal, SERVER);
  t.equal(o.flow.mtls, true);
  t.equal(o.flow.tls_version, 'TLSv1.3');
  t.equal(o.flow.tls_cipher, CIPHER);
  t.equal(o.flow.user_agent, 'Mozilla/5.0 (X11; Linux x86_64) "quoted"');
}

t.test('labels snippet round trip: --format auto understands the lines with full coverage', async (t) => {
  const labels = logFormat(t, snippetYaml({ kind: 'labels' })).labels!;
  t.ok(labels, 'a labels map');
  for (const op of IDENTITY_SNIPPET_OPERATORS) t.equal(labels[op.toLowerCase()], `%${op}%`, `${op} keyed by its lower-snake name`);
  t.equal(labels.request_id, '%REQ(X-REQUEST-ID)%', 'default fields kept');
  const { inbound, outbound } = flows();
  const lines = [renderLabelsLine(labels, inbound), renderLabelsLine(labels, outbound)];
  for (const line of lines) checkParsed(t, line);
  const a = new CoverageAnalyzer();
  for (const line of lines) a.addLine(line);
  const r = a.report();
  t.same(r.groups.map((g) => [g.group, g.score]), [['sidecar_inbound', 100], ['sidecar_outbound', 100]]);
  t.equal(r.score, 100);
  t.same(r.snippet.added_operators, []);
  t.ok(r.groups.every((g) => g.evidence.every((e) => e.kind === 'peer_uri_san')));
});

t.test('text snippet round trip: the same string as --format-template gives full coverage', async (t) => {
  const text = logFormat(t, snippetYaml({ kind: 'text' })).text!;
  t.ok(text.endsWith('\n'), 'Envoy TEXT formats end in a newline');
  t.ok(text.startsWith('[%START_TIME%] "%REQ(:METHOD)%'), 'starts with Istio\'s default TEXT format');
  const dir = t.testdir({ 'format.txt': text });
  const template = loadFormatTemplate(path.join(dir, 'format.txt'));
  const { inbound, outbound } = flows();
  const format = text.replace(/\n$/, '');
  const lines = [renderTemplate(format, inbound), renderTemplate(format, outbound)];
  for (const line of lines) checkParsed(t, line, [template]);
  const out = processLine(lines[1]!, { format: 'auto', parsers: [template] });
  t.equal(out.ok ? out.flow.extra.upstream_peer_subject : null, 'O=Example Corp, CN=cart', 'a subject with spaces survives (quoted in the format)');
  const a = new CoverageAnalyzer({ template, snippet: 'text' });
  for (const line of lines) a.addLine(line);
  const r = a.report();
  t.same(r.groups.map((g) => [g.group, g.score]), [['sidecar_inbound', 100], ['sidecar_outbound', 100]]);
  t.equal(r.snippet.kind, 'text');
  t.match(r.snippet.note, /--format-template/);
});

t.test('a labels map given as --format-template is read as JSON', async (t) => {
  const dir = t.testdir({ 'labels.json': JSON.stringify({ when: '%START_TIME%', code: '%RESPONSE_CODE%', rid: '%REQ(X-REQUEST-ID)%', cluster: '%UPSTREAM_CLUSTER%', who: '%DOWNSTREAM_PEER_URI_SAN%' }) });
  const parser = loadFormatTemplate(path.join(dir, 'labels.json'));
  t.equal(parser.name, 'istio-labels');
  t.ok(parser.carries('DOWNSTREAM_PEER_URI_SAN'));
  const a = new CoverageAnalyzer({ template: parser });
  a.addLine(JSON.stringify({ when: '2026-03-01T10:00:00.000Z', code: 200, rid: 'r', cluster: 'inbound|8080||', who: CLIENT }));
  const g = a.report().groups[0]!;
  t.equal(g.group, 'sidecar_inbound');
  t.equal(g.facts.find((f) => f.id === 'source_principal')!.carried, true);
  t.equal(g.facts.find((f) => f.id === 'tls_version')!.carried, false);
  t.equal(g.source_principal_share, 1);
});

t.test('bad --format-template files fail with context', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"a": 1}', 'broken.json': '{"a": ', 'adjacent.txt': '%START_TIME%%RESPONSE_CODE%' });
  t.throws(() => loadFormatTemplate(path.join(dir, 'bad.json')), { code: 'ERR_CONFIG_INVALID' });
  t.throws(() => loadFormatTemplate(path.join(dir, 'broken.json')), { code: 'ERR_CONFIG_INVALID' });
  t.throws(() => loadFormatTemplate(path.join(dir, 'adjacent.txt')), { code: 'ERR_CONFIG_INVALID' });
  t.throws(() => loadFormatTemplate(path.join(dir, 'missing.txt')), { code: 'ERR_INPUT_NOT_FOUND' });
  t.ok(fs.existsSync(dir));
});
