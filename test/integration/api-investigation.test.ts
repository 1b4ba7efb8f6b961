/**
 * The investigation API over real HTTP and a real SQLite file, with flows that carry
 * principals, mTLS verdicts and response flags: every endpoint and filter, exports, errors,
 * headers, the OpenAPI document, the docs page and metrics. Expected values are computed from
 * the test's own flow list, never from the API.
 */
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import type { Flow } from '../../schemas/flow.js';
import { createApp } from '../../src/api/app.js';
import { openDatabase } from '../../src/store/db.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';
import { Registry } from '../../src/telemetry/metrics.js';
import { HOSTILE, P, SVC, T0, isError, makeFlows, writeFlows } from '../unit/api/flow-fixtures.js';

const dir = t.testdir({});
const db = openDatabase(path.join(dir, 'api.db'));
const store = new Store(db);
registerRollups(store);
const flows = makeFlows(1500, 7);
t.equal(writeFlows(store, flows), flows.length, 'fixture flows stored');
store.writeBatch([{ position: { source: 'test:bad', pos: 0, line: 1 }, raw: '=cmd|calc', outcome: { ok: false, reason: 'unrecognised_format', detail: 'x' } }], []);
const metrics = new Registry();
const app = createApp({ store, logError: () => {}, metrics });
const server = http.createServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
t.teardown(() => { server.close(); db.close(); });

const get = async (p: string, init?: RequestInit) => {
  const res = await fetch(base + p, init);
  const text = await res.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, headers: res.headers, type: res.headers.get('content-type') ?? '', body, text };
};

/** A GET whose path reaches the server byte for byte. */
const rawGet = (p: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
  const url = new URL(base);
  http.get({ host: url.hostname, port: url.port, path: p }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
  }).on('error', reject);
});

/** Follows next_cursor to the end; returns every item. */
const all = async (p: string): Promise<any[]> => {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const r = await get(`${p}${p.includes('?') ? '&' : '?'}limit=137${cursor ? `&cursor=${cursor}` : ''}`);
    if (r.status !== 200) throw new Error(`${p}: ${r.status} ${r.text}`);
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  return items;
};

const count = (pred: (f: Flow) => boolean) => flows.filter(pred).length;
const ts = (f: Flow) => Date.parse(f.start_time!);

