import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import express from 'express';
import t from 'tap';
import { CoverageResponseSchema } from '../../schemas/coverage-api.js';
import { createApp } from '../../src/api/app.js';
import { coverageRouter, coverageRoutes } from '../../src/api/coverage.routes.js';
import { errorHandler } from '../../src/api/error-handler.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { COVERAGE_SQL, queryCoverage } from '../../src/store/coverage.query.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

const CLIENT = 'spiffe://cluster.local/ns/web/sa/frontend';
const SERVER = 'spiffe://cluster.local/ns/shop/sa/cart';

const text = (ts: string, rid: string, cluster: string, sni: string, remote: string) =>
  `[${ts}] "GET /a HTTP/1.1" 200 - via_upstream - "-" 0 5 3 2 "-" "curl/8.0" "${rid}" "cart.shop:8080" "10.1.0.7:8080" ${cluster} 10.1.0.5:41234 10.1.0.7:8080 ${remote} ${sni} default`;
const json = (ts: string, inbound: boolean) => JSON.stringify({
  start_time: ts, method: 'GET', path: '/a', protocol: 'HTTP/1.1', response_code: 200, request_id: `j-${ts}`,
  upstream_cluster: inbound ? 'inbound|8080||' : 'outbound|8080||cart.shop.svc.cluster.local', upstream_host: '10.1.0.7:8080',
  downstream_remote_address: '10.1.0.5:41234', downstream_local_address: '10.1.0.7:8080',
  ...(inbound
    ? { downstream_peer_uri_san: CLIENT, downstream_local_uri_san: SERVER, downstream_tls_version: 'TLSv1.3' }
    : { upstream_peer_uri_san: SERVER, upstream_local_uri_san: CLIENT, upstream_tls_version: 'TLSv1.3' }),
});
const ZT = `2026-03-01T10:05:00.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.1.0.5:50000 src.identity="${CLIENT}" dst.addr=10.1.0.7:15008 dst.hbone_addr=10.1.0.7:8080 dst.identity="${SERVER}" direction="inbound" bytes_sent=1 bytes_recv=1 duration="1ms"`;

const lines = [
  text('2026-03-01T10:00:00.000Z', 'r1', 'inbound|8080||', 'outbound_.8080_._.cart.shop.svc.cluster.local', '10.1.0.5:41234'),
  text('2026-03-01T10:00:01.000Z', 'r2', 'inbound|8080||', '-', '10.1.0.9:40000'),
  text('2026-03-01T10:00:02.000Z', 'r3', 'outbound|8080||cart.shop.svc.cluster.local', '-', '10.1.0.5:50000'),
  json('2026-03-01T10:01:00.000Z', true),
  json('2026-03-01T10:01:01.000Z', false),
  ZT,
];

const dir = t.testdir({});
const db = openDatabase(path.join(dir, 'coverage.db'));
const store = new Store(db);
await ingestStream(store, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { format: 'auto', label: 'test' });

const app = createApp({ store, logError: () => {}, extraRoutes: coverageRoutes(store) });
const server = http.createServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
t.teardown(() => { server.close(); db.close(); });

const get = async (p: string, at = base) => {
  const res = await fetch(at + p);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> };
};

t.test('GET /api/v1/coverage: per group verdicts, evidence, principals and formats', async (t) => {
  const r = await get('/api/v1/coverage');
  t.equal(r.status, 200);
  const body = CoverageResponseSchema.parse(r.body);
  t.equal(body.flows, 6);
  t.equal(body.from, null);
  const g = (name: string) => body.groups.find((x) => x.group === name)!;
  t.same(body.groups.map((x) => x.group), ['sidecar_inbound', 'sidecar_outbound', 'ztunnel']);
  const inbound = g('sidecar_inbound');
  t.equal(inbound.flows, 3);
  t.same(inbound.mtls, { true: 2, false: 1, unknown: 0 });
  t.same(inbound.evidence.map((e) => `${e.kind}:${e.flows}`).sort(), ['heuristic_istio_sni:1', 'no_sni_plaintext:1', 'peer_uri_san:1']);
  t.equal(inbound.with_source_principal, 1);
  t.equal(inbound.source_principal_share, 1 / 3);
  t.same(inbound.formats.map((f) => f.format).sort(), ['istio-json', 'istio-text-1.9']);
  const outbound = g('sidecar_outbound');
  t.same(outbound.mtls, { true: 1, false: 0, unknown: 1 });
  t.equal(outbound.with_destination_principal, 1);
  t.same(g('ztunnel').evidence, [{ kind: 'ztunnel_identity', mtls: true, flows: 1 }]);
});

t.test('from/to select a window', async (t) => {
  const r = await get('/api/v1/coverage?from=2026-03-01T10:01:00Z&to=2026-03-01T10:02:00Z');
  t.equal(r.status, 200);
  t.equal(r.body.flows, 2, 'only the JSON lines');
  t.equal(r.body.from, '2026-03-01T10:01:00.000Z');
  t.ok(r.body.groups.every((x: any) => x.evidence.every((e: any) => e.kind === 'peer_uri_san')));
  const empty = await get('/api/v1/coverage?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
  t.same(empty.body.groups, []);
  t.equal(empty.body.flows, 0);
});

t.test('bad parameters are 400 problem+json naming the parameter', async (t) => {
  for (const [q, param] of [['from=yesterday', 'from'], ['from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'from'], ['verdict=true', 'verdict'], ['to=1&to=2', 'to']] as const) {
    const r = await get(`/api/v1/coverage?${q}`);
    t.equal(r.status, 400, q);
    t.match(r.type, /application\/problem\+json/);
    t.ok(r.body.errors.some((e: any) => e.parameter === param), `${q} names ${param}`);
  }
  // A value with SQL in it is only ever a bound parameter (and here not even a valid instant).
  t.equal((await get(`/api/v1/coverage?from=${encodeURIComponent("0' OR 1=1 --")}`)).status, 400);
  t.notMatch(COVERAGE_SQL, /'/, 'no literal is spliced into the SQL');
});

t.test('the route is in the OpenAPI document', async (t) => {
  const r = await get('/api/v1/openapi.json');
  t.equal(r.status, 200);
  t.ok(r.body.paths['/api/v1/coverage']?.get, 'documented');
});

t.test('coverageRouter serves the same answer on a plain express app', async (t) => {
  const plain = express();
  plain.set('query parser', 'simple');
  plain.use(coverageRouter(store));
  plain.use(errorHandler(() => {}));
  const s = http.createServer(plain);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => s.close());
  const at = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  const r = await get('/api/v1/coverage?to=2026-03-01T10:01:00Z', at);
  t.equal(r.status, 200);
  t.same(r.body, JSON.parse(JSON.stringify(queryCoverage(store, { to: Date.parse('2026-03-01T10:01:00Z') }))));
  t.equal(r.body.flows, 3);
  t.equal((await get('/api/v1/coverage?from=nope', at)).status, 400);
});
