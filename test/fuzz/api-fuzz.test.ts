/**
 * Hostile input against every route of the real API (`composeApi`, ephemeral port, a real
 * SQLite file holding generated mesh traffic and the findings the detectors raised on it).
 *
 * The routes come from the served /api/v1/openapi.json, so a route added later is fuzzed without
 * touching this file. For each one fast-check builds requests from its documented parameters:
 * valid values mixed with wrong types, huge numbers, SQL fragments in every string filter, path
 * traversal and NUL in ids, malformed percent-encoding, giant cursors, unknown and repeated
 * parameters, and for POST/PATCH malformed, oversize, deeply nested and wrongly typed bodies.
 *
 * Invariants: never a 5xx; every 4xx is application/problem+json with a problem body; the
 * database is byte-for-byte what it was (a digest of every row of every table, and SQLite's own
 * total_changes() of the API's connection); SQL fragments given as filters match nothing. With
 * tokens configured, the same fuzz without a valid token gets 401 on every non-public route.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { encodeCursor, encodeKey } from '../../schemas/api.js';
import { findingsRoutes } from '../../src/api/findings.routes.js';
import { hashToken } from '../../src/api/auth.js';
import { policyRoutes } from '../../src/api/policy.routes.js';
import type { RouteSpec } from '../../src/api/route-spec.js';
import { composeApi } from '../../src/cli/compose-api.js';
import { registerDetectors } from '../../src/detect/registry.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const END = Date.parse('2026-01-15T03:00:00Z');

// --- the database ----------------------------------------------------------------------------

const dir = t.testdir({});
const dbFile = path.join(dir, 'fuzz.db');
const db = openDatabase(dbFile);
t.teardown(() => db.close());
const store = new Store(db);
registerRollups(store);
registerDetectors(store, { policies: null });
await ingestStream(store, Readable.from([Buffer.from(`${generateMeshTraffic({ requests: 300, seed: 7, end: END, malformed: true }).join('\n')}\n`)]), { format: 'auto', label: 'fuzz' });

const sample = db.prepare(`SELECT f.id, f.ts, f.request_id FROM flows f WHERE request_id IS NOT NULL ORDER BY id LIMIT 1`).get() as { id: number; ts: number; request_id: string };
const findingId = (db.prepare('SELECT id FROM findings LIMIT 1').get() as { id: string } | undefined)?.id;
t.ok(sample && findingId, 'the database holds flows and findings');

/** Digest of every row of every table (rows sorted, so WITHOUT ROWID tables need no rowid). */
function checksum(d: Db): string {
  const h = crypto.createHash('sha256');
  const tables = d.prepare("SELECT name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string; sql: string | null }[];
  for (const { name, sql } of tables) {
    h.update(`${name}\0${sql ?? ''}\0`);
    if (!sql?.startsWith('CREATE TABLE')) continue;
    const rows = (d.prepare(`SELECT * FROM "${name}"`).raw().all() as unknown[][]).map((r) => JSON.stringify(r, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
    rows.sort();
    for (const r of rows) h.update(r);
  }
  return h.digest('hex');
}
const totalChanges = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;

// --- the server ------------------------------------------------------------------------------

interface Server { base: { port: number }; close(): Promise<void> }

/** composeApi, plus the findings and policy routes when this version of composeApi lacks them. */
async function start(auth?: Parameters<typeof composeApi>[0]['auth']): Promise<Server> {
  const extra: RouteSpec[] = [...findingsRoutes(store), ...policyRoutes(store)];
  const first = composeApi({ store, databaseFile: dbFile, auth, extraRoutes: [] });
  const present = await new Promise<Set<string>>((resolve, reject) => {
    first.listen(0, '127.0.0.1', () => {
      const port = (first.address() as { port: number }).port;
      const headers: Record<string, string> = auth?.tokens?.length ? { authorization: `Bearer ${READ}` } : {};
      http.get({ host: '127.0.0.1', port, path: '/api/v1/openapi.json', headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => {
          first.close();
          const doc = JSON.parse(body) as { paths: Record<string, Record<string, unknown>> };
          resolve(new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))));
        });
      }).on('error', reject);
    });
  });
  const server = composeApi({ store, databaseFile: dbFile, auth, extraRoutes: extra.filter((r) => !present.has(`${r.method} ${r.path}`)) });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: { port: (server.address() as { port: number }).port },
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

