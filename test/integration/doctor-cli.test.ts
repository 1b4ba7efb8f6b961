import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import t from 'tap';
import { DoctorReportSchema } from '../../schemas/coverage-api.js';
import { doctorCommand, parseDoctorArgs, DEFAULT_DOCTOR_SAMPLE } from '../../src/cli/doctor.command.js';
import { root } from '../helpers/cli.js';

// Default Istio TEXT lines (an outbound and an inbound side of one call), written for this test.
const OUT = '[2026-03-01T10:00:00.000Z] "GET /a HTTP/1.1" 200 - via_upstream - "-" 0 5 3 2 "-" "curl/8.0" "rid-1" "cart.shop:8080" "10.1.0.7:8080" outbound|8080||cart.shop.svc.cluster.local 10.1.0.5:41234 10.96.0.10:8080 10.1.0.5:50000 - default';
const IN = '[2026-03-01T10:00:00.001Z] "GET /a HTTP/1.1" 200 - via_upstream - "-" 0 5 2 1 "-" "curl/8.0" "rid-1" "cart.shop:8080" "10.1.0.7:8080" inbound|8080|| 127.0.0.6:51111 10.1.0.7:8080 10.1.0.5:41234 outbound_.8080_._.cart.shop.svc.cluster.local default';
// The same call, logged by a CRI runtime (the envelope is removed before parsing).
const CRI_IN = `2026-03-01T10:00:00.002000000Z stdout F ${IN}`;

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write(chunk, _enc, cb) { text += chunk.toString(); cb(); } }), text: () => text };
}

t.test('doctor on a file: human report with score, cannot-prove statements and the snippet', async (t) => {
  const dir = t.testdir({ 'access.log': [OUT, IN, '', CRI_IN, 'not a log line'].join('\n') + '\n' });
  const out = sink();
  const report = await doctorCommand({ input: path.join(dir, 'access.log'), out: out.stream });
  t.equal(report.sample.lines, 4);
  t.equal(report.sample.flows, 3);
  t.equal(report.sample.failed, 1);
  const text = out.text();
  t.match(text, /meshtrail doctor: 4 lines sampled, 3 understood, 1 not understood/);
  t.match(text, /== sidecar inbound \(server side\): 2 flows, score \d+\/100/);
  t.match(text, /== sidecar outbound \(client side\): 1 flows/);
  t.match(text, /outbound sidecar lines carry no upstream peer identity/);
  t.match(text, /envoyFileAccessLog:/);
  t.match(text, /upstream_peer_uri_san: "%UPSTREAM_PEER_URI_SAN%"/);
  t.match(text, /kind: Telemetry/);
});

t.test('doctor on stdin with --json: a schema-valid report', async (t) => {
  const out = sink();
  const stdin = Readable.from([Buffer.from(`${OUT}\n${IN.slice(0, 40)}`), Buffer.from(`${IN.slice(40)}\n`)]);
  const report = await doctorCommand({ input: '-', json: true, stdin, out: out.stream });
  const parsed = DoctorReportSchema.parse(JSON.parse(out.text()));
  t.same(parsed, report, 'what is printed is what is returned');
  t.equal(parsed.sample.flows, 2, 'a line split across chunks is read whole');
  t.same(parsed.groups.map((g) => g.group), ['sidecar_inbound', 'sidecar_outbound']);
  t.ok(parsed.groups.every((g) => g.cannot_prove.length > 0));
});

t.test('--sample stops after N non-blank lines', async (t) => {
  const lines = Array.from({ length: 50 }, (_, i) => (i % 2 ? IN : OUT));
  const dir = t.testdir({ 'big.log': lines.join('\n\n') + '\n' });
  const report = await doctorCommand({ input: path.join(dir, 'big.log'), sample: 7, out: sink().stream });
  t.equal(report.sample.lines, 7);
  t.equal(report.sample.flows, 7);
});

t.test('--format-template: a custom TEXT format carrying identities gives full coverage', async (t) => {
  const format = '%START_TIME% %REQ(X-REQUEST-ID)% %UPSTREAM_CLUSTER% %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %REQUESTED_SERVER_NAME% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_PEER_FINGERPRINT_256%';
  const line = '2026-03-01T10:00:00.000Z r-1 inbound|8080|| 10.1.0.5:41234 10.1.0.7:8080 outbound_.8080_._.cart.shop.svc.cluster.local spiffe://cluster.local/ns/web/sa/frontend spiffe://cluster.local/ns/shop/sa/cart TLSv1.3 TLS_AES_128_GCM_SHA256 abcdef';
  const dir = t.testdir({ 'format.txt': `${format}\n`, 'a.log': `${line}\n` });
  const report = await doctorCommand({ input: path.join(dir, 'a.log'), formatTemplate: path.join(dir, 'format.txt'), json: true, out: sink().stream });
  const g = report.groups[0]!;
  t.equal(g.group, 'sidecar_inbound');
  t.equal(g.score, 100);
  t.same(g.formats, [{ format: 'istio-template', flows: 1 }]);
  t.same(g.mtls, { true: 1, false: 0, unknown: 0 });
  t.equal(g.evidence[0]!.kind, 'peer_uri_san');
});

t.test('argument parsing', async (t) => {
  t.same(parseDoctorArgs(['--format-template', 'f.txt', '--sample', '20', '--json', 'x.log']),
    { input: 'x.log', formatTemplate: 'f.txt', sample: 20, json: true, snippet: undefined });
  t.same(parseDoctorArgs([]), { input: undefined, formatTemplate: undefined, sample: undefined, json: false, snippet: undefined });
  t.equal(parseDoctorArgs(['--snippet', 'text', '-']).snippet, 'text');
  for (const bad of [['--sample', '0'], ['--sample', 'ten'], ['--sample', '1.5'], ['--snippet', 'yaml'], ['--nope'], ['a', 'b']]) {
    t.throws(() => parseDoctorArgs(bad), { code: 'ERR_USAGE' }, bad.join(' '));
  }
  t.equal(DEFAULT_DOCTOR_SAMPLE, 10_000);
  await t.rejects(doctorCommand({ input: '/nonexistent/meshtrail-doctor.log', out: sink().stream }), { code: 'ERR_INPUT_NOT_FOUND' });
});

t.test('the built command reads a real process stdin', async (t) => {
  // dist/ is built by `npm test`'s pretest, like the other CLI tests.
  const built = path.join(root, 'dist', 'src', 'cli', 'doctor.command.js');
  t.ok(fs.existsSync(built), `built module at ${built}`);
  const script = `import(${JSON.stringify(built)}).then((m) => m.doctorCommand(m.parseDoctorArgs(process.argv.slice(1))))`;
  const r = spawnSync(process.execPath, ['-e', script, '--', '--json', '-'], { input: `${OUT}\n${IN}\n`, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
  t.equal(report.sample.flows, 2);
});
