import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { createApp } from '../../src/api/app.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { Readable } from 'node:stream';
import { countRows } from '../../src/store/flows.query.js';
import { FlowSchema } from '../../schemas/flow.js';

const dir = t.testdir({});
const db = openDatabase(path.join(dir, 'api.db'));
const store = new Store(db);
const lines = generateMeshTraffic({ requests: 400, seed: 11, end: Date.parse('2026-03-01T12:00:00Z') });
await ingestStream(store, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { format: 'auto', label: 'test' });
const totals = countRows(store);
const server = http.createServer(createApp({ store, logError: () => {} }));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
t.teardown(() => { server.close(); db.close(); });

const get = async (p: string) => {
  const res = await fetch(base + p);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> };
};

t.test('healthz reports ok and counts', async (t) => {
  const r = await get('/healthz');
  t.equal(r.status, 200);
  t.same(r.body, { status: 'ok', flows: totals.flows, quarantine: totals.quarantine });
});

t.test('cursor pagination walks every flow exactly once, in time order', async (t) => {
  const seen = new Set<number>();
  let cursor: string | null = null;
  let pages = 0;
  let lastTs = '';
  do {
    const r = await get(`/api/v1/flows?limit=250${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(r.status, 200);
    for (const f of r.body.items) {
      t.notOk(seen.has(f.id), 'no flow twice');
      seen.add(f.id);
      const { id: _i, source: _s, ...flow } = f;
      if (pages === 0 && seen.size === 1) t.ok(FlowSchema.safeParse(flow).success, 'items are schema-valid flows');
      if (f.start_time) { t.ok(f.start_time >= lastTs || lastTs === '', 'time order'); lastTs = f.start_time; }
    }
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor);
  t.equal(seen.size, totals.flows);
  t.ok(pages > 1);
});

t.test('filters: direction, response code and class, destination service, request id, time range', async (t) => {
  const inbound = await get('/api/v1/flows?direction=inbound&limit=1000');
  t.ok(inbound.body.items.length > 0);
  t.ok(inbound.body.items.every((f: any) => f.direction === 'inbound'));
  const fivexx = await get('/api/v1/flows?response_code=5xx&limit=1000');
  t.ok(fivexx.body.items.length > 0);
  t.ok(fivexx.body.items.every((f: any) => f.response_code >= 500 && f.response_code < 600));
  const exact = await get('/api/v1/flows?response_code=404&limit=1000');
  t.ok(exact.body.items.every((f: any) => f.response_code === 404));
  const svc = await get('/api/v1/flows?destination_service=ratings.bookinfo.svc.cluster.local&limit=1000');
  t.ok(svc.body.items.length > 0);
  t.ok(svc.body.items.every((f: any) => f.destination_service === 'ratings.bookinfo.svc.cluster.local'));
  const none = await get('/api/v1/flows?destination_service=never.seen');
  t.same(none.body, { items: [], next_cursor: null });
  const rid = svc.body.items[0].request_id;
  const hops = await get(`/api/v1/flows?request_id=${rid}`);
  t.ok(hops.body.items.length >= 2, 'a request id finds every hop of the request');
  t.ok(hops.body.items.every((f: any) => f.request_id === rid));
  const window = await get('/api/v1/flows?from=2026-03-01T11:30:00Z&to=2026-03-01T11:31:00Z&limit=1000');
  t.ok(window.body.items.length > 0);
  t.ok(window.body.items.every((f: any) => f.start_time >= '2026-03-01T11:30:00.000Z' && f.start_time < '2026-03-01T11:31:00.000Z'));
});

t.test('bad parameters get 400 problem+json naming the parameter', async (t) => {
  const cases: [string, string][] = [
    ['/api/v1/flows?limit=0', 'limit'],
    ['/api/v1/flows?limit=abc', 'limit'],
    ['/api/v1/flows?direction=sideways', 'direction'],
    ['/api/v1/flows?response_code=5x', 'response_code'],
    ['/api/v1/flows?from=yesterday', 'from'],
    ['/api/v1/flows?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'from'],
    ['/api/v1/flows?cursor=not-a-cursor', 'cursor'],
    ['/api/v1/flows?colour=blue', 'colour'],
    ['/api/v1/flows?direction=inbound&direction=outbound', 'direction'],
    ['/api/v1/quarantine?limit=5000', 'limit'],
  ];
  for (const [url, parameter] of cases) {
    const r = await get(url);
    t.equal(r.status, 400, url);
    t.match(r.type, /^application\/problem\+json/, url);
    t.ok(r.body.errors.some((e: any) => e.parameter === parameter), `${url} names ${parameter}: ${JSON.stringify(r.body.errors)}`);
  }
  const missing = await get('/api/v1/nothing-here');
  t.equal(missing.status, 404);
  t.match(missing.type, /^application\/problem\+json/);
});

t.test('quarantine lists rejected lines with reason, raw text and position', async (t) => {
  const r = await get('/api/v1/quarantine');
  t.equal(r.status, 200);
  t.equal(r.body.items.length, totals.quarantine);
  for (const q of r.body.items) {
    t.type(q.reason, 'string');
    t.ok(lines.includes(q.raw), 'raw line kept verbatim');
    t.equal(q.source.label, 'test');
    t.type(q.source.line, 'number');
  }
});