interface Answer { status: number; type: string; body: string }

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

/** One request with a raw (already encoded) path: fetch would normalise `..` and `%2e`. */
function send(s: Server, method: string, rawPath: string, options: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.base.port, method: method.toUpperCase(), path: rawPath, agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

// --- generators ------------------------------------------------------------------------------

/** Values that went into a URL already encoded (malformed escapes, traversal, NUL). */
const RAW_ENCODED = ['..%2F..%2Fetc%2Fpasswd', '..%2f..%2f..%2fetc%2fshadow', '%2e%2e%2f%2e%2e%2f', '%00', 'a%00b', '1%00', '%', '%zz', '%ff%fe', '%C0%AF', '%E0%80%AF',
  '%ED%A0%80', '..%5C..%5Cwindows', '%252e%252e%252f', '%0d%0aX-Injected:%201', '%u002e'];

/** Hostile values, encoded with encodeURIComponent before use. */
const HOSTILE = [
  "' OR 1=1 --", '" OR ""="', '"; DROP TABLE flows; --', "'; DROP TABLE flows; --", "%' UNION SELECT value, value FROM strings --",
  "1 UNION SELECT sql FROM sqlite_schema", "x') OR ('1'='1", '1; DELETE FROM findings', "' AND randomblob(1000000000) --", '%', '_', '%%', '*', '**', '\\',
  "ns/' OR '1'='1", 'ns/bookinfo --', 'spiffe://cluster.local/*', "spiffe://cluster.local/ns/' OR 1=1 --*", '../../etc/passwd', '..\\..\\boot.ini', '/etc/passwd',
  '\u0000', 'a\u0000b', '\r\nSet-Cookie: x=1', '<script>alert(1)</script>', '${jndi:ldap://127.0.0.1/a}', '{{7*7}}', '=cmd|\' /C calc\'!A0',
  'NaN', 'Infinity', '-Infinity', '-1', '0', '-0', '1e309', '1e-400', '0x1F', '0b11', ' 5', '5 ', '1.5', '9'.repeat(400), '-9223372036854775809',
  '9007199254740993', '18446744073709551616', 'true', 'null', 'undefined', '[]', '{}', '[1,2]', '{"$gt":""}', '__proto__', 'constructor',
  '2026-02-30T00:00:00Z', '2026-01-15T03:00:00', '99999-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '2026-01-15T03:00:00+99:99', '-62198755200000',
  'A'.repeat(5000), '💥'.repeat(300), '\u202eevil', '\ufeff1', 'ß', 'İ',
];

/** Percent-encodes `s`; lone surrogates (which encodeURIComponent refuses) become U+FFFD. */
const enc = (s: string) => encodeURIComponent(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE).map(enc) },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_ENCODED) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map(enc) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9000 }).map((n) => 'A'.repeat(n)) }, // giant cursors and filters
  { weight: 1, arbitrary: fc.oneof(fc.double(), fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })).map((x) => enc(String(x))) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null)), { maxLength: 3 }).map((k) => encodeKey(k as (string | number | null)[])) }, // well-formed cursors of the wrong shape
);

/** Values that pass validation, so that requests reach the SQL with the hostile ones beside them. */
const VALID: Record<string, string[]> = {
  from: ['2026-01-15T00:00:00Z', String(END - 7_200_000)],
  to: ['2026-01-15T04:00:00Z', String(END + 60_000)],
  limit: ['1', '5', '1000'],
  cursor: [encodeCursor(sample.ts, sample.id), encodeKey([0, 0, 0]), encodeKey(['spiffe://cluster.local/ns/bookinfo/sa/x', 0])],
  namespace: ['bookinfo', 'legacy'],
  source_principal: ['spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage', 'ns/bookinfo', 'spiffe://cluster.local/*'],
  response_code: ['503', '5xx', '200'],
  response_flag: ['UH', 'NR'],
  request_id: [sample.request_id],
  id: [String(sample.id), ...(findingId ? [findingId] : [])],
  status: ['open', 'resolved'],
};