t.test('flow filters match exactly the flows they describe', async (t) => {
  const cases: [string, (f: Flow) => boolean][] = [
    [`source_principal=${encodeURIComponent(P.cart)}`, (f) => f.source_principal === P.cart],
    ['source_principal=ns/shop', (f) => /^spiffe:\/\/[^/]+\/ns\/shop\//.test(f.source_principal ?? '')],
    [`source_principal=${encodeURIComponent('spiffe://cluster.local/ns/shop/*')}`, (f) => (f.source_principal ?? '').startsWith('spiffe://cluster.local/ns/shop/')],
    // `[` and `?` are GLOB metacharacters: the prefix must be taken literally.
    [`source_principal=${encodeURIComponent('spiffe://cluster.local/ns/shop/sa/we[*')}`, (f) => f.source_principal === P.globby],
    [`source_principal=${encodeURIComponent('spiffe://cluster.local/ns/shop/sa/we?*')}`, () => false],
    ['source_principal=spiffe%3A%2F%2Fnever%2Fseen', () => false],
    ['namespace=legacy', (f) => f.source_namespace === 'legacy' || f.destination_namespace === 'legacy'],
    ['namespace=shopping', (f) => f.source_namespace === 'shopping' || f.destination_namespace === 'shopping'],
    ['response_flag=URX', (f) => f.response_flags.includes('URX')],
    ['response_flag=UF', (f) => f.response_flags.includes('UF')],
    ['response_flag=UR', () => false],
    ['mtls=true', (f) => f.mtls === true],
    ['mtls=false', (f) => f.mtls === false],
    ['mtls=unknown', (f) => f.mtls === null],
    ['reporter_pod=shop-server-1', (f) => f.reporter.pod === 'shop-server-1'],
    ['reporter_pod=istio-ingressgateway-1&mtls=false&response_code=5xx', (f) => f.reporter.pod === 'istio-ingressgateway-1' && f.mtls === false && f.response_code! >= 500],
    [`source_principal=ns/shop&destination_service=${SVC.db}&from=${new Date(T0 + 1_800_000).toISOString()}&to=${T0 + 5_400_000}`,
      (f) => /\/ns\/shop\//.test(f.source_principal ?? '') && f.destination_service === SVC.db && ts(f) >= T0 + 1_800_000 && ts(f) < T0 + 5_400_000],
  ];
  for (const [query, pred] of cases) {
    const items = await all(`/api/v1/flows?${query}`);
    t.equal(items.length, count(pred), query);
    t.ok(items.every((f) => pred(f as Flow)), `${query}: every item matches`);
  }
  t.ok(count((f) => f.source_principal === P.globby) > 0 && count((f) => f.response_flags.includes('URX')) > 0, 'fixture covers the cases');
});

t.test('GET /flows/{id}: one flow, 404 when absent, 400 for anything but a positive integer', async (t) => {
  const [first] = (await get('/api/v1/flows?limit=1')).body.items;
  const one = await get(`/api/v1/flows/${first.id}`);
  t.equal(one.status, 200);
  t.same(one.body, first);
  const missing = await get('/api/v1/flows/999999999');
  t.equal(missing.status, 404);
  t.match(missing.type, /^application\/problem\+json/);
  for (const bad of ['abc', '0', '-1', '1e3', '1.5', '0x10', '99999999999999999999', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '1%00', '..%5C..%5Cx']) {
    // node:http sends the path as written (fetch would normalise `%2e%2e` away).
    const r = await rawGet(`/api/v1/flows/${bad}`);
    t.equal(r.status, 400, bad);
    t.ok(JSON.parse(r.body).errors?.some((e: any) => e.parameter === 'id'), `${bad} names id`);
  }
  const extra = await get(`/api/v1/flows/${first.id}?verbose=1`);
  t.equal(extra.status, 400, 'no query parameter on a single flow');
});

t.test('GET /requests/{request_id}: every hop in time order with both identities and TLS facts', async (t) => {
  const rid = flows.find((f) => f.source_principal === P.cart && f.mtls === true)!.request_id!;
  const expected = flows.filter((f) => f.request_id === rid);
  const r = await get(`/api/v1/requests/${rid}`);
  t.equal(r.status, 200);
  t.equal(r.body.request_id, rid);
  t.equal(r.body.items.length, expected.length);
  t.same(r.body.items.map((h: any) => h.hop), expected.map((_f, i) => i + 1));
  t.same(r.body.items.map((h: any) => h.direction), ['outbound', 'inbound']);
  for (const h of r.body.items) {
    t.equal(h.source.principal, P.cart);
    t.equal(h.destination.principal, expected[0]!.destination_principal);
    t.equal(h.tls.mtls, true);
    t.equal(h.tls.tls_version, 'TLSv1.3');
  }
  const paged = await get(`/api/v1/requests/${rid}?limit=1`);
  t.equal(paged.body.items.length, 1);
  const second = await get(`/api/v1/requests/${rid}?limit=1&cursor=${paged.body.next_cursor}`);
  t.equal(second.body.items[0].hop, 2, 'hop numbers continue across pages');
  t.equal(second.body.next_cursor, null);
  t.equal((await get('/api/v1/requests/no-such-request')).status, 404);
  t.equal((await get('/api/v1/requests/a%0Ab')).status, 400, 'control characters are refused');
});

/** Edges computed from the flow list over [from, to). */
function expectedEdges(from: number, to: number, pred: (f: Flow) => boolean = () => true) {
  const m = new Map<string, { requests: number; errors: number; mtls: number; plaintext: number; unknown: number; bytes: number }>();
  for (const f of flows) {
    if (ts(f) < from || ts(f) >= to || !pred(f)) continue;
    const k = `${f.source_principal}|${f.destination_service}|${f.destination_port}`;
    const e = m.get(k) ?? { requests: 0, errors: 0, mtls: 0, plaintext: 0, unknown: 0, bytes: 0 };
    e.requests++;
    if (isError(f)) e.errors++;
    if (f.mtls === true) e.mtls++; else if (f.mtls === false) e.plaintext++; else e.unknown++;
    e.bytes += (f.bytes_received ?? 0) + (f.bytes_sent ?? 0);
    m.set(k, e);
  }
  return m;
}

const edgeMap = (items: any[]) => new Map(items.map((e) => [`${e.source_principal}|${e.destination_service}|${e.destination_port}`,
  { requests: e.requests, errors: e.errors, mtls: e.mtls, plaintext: e.plaintext, unknown: e.unknown, bytes: e.bytes }]));

t.test('GET /edges: per (principal, service, port) counts equal those computed from the flows', async (t) => {
  // Whole hours read the hourly rollup; other bounds the minute rollup, widened to minutes; a
  // window holding two whole hours or more reads them hourly and its ragged ends by the minute.
  const windows: [number, number, number, number][] = [
    [T0, T0 + 7_200_000, T0, T0 + 7_200_000],
    [T0 + 630_000, T0 + 3_000_001, T0 + 600_000, T0 + 3_060_000],
    [T0 + 630_000, T0 + 10_830_001, T0 + 600_000, T0 + 10_860_000], // flows in the leading minutes
    [T0 - 5_430_000, T0 + 5_430_001, T0 - 5_460_000, T0 + 5_460_000], // flows in the trailing minutes
  ];
  for (const [from, to, wantFrom, wantTo] of windows) {
    const items = await all(`/api/v1/edges?from=${from}&to=${to}`);
    t.same(edgeMap(items), expectedEdges(wantFrom, wantTo), `window ${new Date(from).toISOString()}`);
    const page = await get(`/api/v1/edges?from=${from}&to=${to}`);
    t.equal(page.body.from, new Date(wantFrom).toISOString(), 'states the window it covers');
    t.equal(page.body.to, new Date(wantTo).toISOString());
  }
  const legacy = await all(`/api/v1/edges?from=${T0}&to=${T0 + 7_200_000}&namespace=legacy`);
  t.same(edgeMap(legacy), expectedEdges(T0, T0 + 7_200_000, (f) => f.source_namespace === 'legacy' || f.destination_namespace === 'legacy'));
  const inbound = await all(`/api/v1/edges?from=${T0}&to=${T0 + 7_200_000}&direction=inbound`);
  t.same(edgeMap(inbound), expectedEdges(T0, T0 + 7_200_000, (f) => f.direction === 'inbound'));
  // Filters and the cursor apply to every part of a split window.
  const raggedLegacyInbound = await all(`/api/v1/edges?from=${T0 - 5_430_000}&to=${T0 + 5_430_001}&namespace=legacy&direction=inbound`);
  t.same(edgeMap(raggedLegacyInbound), expectedEdges(T0 - 5_460_000, T0 + 5_460_000,
    (f) => f.direction === 'inbound' && (f.source_namespace === 'legacy' || f.destination_namespace === 'legacy')));
  const first = await get(`/api/v1/edges?from=${T0}&to=${T0 + 7_200_000}&limit=1`);
  t.ok(first.body.items[0].first_seen <= first.body.items[0].last_seen);
  t.same((await get(`/api/v1/edges?from=${T0}&to=${T0 + 1}&namespace=nowhere`)).body.items, []);
});

t.test('GET /principals: identities seen on either side, with namespace and counts', async (t) => {
  const want = new Map<string, { as_source: number; as_destination: number; first: number; last: number }>();
  const see = (p: string | null, ns: string | null, side: 'as_source' | 'as_destination', at: number) => {
    if (p === null) return;
    const k = `${p}|${ns}`;
    const e = want.get(k) ?? { as_source: 0, as_destination: 0, first: at, last: at };
    e[side]++;
    e.first = Math.min(e.first, at);
    e.last = Math.max(e.last, at);
    want.set(k, e);
  };
  for (const f of flows) { see(f.source_principal, f.source_namespace, 'as_source', ts(f)); see(f.destination_principal, f.destination_namespace, 'as_destination', ts(f)); }
  const items = await all('/api/v1/principals');
  t.same(new Map(items.map((p) => [`${p.principal}|${p.namespace}`, { as_source: p.as_source, as_destination: p.as_destination, first: Date.parse(p.first_seen), last: Date.parse(p.last_seen) }])), want);
  t.same(items.map((p) => p.principal), [...items.map((p) => p.principal)].sort(), 'ordered by principal');
  const servers = await all('/api/v1/principals?role=destination');
  t.same(servers.map((p) => p.principal).sort(), [P.legacy, P.payments].sort());
  const legacy = await all('/api/v1/principals?namespace=legacy');
  t.same(legacy.map((p) => p.principal), [P.legacy]);
});

t.test('GET /stats/timeseries: per-step values equal counts from the flows, zeros included', async (t) => {
  for (const [metric, pred] of [['requests', () => true], ['errors', isError], ['plaintext', (f: Flow) => f.mtls === false]] as const) {
    for (const [step, ms] of [['1m', 60_000], ['5m', 300_000], ['1h', 3_600_000]] as const) {
      const r = await get(`/api/v1/stats/timeseries?metric=${metric}&step=${step}&from=${T0}&to=${T0 + 7_200_000}`);
      t.equal(r.status, 200);
      t.equal(r.body.points.length, 7_200_000 / ms, `${metric} ${step}: one point per step`);
      const want = r.body.points.map((p: any) => count((f) => pred(f) && ts(f) >= Date.parse(p.t) && ts(f) < Date.parse(p.t) + ms));
      t.same(r.body.points.map((p: any) => p.value), want, `${metric} ${step}`);
    }
  }
  const day = await get(`/api/v1/stats/timeseries?metric=requests&step=1d&from=${T0 + 1}&to=${T0 + 2}`);
  t.same(day.body.points, [{ t: '2026-03-01T00:00:00.000Z', value: flows.length }], 'the window is widened to whole steps');
  const ns = await get(`/api/v1/stats/timeseries?metric=requests&step=1h&from=${T0}&to=${T0 + 7_200_000}&namespace=legacy&direction=inbound`);
  t.equal(ns.body.points.reduce((a: number, p: any) => a + p.value, 0), count((f) => (f.source_namespace === 'legacy' || f.destination_namespace === 'legacy') && f.direction === 'inbound'));
  const tooMany = await get(`/api/v1/stats/timeseries?metric=requests&step=1m&from=0&to=${T0}`);
  t.equal(tooMany.status, 400);
  t.ok(tooMany.body.errors.some((e: any) => e.parameter === 'step'));
});

/** A strict RFC 4180 reader, to check what a spreadsheet would see. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      cell += c; i++; continue;
    }
    if (c === '"' && cell === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(cell); cell = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i += 2; continue; }
    if (c === '"' || c === '\n' || c === '\r') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    cell += c; i++;
  }
  if (cell !== '' || row.length) throw new Error('last record not CRLF-terminated');
  return rows;
}

t.test('exports: ndjson has one line per matching flow; CSV is quoted and formula-safe', async (t) => {
  const nd = await get('/api/v1/flows?format=ndjson');
  t.equal(nd.status, 200);
  t.match(nd.type, /^application\/x-ndjson/);
  const lines = nd.text.split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.equal(lines.length, flows.length, 'line count equals the total');
  t.same(new Set(lines.map((l) => JSON.parse(l).request_id)).size, new Set(flows.map((f) => f.request_id)).size);
  const filtered = await get('/api/v1/flows?format=ndjson&mtls=false');
  t.equal(filtered.text.split('\n').length - 1, count((f) => f.mtls === false));
  const capped = await get('/api/v1/flows?format=ndjson&limit=7');
  t.equal(capped.text.split('\n').length - 1, 7, 'limit caps an export');
  const page = await get('/api/v1/flows?limit=10');
  const rest = await get(`/api/v1/flows?format=ndjson&cursor=${page.body.next_cursor}`);
  t.equal(rest.text.split('\n').length - 1, flows.length - 10, 'an export resumes from a cursor');

  const csv = await get('/api/v1/flows?format=csv');
  t.match(csv.type, /^text\/csv/);
  t.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="flows.csv"/);
  const rows = parseCsv(csv.text);
  const header = rows[0]!;
  t.ok(header.includes('reporter.pod') && header.includes('source_principal') && header.includes('source.key'), 'nested objects flattened');
  t.equal(rows.length - 1, flows.length, 'one record per flow');
  const col = (name: string) => header.indexOf(name);
  const agents = new Set(rows.slice(1).map((r) => r[col('user_agent')]!));
  for (const h of HOSTILE) {
    const want = /^[=+\-@\t\r]/.test(h) ? `'${h}` : h;
    if (flows.some((f) => f.user_agent === h)) t.ok(agents.has(want), `user agent ${JSON.stringify(h)} arrives as ${JSON.stringify(want)}`);
  }
  t.same(rows.slice(1).flat().filter((cell) => /^[=+\-@\t\r]/.test(cell)), [], 'no cell starts a formula');
  t.same(rows.slice(1).map((r) => r[col('response_flags')]).filter((x) => x === 'UF,URX').length, count((f) => f.response_flags.join(',') === 'UF,URX'), 'flag lists survive quoting');

  const q = await get('/api/v1/quarantine?format=csv');
  const qrows = parseCsv(q.text);
  t.equal(qrows.length, 2);
  t.equal(qrows[1]![qrows[0]!.indexOf('raw')], "'=cmd|calc");
  const edges = await get(`/api/v1/edges?from=${T0}&to=${T0 + 7_200_000}&format=ndjson`);
  t.same(edgeMap(edges.text.trim().split('\n').map((l) => JSON.parse(l))), expectedEdges(T0, T0 + 7_200_000));
  const principals = await get('/api/v1/principals?format=csv');
  t.equal(parseCsv(principals.text).length - 1, (await all('/api/v1/principals')).length);
  const rid = flows[0]!.request_id!;
  const hops = await get(`/api/v1/requests/${rid}?format=ndjson`);
  t.equal(hops.text.trim().split('\n').length, count((f) => f.request_id === rid));
});

t.test('bad requests get 400/404/413 problem+json naming the parameter', async (t) => {
  const flowsPage = await get('/api/v1/flows?limit=1');
  const edgesPage = await get(`/api/v1/edges?from=${T0}&to=${T0 + 7_200_000}&limit=1`);
  const cases: [string, string][] = [
    ['/api/v1/flows?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'from'],
    ['/api/v1/flows?mtls=yes', 'mtls'],
    ['/api/v1/flows?response_flag=uh', 'response_flag'],
    ['/api/v1/flows?response_flag=U%2CH', 'response_flag'],
    ['/api/v1/flows?source_principal=ns%2FBad_NS', 'source_principal'],
    ['/api/v1/flows?source_principal=a*b', 'source_principal'],
    ['/api/v1/flows?namespace=UPPER', 'namespace'],
    ['/api/v1/flows?format=xml', 'format'],
    ['/api/v1/flows?colour=blue', 'colour'],
    [`/api/v1/flows?cursor=${edgesPage.body.next_cursor}`, 'cursor'],
    [`/api/v1/edges?from=${T0}&to=${T0 + 1}&cursor=${flowsPage.body.next_cursor}`, 'cursor'],
    ['/api/v1/edges?cursor=%%%', 'cursor'],
    ['/api/v1/edges?to=1', 'from'],
    ['/api/v1/edges?from=1', 'to'],
    ['/api/v1/edges?from=5&to=1', 'from'],
    ['/api/v1/principals?role=admin', 'role'],
    ['/api/v1/principals?cursor=W10', 'cursor'],
    ['/api/v1/stats/timeseries?metric=latency&step=1m&from=0&to=1', 'metric'],
    ['/api/v1/stats/timeseries?metric=requests&step=2m&from=0&to=1', 'step'],
    ['/api/v1/stats/timeseries?step=1m&from=0&to=1', 'metric'],
    ['/api/v1/requests/x?limit=0', 'limit'],
    ['/api/v1/openapi.json?x=1', 'x'],
  ];
  for (const [url, parameter] of cases) {
    const r = await get(url);
    t.equal(r.status, 400, url);
    t.match(r.type, /^application\/problem\+json/, url);
    t.ok(r.body.errors?.some((e: any) => e.parameter === parameter), `${url} names ${parameter}: ${r.text}`);
  }
  const big = await get('/api/v1/flows', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(100_000) }) });
  t.equal(big.status, 413);
  t.match(big.type, /^application\/problem\+json/);
  const malformed = await get('/api/v1/flows', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
  t.equal(malformed.status, 400);
  const unknown = await get('/api/v1/flows', { method: 'DELETE' });
  t.equal(unknown.status, 404);
});

t.test('security headers on API responses, none revealing the framework', async (t) => {
  for (const p of ['/api/v1/flows?limit=1', '/api/v1/flows/abc', '/healthz', '/api/v1/flows?format=csv&limit=1']) {
    const r = await get(p);
    t.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    t.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/, p);
    t.equal(r.headers.get('referrer-policy'), 'no-referrer', p);
    t.equal(r.headers.get('x-powered-by'), null, p);
  }
});

/** Every [METHOD, path] Express will answer, walking the router stack. */
function expressRoutes(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      // The console's static pages (`/`, `/console/...`) are not API routes and are not in the document.
      if (layer.route && typeof layer.route.path === 'string' && !layer.route.path.startsWith('/console') && layer.route.path !== '/') {
        for (const m of Object.keys(layer.route.methods)) out.push([m, layer.route.path]);
      }
      else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as any).router.stack);
  return out;
}

