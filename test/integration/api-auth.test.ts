/**
 * Access control over real HTTP: bearer tokens stored hashed, 401 for a missing or unknown
 * token (same answer either way), 403 for a role too low, admin routes, an open /healthz, the
 * per-token rate limit, and the optional TLS listener.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import t from 'tap';
import { createApp } from '../../src/api/app.js';
import { hashToken } from '../../src/api/auth.js';
import { route } from '../../src/api/route-spec.js';
import { createServer } from '../../src/api/server.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { Registry } from '../../src/telemetry/metrics.js';
import { z } from 'zod';

const dir = t.testdir({});
const db = openDatabase(path.join(dir, 'auth.db'));
const store = new Store(db);
const READ = 'read-token-0123456789abcdef';
const ADMIN = 'admin-token-fedcba9876543210';
const tokens = [
  { name: 'analyst', sha256: hashToken(READ), role: 'read' as const },
  { name: 'ops', sha256: hashToken(ADMIN).toUpperCase(), role: 'admin' as const },
];
let replays = 0;
const adminRoute = route({
  method: 'post', path: '/api/v1/replay', access: 'admin', summary: 'test-only admin route',
  handle: () => ({ replayed: ++replays }),
});
const bodyRoute = route({
  method: 'patch', path: '/api/v1/echo/{id}', access: 'read', summary: 'test-only route reading a body',
  params: z.object({ id: z.string().regex(/^\d+$/) }).strict(),
  handle: ({ req }) => ({ got: req.body }),
});

const start = async (auth: Parameters<typeof createApp>[0]['auth']) => {
  const server = createServer(createApp({ store, logError: () => {}, auth, extraRoutes: [adminRoute, bodyRoute], metrics: new Registry() }), undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.close(); });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
};

const base = await start({ tokens, rate_limit: { requests_per_second: 1000, burst: 1000 } });
t.teardown(() => db.close());

const call = async (p: string, token?: string, init: RequestInit = {}) => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (token !== undefined) headers.authorization = token;
  const res = await fetch(base + p, { ...init, headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
};

t.test('no token, a malformed header or an unknown token: 401, the same answer each time', async (t) => {
  const answers = new Set<string>();
  for (const auth of [undefined, '', 'Bearer', `Basic ${Buffer.from('a:b').toString('base64')}`, `bearer ${READ}`, 'Bearer wrong-token', `Bearer ${READ}x`, `Bearer ${hashToken(READ)}`]) {
    for (const p of ['/api/v1/flows', '/api/v1/no-such-route', '/api/v1/openapi.json', '/metrics']) {
      const r = await call(p, auth);
      t.equal(r.status, 401, `${p} with ${JSON.stringify(auth)}`);
      t.equal(r.headers.get('www-authenticate'), 'Bearer realm="meshtrail"');
      t.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
      answers.add(r.body);
    }
  }
  t.equal(answers.size, 1, 'nothing says which part was wrong');
});

t.test('read token: reads; admin routes 403; admin token: both', async (t) => {
  t.equal((await call('/api/v1/flows', `Bearer ${READ}`)).status, 200);
  t.equal((await call('/api/v1/openapi.json', `Bearer ${READ}`)).status, 200);
  t.equal((await call('/metrics', `Bearer ${READ}`)).status, 200);
  const denied = await call('/api/v1/replay', `Bearer ${READ}`, { method: 'POST' });
  t.equal(denied.status, 403);
  t.match(denied.headers.get('content-type') ?? '', /^application\/problem\+json/);
  t.equal(replays, 0, 'the handler never ran');
  t.equal((await call('/api/v1/replay', undefined, { method: 'POST' })).status, 401);
  const ok = await call('/api/v1/replay', `Bearer ${ADMIN}`, { method: 'POST' });
  t.equal(ok.status, 200);
  t.same(JSON.parse(ok.body), { replayed: 1 });
  t.equal((await call('/api/v1/flows', `Bearer ${ADMIN}`)).status, 200, 'admin can read');
  const doc = JSON.parse((await call('/api/v1/openapi.json', `Bearer ${ADMIN}`)).body);
  t.ok(doc.paths['/api/v1/replay'].post.responses['403'], 'extra routes are documented');
  t.same(doc.security, [{ bearer: [] }]);
});

t.test('/healthz and /api/docs stay open', async (t) => {
  t.equal((await call('/healthz')).status, 200);
  t.equal((await call('/api/docs')).status, 200);
});

t.test('JSON bodies are limited to 64 KiB, checked after the token', async (t) => {
  const json = { 'content-type': 'application/json' };
  const small = await call('/api/v1/echo/1', `Bearer ${READ}`, { method: 'PATCH', headers: json, body: JSON.stringify({ a: 'x'.repeat(1000) }) });
  t.equal(small.status, 200);
  t.equal(JSON.parse(small.body).got.a.length, 1000);
  const big = await call('/api/v1/echo/1', `Bearer ${READ}`, { method: 'PATCH', headers: json, body: JSON.stringify({ a: 'x'.repeat(70 * 1024) }) });
  t.equal(big.status, 413);
  t.match(big.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const anonymous = await call('/api/v1/echo/1', undefined, { method: 'PATCH', headers: json, body: JSON.stringify({ a: 'x'.repeat(70 * 1024) }) });
  t.equal(anonymous.status, 401, 'no body is read for an unauthenticated caller');
});

t.test('rate limit per token: 429 with Retry-After, other tokens unaffected', async (t) => {
  const limited = await start({ tokens, rate_limit: { requests_per_second: 0.01, burst: 3 } });
  const get = async (token: string) => {
    const res = await fetch(`${limited}/api/v1/flows?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, retry: res.headers.get('retry-after'), type: res.headers.get('content-type') };
  };
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await get(READ)).status);
  t.same(statuses, [200, 200, 200, 429, 429]);
  const r = await get(READ);
  t.equal(r.status, 429);
  t.ok(Number(r.retry) >= 1, `Retry-After ${r.retry}`);
  t.match(r.type ?? '', /^application\/problem\+json/);
  t.equal((await get(ADMIN)).status, 200, 'another token has its own bucket');
  t.equal((await fetch(`${limited}/healthz`)).status, 200, '/healthz is not limited');
});

t.test('an open API (no tokens) lets everyone in as admin', async (t) => {
  const open = await start(undefined);
  t.equal((await fetch(`${open}/api/v1/flows`)).status, 200);
  t.equal((await fetch(`${open}/api/v1/replay`, { method: 'POST' })).status, 200);
});

t.test('createServer serves HTTPS with the configured certificate', async (t) => {
  let openssl = true;
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); } catch { openssl = false; }
  if (!openssl) {
    t.fail('openssl is needed to make a test certificate');
    return;
  }
  const tlsDir = t.testdir({});
  const cert = path.join(tlsDir, 'cert.pem');
  const key = path.join(tlsDir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const server = createServer(createApp({ store }), { cert_file: cert, key_file: key });
  t.ok(server instanceof https.Server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.close(); });
  const port = (server.address() as { port: number }).port;
  const body = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/healthz', ca: fs.readFileSync(cert) }, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (c: string) => (b += c)).on('end', () => resolve(b));
    }).on('error', reject);
  });
  t.equal(JSON.parse(body).status, 'ok');
  t.throws(() => createServer(createApp({ store }), { cert_file: path.join(tlsDir, 'missing.pem'), key_file: key }), { code: 'ERR_CONFIG_INVALID', message: /missing\.pem/ });
});