interface Param { name: string; in: 'query' | 'path'; required: boolean; schema: { enum?: unknown[] } }
interface Operation { method: string; path: string; parameters: Param[]; publicRoute: boolean }

const valueFor = (p: Param) => {
  const valid = [...(p.schema.enum ?? []).map(String), ...(VALID[p.name] ?? [])].map(enc);
  return valid.length ? fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...valid) }, { weight: 2, arbitrary: hostileValue }) : hostileValue;
};

const UNKNOWN = ['foo', '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'limit[]', 'from[$gt]', 'a.b', '', 'select', 'id'];

/** A query string (and path) for `op`: some documented parameters, maybe unknown or repeated ones. */
function requestFor(op: Operation, forWrite: boolean) {
  const query = op.parameters.filter((p) => p.in === 'query');
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const pairs = fc.tuple(...query.map((p) => fc.option(valueFor(p), { nil: undefined, freq: p.required ? 8 : 2 }).map((v) => (v === undefined ? [] : [[p.name, v] as [string, string]]))));
  const extra = fc.array(fc.tuple(fc.constantFrom(...UNKNOWN, ...query.map((p) => p.name)), hostileValue), { maxLength: 2 }).map((xs) => xs.map(([k, v]) => [enc(k), v] as [string, string]));
  // A PATCH with a real id and a valid body would legitimately write; ids of writing routes are hostile only.
  const pathValue = (p: Param) => (forWrite ? hostileValue : valueFor(p));
  const segs = fc.tuple(...pathParams.map(pathValue));
  return fc.record({ pairs, extra, segs }).map(({ pairs, extra, segs }) => {
    let p = op.path;
    pathParams.forEach((param, i) => { p = p.replace(`{${param.name}}`, segs[i]!); });
    const qs = [...pairs.flat(), ...extra].map(([k, v]) => `${k}=${v}`).join('&');
    return qs ? `${p}?${qs}` : p;
  });
}

/** Bodies for POST/PATCH routes. */
const bodyArb = fc.oneof(
  fc.constantFrom('{', '{"status":', 'nul', "{'status':'open'}", '{"a":1,}', '\u0000', '[', '"unterminated', '{"status":"open"}{"x":1}', '', ' ', '1e999999', '\ud800')
    .map((b) => ({ body: b, type: 'application/json' })),
  fc.integer({ min: 65 * 1024, max: 300 * 1024 }).map((n) => ({ body: JSON.stringify({ policies_yaml: 'a'.repeat(n) }), type: 'application/json' })), // oversize
  fc.integer({ min: 1000, max: 30_000 }).map((n) => ({ body: '['.repeat(n) + ']'.repeat(n), type: 'application/json' })), // deep nesting under the size limit
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ body: JSON.stringify(v), type: 'application/json' })),
  fc.record({
    status: fc.oneof(fc.constantFrom('open', 'resolved', 'acknowledged', 'suppressed', 'OPEN', 'deleted', "' OR 1=1 --"), fc.integer(), fc.constant(null)),
    reason: fc.oneof(fc.string({ maxLength: 50 }), fc.constant('x'.repeat(3000)), fc.constant(null), fc.integer()),
    policies_yaml: fc.constantFrom(BILLION_LAUGHS(), 'kind: AuthorizationPolicy\nspec: !!js/function "function(){}"', '---\n- [', "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, namespace: \"' OR 1=1 --\"}\nspec: {action: DENY, rules: [{}]}", '\u0000'),
    policies: fc.constantFrom('configured', '../../etc', '/etc/passwd'),
    from: fc.constantFrom('2026-01-15T00:00:00Z', "' OR 1=1 --", '9'.repeat(30)),
    __proto__: fc.constant({ polluted: true }),
  }, { requiredKeys: [] }).map((v) => ({ body: JSON.stringify(v), type: 'application/json' })),
  fc.constantFrom(
    { body: '{"status":"open"}', type: 'text/plain' },
    { body: 'status=open', type: 'application/x-www-form-urlencoded' },
    { body: '{"status":"open"}', type: 'application/json; charset=utf-7' },
    { body: '{"status":"open"}', type: 'application/json; charset=bogus' },
    { body: Buffer.from([0x1f, 0x8b, 0, 0]).toString('latin1'), type: 'application/json' },
  ),
);