t.test('OpenAPI document lists every mounted route with typed parameters', async (t) => {
  const r = await get('/api/v1/openapi.json');
  t.equal(r.status, 200);
  const doc = r.body;
  t.equal(doc.openapi, '3.1.0');
  const routes = expressRoutes();
  t.ok(routes.length >= 10, `found ${routes.length} routes`);
  for (const [method, p] of routes) {
    const openapiPath = p.replace(/:([A-Za-z_]\w*)/g, '{$1}');
    t.ok(doc.paths[openapiPath]?.[method], `${method.toUpperCase()} ${p} is documented`);
  }
  let documented = 0;
  for (const [p, ops] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      documented++;
      t.ok(routes.some(([m, rp]) => m === method && rp.replace(/:([A-Za-z_]\w*)/g, '{$1}') === p), `${method} ${p} exists`);
      t.type(op.summary, 'string');
      t.ok(op.responses['200'], `${p} documents 200`);
      for (const param of op.parameters) {
        t.ok(['query', 'path'].includes(param.in));
        t.type(param.schema, 'object', `${p} ${param.name} has a schema`);
        t.type(param.schema.type ?? param.schema.anyOf, param.schema.type ? 'string' : 'object', `${p} ${param.name} schema has a type`);
      }
      for (const name of p.match(/\{(\w+)\}/g) ?? []) {
        t.ok(op.parameters.some((x: any) => x.in === 'path' && x.required && `{${x.name}}` === name), `${p} declares ${name}`);
      }
    }
  }
  t.equal(documented, routes.length, 'no phantom routes');
  const flowsParams = doc.paths['/api/v1/flows'].get.parameters;
  t.same(flowsParams.find((x: any) => x.name === 'mtls').schema.enum, ['true', 'false', 'unknown']);
  t.equal(flowsParams.find((x: any) => x.name === 'from').required, false);
  t.equal(doc.paths['/api/v1/edges'].get.parameters.find((x: any) => x.name === 'from').required, true);
  t.ok(doc.paths['/api/v1/flows'].get.responses['200'].content['text/csv']);
});

