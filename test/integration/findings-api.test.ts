/**
 * The findings and replay routes over real HTTP: mounted through createApp's extraRoutes (as the
 * lead wires them) and on a bare express app (the exported Routers).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import express from 'express';
import t from 'tap';
import { createApp } from '../../src/api/app.js';
import { authenticate, hashToken } from '../../src/api/auth.js';
import { errorHandler } from '../../src/api/error-handler.js';
import { findingsRouter, findingsRoutes } from '../../src/api/findings.routes.js';
import { policyRouter, policyRoutes } from '../../src/api/policy.routes.js';
import { registerDetectors } from '../../src/detect/registry.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateScenario } from '../../src/sample/scenario.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import type { Finding } from '../../schemas/finding.js';

async function listen(app: express.Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; type: string; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : null };
}
const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('findings and replay API', async (t) => {
  const scenario = generateScenario();
  const dir = t.testdir({ policies: scenario.policyFiles, candidate: scenario.replay.candidateFiles });
  const db = openDatabase(path.join(dir, 'api.db'));
  const store = new Store(db);
  const handle = registerDetectors(store, { config: { ...scenario.config, policies_dir: path.join(dir, 'policies') } });
  await ingestStream(store, Readable.from([`${scenario.lines.join('\n')}\n`]), { format: 'auto', label: 'scenario' });
  const app = createApp({ store, extraRoutes: [...findingsRoutes(store), ...policyRoutes(store, { replayPoliciesDir: path.join(dir, 'candidate') })] });
  const srv = await listen(app);
  t.teardown(async () => { await srv.close(); db.close(); });
  const api = `${srv.url}/api/v1`;

  // List, filters, pagination.
  const all = await call(`${api}/findings?limit=1000`);
  t.equal(all.status, 200);
  t.equal(all.body.items.length, scenario.incidents.length);
  t.equal(all.body.next_cursor, null);
  const lastSeen = all.body.items.map((f: Finding) => f.last_seen);
  t.same(lastSeen, [...lastSeen].sort().reverse(), 'most recently seen first');
  const egress = await call(`${api}/findings?detector=denied-egress`);
  t.equal(egress.body.items.length, 3);
  t.ok(egress.body.items.every((f: Finding) => f.detector === 'denied-egress'));
  t.equal((await call(`${api}/findings?severity=critical`)).body.items.length, 1);
  const byPrincipal = await call(`${api}/findings?source_principal=${encodeURIComponent('spiffe://cluster.local/ns/shop/sa/catalog')}`);
  t.equal(byPrincipal.body.items.length, 1);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { items: Finding[]; next_cursor: string | null } } = await call(`${api}/findings?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
    t.ok(page.body.items.length <= 4);
    seen.push(...page.body.items.map((f) => f.id));
    cursor = page.body.next_cursor;
  } while (cursor !== null);
  t.same(seen, all.body.items.map((f: Finding) => f.id), 'pages add up to the whole list, in order, without repeats');
  const late = await call(`${api}/findings?from=${encodeURIComponent(new Date(scenario.start + 21 * 60_000).toISOString())}`);
  t.ok(late.body.items.length > 0 && late.body.items.every((f: Finding) => f.last_seen >= new Date(scenario.start + 21 * 60_000).toISOString()));

  // Bad parameters name themselves.
  for (const [q, param] of [['severity=urgent', 'severity'], ['cursor=abc!', 'cursor'], ['cursor=WzFd', 'cursor'], ['limit=0', 'limit'], ['colour=red', 'colour'], ['from=yesterday', 'from']] as const) {
    const r = await call(`${api}/findings?${q}`);
    t.equal(r.status, 400, q);
    t.match(r.type, /application\/problem\+json/);
    t.ok(r.body.errors.some((e: { parameter: string }) => e.parameter.includes(param)), `${q} names ${param}`);
  }

  // One finding with its sample flows.
  const critical = all.body.items.find((f: Finding) => f.severity === 'critical') as Finding;
  const one = await call(`${api}/findings/${critical.id}`);
  t.equal(one.status, 200);
  t.equal(one.body.sample_flows.length, critical.sample_flow_ids.length);
  t.same(one.body.sample_flows.map((f: { id: number }) => f.id), critical.sample_flow_ids);
  t.equal(one.body.sample_flows[0].mtls, false);
  t.equal((await call(`${api}/findings/${'f'.repeat(32)}`)).status, 404);
  const badId = await call(`${api}/findings/..%2F..%2Fetc`);
  t.equal(badId.status, 400);

  // PATCH: validated body, 404 for unknown ids, resolve writes the outbox event.
  const before = handle.findings.outbox.count();
  const noReason = await call(`${api}/findings/${critical.id}`, json('PATCH', { status: 'resolved' }));
  t.equal(noReason.status, 400);
  t.equal(noReason.body.errors[0].parameter, 'reason');
  const badStatus = await call(`${api}/findings/${critical.id}`, json('PATCH', { status: 'closed', reason: 'x' }));
  t.equal(badStatus.status, 400);
  t.equal(badStatus.body.errors[0].parameter, 'status');
  t.equal((await call(`${api}/findings/${critical.id}`, json('PATCH', { status: 'resolved', reason: 'x', extra: 1 }))).status, 400);
  t.equal((await call(`${api}/findings/${'0'.repeat(32)}`, json('PATCH', { status: 'resolved', reason: 'x' }))).status, 404);
  const resolved = await call(`${api}/findings/${critical.id}`, json('PATCH', { status: 'resolved', reason: 'billing moved into the mesh' }));
  t.equal(resolved.status, 200);
  t.match(resolved.body, { status: 'resolved', status_reason: 'billing moved into the mesh' });
  t.equal(handle.findings.outbox.count(), before + 1);
  t.equal(handle.findings.outbox.list(before)[0]!.type, 'resolved');
  t.equal((await call(`${api}/findings?status=resolved`)).body.items.length, 1);

  // Counters.
  const counters = await call(`${api}/detectors/counters`);
  t.ok(counters.body.plaintext.unknown_verdict > 0);

  // Replay: inline YAML, the configured directory, and no way to name a path.
  const inline = await call(`${api}/policy/replay`, json('POST', { policies_yaml: scenario.replay.candidateFiles['candidate.yaml'] }));
  t.equal(inline.status, 200);
  t.equal(inline.body.would_deny.length, scenario.replay.wouldDeny.length);
  t.equal(inline.body.would_allow.length, 1);
  const configured = await call(`${api}/policy/replay`, json('POST', { policies: 'configured', from: String(scenario.start + 19 * 60_000) }));
  t.equal(configured.status, 200);
  t.ok(configured.body.totals.would_deny < inline.body.totals.would_deny);
  t.equal((await call(`${api}/policy/replay`, json('POST', { policies: '/etc' }))).status, 400);
  const pathField = await call(`${api}/policy/replay`, json('POST', { policies_dir: '/etc' }));
  t.equal(pathField.status, 400);
  const broken = await call(`${api}/policy/replay`, json('POST', { policies_yaml: 'kind: AuthorizationPolicy\nmetadata: { name: x }\nspec: { action: MAYBE }\n' }));
  t.equal(broken.status, 400);
  t.equal(broken.body.errors[0].parameter, 'policies_yaml');
  t.equal((await call(`${api}/policy/replay`, json('POST', {}))).status, 400);

  // The docs page lists every field of both request bodies, as the OpenAPI document declares them.
  const doc = (await call(`${api}/openapi.json`)).body as { paths: Record<string, Record<string, any>> };
  const page = await (await fetch(`${srv.url}/api/docs`)).text();
  for (const [route, method] of [['/api/v1/findings/{id}', 'patch'], ['/api/v1/policy/replay', 'post']] as const) {
    const fields = Object.keys(doc.paths[route]?.[method]?.requestBody?.content?.['application/json']?.schema?.properties ?? {});
    t.ok(fields.length > 0, `${method} ${route} declares a body`);
    const section = page.slice(page.indexOf(`${method.toUpperCase()} ${route}`)).split('<h2>')[0]!;
    for (const f of fields) t.ok(section.includes(`<code>${f}</code></td><td>body (JSON)</td>`), `docs: ${method.toUpperCase()} ${route} body field ${f}`);
  }
  t.match(page, /<code>status<\/code><\/td><td>body \(JSON\)<\/td><td>yes<\/td><td>&#34;open&#34; \| &#34;acknowledged&#34; \| /, 'enum values shown');
});

t.test('the exported Routers work on a bare express app', async (t) => {
  const db = openDatabase(path.join(t.testdir(), 'bare.db'));
  const store = new Store(db);
  // The embedding app brings its authentication; the routers' admin routes refuse a caller it
  // did not establish, and a read token.
  const bare = async (tokens: Parameters<typeof authenticate>[0] | null) => {
    const app = express();
    if (tokens) app.use(authenticate(tokens));
    app.use(findingsRouter(store));
    app.use(policyRouter(store));
    app.use(errorHandler(() => {}));
    const srv = await listen(app);
    t.teardown(() => srv.close());
    return srv;
  };
  t.teardown(() => db.close());
  const noAuth = await bare(null);
  t.equal((await call(`${noAuth.url}/api/v1/policy/replay`, json('POST', { policies: 'configured' }))).status, 401, 'replay without an authenticated caller: 401');
  const READ = 'read-token-0123456789abcdef';
  const readOnly = await bare([{ name: 'r', sha256: hashToken(READ), role: 'read' }]);
  const asRead = (init: RequestInit) => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${READ}` } });
  t.equal((await call(`${readOnly.url}/api/v1/findings`, asRead({}))).status, 200, 'a read token reads');
  t.equal((await call(`${readOnly.url}/api/v1/policy/replay`, asRead(json('POST', { policies: 'configured' })))).status, 403, 'a read token may not replay');
  t.equal((await call(`${readOnly.url}/api/v1/findings/1`, asRead(json('PATCH', { status: 'acknowledged' })))).status, 403, 'a read token may not change a finding');
  const srv2 = await bare([]);
  t.same((await call(`${srv2.url}/api/v1/findings`)).body, { items: [], next_cursor: null });
  const configured = await call(`${srv2.url}/api/v1/policy/replay`, json('POST', { policies: 'configured' }));
  t.equal(configured.status, 400, 'no directory configured: refused');
  t.match(configured.body.detail, /no server-side policy directory/);
});