function BILLION_LAUGHS(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n');
}

// --- checks ----------------------------------------------------------------------------------

function checkAnswer(a: Answer, what: string, expectStatus?: (s: number) => boolean): string | null {
  if (a.status >= 500) return `${what}: ${a.status} ${a.body.slice(0, 200)}`;
  if (expectStatus && !expectStatus(a.status)) return `${what}: unexpected ${a.status} ${a.body.slice(0, 200)}`;
  if (a.status >= 400) {
    if (!a.type.startsWith('application/problem+json')) return `${what}: ${a.status} with content-type ${a.type}`;
    try {
      const p = JSON.parse(a.body) as { status?: unknown; title?: unknown; detail?: unknown };
      if (p.status !== a.status || typeof p.title !== 'string' || typeof p.detail !== 'string') return `${what}: problem body ${a.body.slice(0, 200)}`;
    } catch {
      return `${what}: problem body is not JSON: ${a.body.slice(0, 200)}`;
    }
  }
  return null;
}

async function operations(s: Server, headers: Record<string, string>): Promise<Operation[]> {
  const doc = JSON.parse((await send(s, 'get', '/api/v1/openapi.json', { headers })).body) as {
    paths: Record<string, Record<string, { parameters?: Param[]; security?: unknown[] }>>;
  };
  return Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([method, op]) => ({
    method, path: p, parameters: op.parameters ?? [], publicRoute: Array.isArray(op.security) && op.security.length === 0,
  })));
}

const READ = 'fuzz-read-token-0123456789abcdef';
const ADMIN = 'fuzz-admin-token-fedcba987654321';