t.test('docs page is self-contained HTML listing every route', async (t) => {
  const r = await get('/api/docs');
  t.equal(r.status, 200);
  t.match(r.type, /^text\/html/);
  const doc = (await get('/api/v1/openapi.json')).body;
  for (const p of Object.keys(doc.paths)) t.ok(r.text.includes(p.replace(/&/g, '&#38;')), `lists ${p}`);
  t.notMatch(r.text, /<script|src=|https?:\/\/(?!json)/i, 'no scripts, no external assets');
  t.match(r.headers.get('content-security-policy') ?? '', /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);
});

t.test('/metrics exposes API request counters and latency', async (t) => {
  await get('/api/v1/flows?limit=1');
  await get('/api/v1/flows/abc');
  const r = await get('/metrics');
  t.equal(r.status, 200);
  t.match(r.type, /^text\/plain/);
  t.match(r.text, /meshtrail_api_requests_total\{[^}]*route="\/api\/v1\/flows"[^}]*status="200"[^}]*\} \d+/);
  t.match(r.text, /meshtrail_api_requests_total\{[^}]*route="\/api\/v1\/flows\/:id"[^}]*status="400"[^}]*\} \d+/);
  t.match(r.text, /meshtrail_api_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+/);
  t.notMatch(r.text, /route="\/api\/v1\/flows\/abc"/, 'raw URLs never become labels');
});