/** Fuzzes every operation of `s`; `expect` constrains the status, `headers` go on every request. */
async function fuzzAll(t: Test, s: Server, ops: Operation[], headers: Record<string, string>, expect: (op: Operation) => ((status: number) => boolean) | undefined, runs: number) {
  const statuses = new Map<number, number>();
  for (const op of ops) {
    const write = op.method === 'post' || op.method === 'patch';
    const arb = write ? fc.tuple(requestFor(op, true), bodyArb) : fc.tuple(requestFor(op, false), fc.constant(null));
    let failure: string | null = null;
    await fc.assert(
      fc.asyncProperty(arb, async ([p, body]) => {
        const h = { ...headers, ...(body ? { 'content-type': body.type } : {}) };
        const a = await send(s, op.method, p, { headers: h, body: body ? Buffer.from(body.body, body.type.includes('json') ? 'utf8' : 'latin1') : undefined });
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        const what = `${op.method.toUpperCase()} ${p.length > 400 ? `${p.slice(0, 400)}...(${p.length} chars)` : p}${body ? ` body(${body.type}) ${body.body.slice(0, 80)}` : ''}`;
        // Node's HTTP parser refuses a request head over 16 KiB before the app sees it (431, no body).
        if (p.length > 16 * 1024) {
          failure = a.status === 431 ? null : `${what}: ${a.status} instead of 431`;
          return failure === null;
        }
        if (a.status === 431 && p.length > 15 * 1024) return true; // the head (with headers) went over 16 KiB
        failure = checkAnswer(a, what, expect(op));
        return failure === null;
      }),
      { numRuns: runs, seed: SEED, endOnFailure: true },
    ).catch((err: Error) => { failure ??= err.message; });
    t.equal(failure, null, `${op.method.toUpperCase()} ${op.path}: ${runs} hostile requests`);
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
}

/**
 * The exhaustive part: every fixed hostile value in every parameter of every operation, alone
 * (required parameters get a valid value), so that no value is left to chance.
 */
async function sweep(t: Test, s: Server, ops: Operation[], headers: Record<string, string>, expect: (op: Operation) => ((status: number) => boolean) | undefined) {
  const values = [...HOSTILE.map(enc), ...RAW_ENCODED];
  const failures: string[] = [];
  let sent = 0;
  for (const op of ops) {
    const write = op.method === 'post' || op.method === 'patch';
    const base = (p: Param) => enc([...(p.schema.enum ?? []).map(String), ...(VALID[p.name] ?? []), 'x'][0]!);
    for (const target of op.parameters) {
      for (const v of values) {
        let p = op.path;
        const qs: string[] = [];
        for (const param of op.parameters) {
          const value = param === target ? v : param.in === 'path' ? (write ? '0' : base(param)) : param.required ? base(param) : null;
          if (value === null) continue;
          if (param.in === 'path') p = p.replace(`{${param.name}}`, value);
          else qs.push(`${param.name}=${value}`);
        }
        const url = qs.length ? `${p}?${qs.join('&')}` : p;
        const a = await send(s, op.method, url, write ? { headers: { ...headers, 'content-type': 'application/json' }, body: '{"status":"resolved","reason":"sweep"}' } : { headers });
        sent++;
        const problem = checkAnswer(a, `${op.method.toUpperCase()} ${url.slice(0, 300)}`, expect(op));
        if (problem) failures.push(problem);
      }
    }
  }
  t.same(failures.slice(0, 10), [], `${sent} single-parameter requests with every fixed hostile value`);
}

// --- the tests -------------------------------------------------------------------------------

t.test('open API: no 5xx, problem+json 4xx, no write, SQL fragments match nothing', async (t) => {
  const s = await start();
  t.teardown(() => s.close());
  const ops = await operations(s, {});
  const names = ops.map((o) => `${o.method} ${o.path}`);
  for (const must of ['get /api/v1/flows', 'get /api/v1/flows/{id}', 'get /api/v1/requests/{request_id}', 'get /api/v1/edges', 'patch /api/v1/findings/{id}', 'post /api/v1/policy/replay']) {
    t.ok(names.includes(must), `OpenAPI lists ${must}`);
  }
  const before = checksum(db);
  const changes = totalChanges();

  await fuzzAll(t, s, ops, {}, () => undefined, RUNS);
  await sweep(t, s, ops, {}, () => undefined);

  // Fixed cases the generators may not hit every run.
  const fixed: [string, string, { body?: string; headers?: Record<string, string> }?, ((n: number) => boolean)?][] = [
    ['get', `/api/v1/flows?cursor=${'A'.repeat(14_000)}`, undefined, (n) => n === 400],
    ['get', '/api/v1/flows?limit=1&limit=2', undefined, (n) => n === 400],
    ['get', '/api/v1/flows?__proto__=x&constructor=y', undefined, (n) => n === 400],
    ['get', '/api/v1/flows/..%2F..%2Fetc%2Fpasswd', undefined, (n) => n === 400],
    ['get', '/api/v1/flows/1%00', undefined, (n) => n === 400],
    ['get', '/api/v1/flows/../../../../etc/passwd', undefined, (n) => n === 404],
    ['get', `/api/v1/flows/${'9'.repeat(20)}`, undefined, (n) => n === 400],
    ['get', '/api/v1/requests/..%2F..%2Fetc%2Fpasswd', undefined, (n) => n === 200 || n === 404],
    ['get', '/api/v1/requests/%', undefined, (n) => n === 400],
    ['delete', '/api/v1/flows', undefined, (n) => n === 404],
    ['put', '/api/v1/findings/x', { body: '{}', headers: { 'content-type': 'application/json' } }, (n) => n === 404],
    ['patch', `/api/v1/findings/${findingId}`, { body: '{"status":', headers: { 'content-type': 'application/json' } }, (n) => n === 400],
    ['patch', `/api/v1/findings/${findingId}`, { body: JSON.stringify({ status: 'resolved', reason: 'x'.repeat(100_000) }), headers: { 'content-type': 'application/json' } }, (n) => n === 413],
    ['patch', `/api/v1/findings/${findingId}`, { body: JSON.stringify({ status: 'resolved' }), headers: { 'content-type': 'application/json' } }, (n) => n === 400],
    ['post', '/api/v1/policy/replay', { body: JSON.stringify({ policies_yaml: BILLION_LAUGHS() }), headers: { 'content-type': 'application/json' } }, (n) => n === 400 || n === 200],
    ['post', '/api/v1/policy/replay', { body: '['.repeat(30_000) + ']'.repeat(30_000), headers: { 'content-type': 'application/json' } }, (n) => n === 400],
  ];
  for (const [method, p, init, expect] of fixed) {
    const a = await send(s, method, p, init);
    t.equal(checkAnswer(a, `${method.toUpperCase()} ${p.slice(0, 120)}`, expect), null, `${method.toUpperCase()} ${p.slice(0, 80)} -> ${a.status}`);
  }

  // A URL over Node's 16 KiB header limit is refused by the HTTP parser itself (no body).
  const huge = await send(s, 'get', `/api/v1/flows?cursor=${'A'.repeat(70_000)}`);
  t.equal(huge.status, 431, 'a 70 KB request line: 431 from the HTTP parser, before the app');

  // Parameterised SQL: a fragment given as a filter is a value that matches nothing.
  for (const param of ['destination_service', 'request_id', 'reporter_pod']) {
    for (const frag of ["' OR 1=1 --", '"; DROP TABLE flows; --', "%' UNION SELECT value, value FROM strings --", '%', '_']) {
      const a = await send(s, 'get', `/api/v1/flows?${param}=${enc(frag)}`);
      t.same([a.status, (JSON.parse(a.body) as { items: unknown[] }).items.length], [200, 0], `/flows?${param}=${frag} matches nothing`);
    }
  }
  for (const frag of ["' OR 1=1 --*", '%*', '_*', "spiffe://' OR '1'='1*"]) {
    const a = await send(s, 'get', `/api/v1/flows?source_principal=${enc(frag)}`);
    t.same([a.status, (JSON.parse(a.body) as { items: unknown[] }).items.length], [200, 0], `/flows?source_principal=${frag} matches nothing`);
  }
  const q = await send(s, 'get', `/api/v1/quarantine?reason=${enc("' OR 1=1 --")}`);
  t.same([q.status, (JSON.parse(q.body) as { items: unknown[] }).items.length], [200, 0], 'quarantine reason filter is a value');

  t.equal(totalChanges(), changes, 'the API connection changed no row (total_changes)');
  t.equal(checksum(db), before, 'every table identical after the fuzz');
});

t.test('with tokens: without a valid token every non-public route answers 401, whatever the request', async (t) => {
  const auth = {
    tokens: [{ name: 'reader', sha256: hashToken(READ), role: 'read' as const }, { name: 'ops', sha256: hashToken(ADMIN), role: 'admin' as const }],
    rate_limit: { requests_per_second: 100_000, burst: 100_000 },
  };
  const s = await start(auth);
  t.teardown(() => s.close());
  const ops = await operations(s, { authorization: `Bearer ${READ}` });
  t.ok(ops.length >= 10, `${ops.length} operations`);
  const before = checksum(db);
  const publicOnly = (op: Operation) => (op.publicRoute ? (n: number) => n !== 401 : (n: number) => n === 401);
  const badAuth = ['', 'Bearer', 'Bearer ', `Bearer ${READ}x`, `Bearer ${hashToken(READ)}`, `Basic ${Buffer.from(`x:${READ}`).toString('base64')}`, `bearer  ${READ} `, `Bearer ${'A'.repeat(8000)}`, "Bearer ' OR 1=1 --"];
  const perHeader = Math.max(5, Math.floor(RUNS / 6));
  await fuzzAll(t, s, ops, {}, publicOnly, perHeader);
  await sweep(t, s, ops, {}, publicOnly);
  for (const h of badAuth.slice(0, 4)) await fuzzAll(t, s, ops, { authorization: h }, publicOnly, perHeader);
  for (const h of badAuth) {
    const a = await send(s, 'patch', `/api/v1/findings/${findingId}`, { headers: { authorization: h, 'content-type': 'application/json' }, body: JSON.stringify({ status: 'resolved', reason: 'x'.repeat(200_000) }) });
    t.equal(checkAnswer(a, `PATCH oversize with ${h.slice(0, 30)}`, (n) => n === 401), null, 'oversize body without a valid token: 401 (auth runs before the body is read)');
  }
  // The read token still may not change a finding.
  const r = await send(s, 'patch', `/api/v1/findings/${findingId}`, { headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/json' }, body: JSON.stringify({ status: 'resolved', reason: 'fuzz' }) });
  t.equal(checkAnswer(r, 'PATCH with read token', (n) => n === 403), null, 'read token on an admin route: 403');
  t.equal(checksum(db), before, 'every table identical');
});
