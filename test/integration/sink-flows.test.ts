/**
 * Raw-flow forwarding (`flows:`) through real HTTP receivers (Splunk HEC and a signed webhook):
 * with the `plaintext` filter exactly the plaintext flows of a generated mesh arrive, once each
 * and in id order, across a receiver outage and a dispatcher restart, while findings keep
 * arriving in their own batches; flows deleted by retention before they were forwarded are
 * reported (metric, log, GET /api/v1/sinks).
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import express from 'express';
import t, { type Test } from 'tap';
import { FlowsQuerySchema } from '../../schemas/api.js';
import { SplunkHecSinkConfigSchema, WebhookSinkConfigSchema, type SinkConfig } from '../../schemas/sinks-config.js';
import { sinksRouter } from '../../src/api/sinks.routes.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { createSinkDispatcher } from '../../src/sinks/factory.js';
import { SqliteOutbox } from '../../src/sinks/outbox.js';
import { flowRows } from '../../src/store/flows.query.js';
import { runRetention } from '../../src/store/retention.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';
import { Registry } from '../../src/telemetry/metrics.js';
import { HEC_TOKEN, WEBHOOK_SECRET, appendEvents, authorizedDelivery, memoryLogger, openTestDb, waitFor } from '../unit/sinks/fixtures.js';


interface Doc { event: { id: string; dataset: string; kind: string }; meshtrail: { flow?: { id: number; mtls?: boolean } } }

interface Receiver {
  url: string;
  /** event id -> times received */
  seen: Map<string, number>;
  /** Flow ids in arrival order. */
  flowOrder: number[];
  /** Requests that mixed findings and flows, or carried a wrong sourcetype. */
  mixed: number;
  unauthorized: number;
  /** Answer this status to every request while set (an outage). */
  failWith: number | null;
  refused: number;
}

async function receiver(t: Test, kind: 'hec' | 'webhook'): Promise<Receiver> {
  const r: Receiver = { url: '', seen: new Map(), flowOrder: [], mixed: 0, unauthorized: 0, failWith: null, refused: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const ok = authorizedDelivery(kind, req, body);
      if (!ok) { r.unauthorized++; res.writeHead(401).end('{"text":"Invalid token","code":4}'); return; }
      if (r.failWith !== null) { r.refused++; res.writeHead(r.failWith).end('{"text":"Server is busy","code":9}'); return; }
      const docs: Doc[] = kind === 'hec'
        ? body.split('\n').map((l) => {
          const o = JSON.parse(l) as { sourcetype: string; event: Doc };
          if (o.sourcetype !== (o.event.event.dataset === 'meshtrail.flow' ? 'meshtrail:flow' : 'meshtrail:finding')) r.mixed++;
          return o.event;
        })
        : (JSON.parse(body) as { events: Doc[] }).events;
      if (new Set(docs.map((d) => d.event.dataset)).size !== 1) r.mixed++;
      for (const d of docs) {
        r.seen.set(d.event.id, (r.seen.get(d.event.id) ?? 0) + 1);
        if (d.event.dataset === 'meshtrail.flow') r.flowOrder.push(d.meshtrail.flow!.id);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return r;
}

function sinkConfig(kind: 'hec' | 'webhook', url: string, flows: unknown): SinkConfig {
  const common = { batch_max_events: 4, poll_interval_ms: 50, retry: { initial_ms: 20, max_ms: 200 }, timeout_ms: 5000, flows };
  return kind === 'hec'
    ? SplunkHecSinkConfigSchema.parse({ type: 'splunk_hec', url, token: HEC_TOKEN, ...common })
    : WebhookSinkConfigSchema.parse({ type: 'webhook', url: `${url}/hook`, secret: WEBHOOK_SECRET, ...common });
}

const ingest = (store: Store, lines: string[], label: string) =>
  ingestStream(store, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { format: 'auto', label });

for (const kind of ['hec', 'webhook'] as const) {
  const name = kind === 'hec' ? 'splunk_hec' : 'webhook';

  t.test(`${kind}: exactly the plaintext flows arrive, once each, across an outage and a restart; findings unaffected`, async (t) => {
    const db = openTestDb(t.testdir());
    const store = new Store(db);
    const outbox = new SqliteOutbox(db);
    const rcv = await receiver(t, kind);
    const cfg = sinkConfig(kind, rcv.url, 'plaintext');
    const deps = { db, store, version: '0.1.0', logger: memoryLogger().logger };
    let d = createSinkDispatcher([cfg], { ...deps, metrics: new Registry() });
    t.teardown(async () => { await d.stop(Date.now() + 2000); db.close(); });
    await d.start();
    await waitFor('flow cursor created', () => d.status()[0]!.flows?.state === 'idle');

    const mesh = generateMeshTraffic({ requests: 600, seed: 5, end: Date.parse('2026-03-01T12:00:00Z') });
    const half = Math.floor(mesh.length / 2);
    await ingest(store, mesh.slice(0, half), 'part-1');
    appendEvents(db, 1, 20);
    d.notify();
    await waitFor('part 1 forwarded', () => { const s = d.status()[0]!; return s.cursor === 20 && s.flows!.lag === 0; });

    // Outage: the receiver refuses everything while more flows and findings are stored.
    const cursorAtOutage = d.status()[0]!.flows!.cursor;
    rcv.failWith = 503;
    await ingest(store, mesh.slice(half), 'part-2');
    appendEvents(db, 21, 10);
    d.notify();
    await waitFor('a refused send', () => rcv.refused >= 2);
    // Restart while the receiver is still down.
    await d.stop(Date.now() + 2000);
    d = createSinkDispatcher([cfg], { ...deps, metrics: new Registry() });
    await d.start();
    const refusedAtRestart = rcv.refused;
    await waitFor('the restarted dispatcher retries', () => rcv.refused > refusedAtRestart);
    rcv.failWith = null;
    await waitFor('everything forwarded', () => { const s = d.status()[0]!; return s.cursor === 30 && s.flows!.lag === 0 && s.flows!.state === 'idle'; });

    const plaintext = [...flowRows(store, FlowsQuerySchema.parse({ mtls: 'false' }))].map((r) => r.item);
    const all = [...flowRows(store, FlowsQuerySchema.parse({}))].length;
    t.ok(plaintext.length > 10 && plaintext.length < all, `the mesh has plaintext flows (${plaintext.length} of ${all})`);
    const duringOutage = plaintext.filter((f) => f.id > cursorAtOutage).length;
    t.ok(duringOutage > 4 && duringOutage < plaintext.length, `plaintext flows on both sides of the outage (${duringOutage} stored during it: several batches)`);
    const expectedFlowIds = plaintext.map((f) => `flow-${f.source.key}-${f.source.pos}`).sort();
    const gotFlowIds = [...rcv.seen.keys()].filter((id) => id.startsWith('flow-')).sort();
    t.same(gotFlowIds, expectedFlowIds, 'exactly the plaintext flows arrived');
    t.same([...rcv.seen.entries()].filter(([, n]) => n !== 1), [], 'each event once');
    t.same(rcv.flowOrder, plaintext.map((f) => f.id).sort((a, b) => a - b), 'flows in id order');
    t.equal([...rcv.seen.keys()].filter((id) => !id.startsWith('flow-')).length, 30, 'all 30 findings events arrived too');
    t.equal(rcv.mixed, 0, 'findings and flows never share a batch; flows carry their own dataset (and sourcetype)');
    t.equal(rcv.unauthorized, 0);
    const s = d.status()[0]!;
    t.match(s, { name, state: 'idle', lag: 0, flows: { filter: { mtls: ['false'] }, state: 'idle', delivered: plaintext.length, lost: 0, parked: null } });
    t.equal(s.flows!.started_at_flow_id, 0, 'started with the first flow stored after the first start');
  });
}

t.test('webhook: flows deleted by retention before they were forwarded are counted and reported', async (t) => {
  const db = openTestDb(t.testdir());
  const store = new Store(db);
  registerRollups(store);
  const rcv = await receiver(t, 'webhook');
  const registry = new Registry();
  const { logger, entries } = memoryLogger();
  const cfg = sinkConfig('webhook', rcv.url, 'plaintext');
  let d = createSinkDispatcher([cfg], { db, store, version: '0.1.0', logger: memoryLogger().logger });
  t.teardown(async () => { await d.stop(Date.now() + 2000); db.close(); });
  await d.start();
  await waitFor('flow cursor created', () => d.status()[0]!.flows?.state === 'idle');

  const end = Date.parse('2026-01-10T12:00:00Z');
  await ingest(store, generateMeshTraffic({ requests: 60, seed: 1, end }), 'before');
  d.notify();
  await waitFor('forwarded', () => d.status()[0]!.flows!.lag === 0);
  rcv.failWith = 503;
  await ingest(store, generateMeshTraffic({ requests: 60, seed: 2, end }), 'during-outage');
  d.notify();
  await waitFor('a refused send', () => rcv.refused >= 1);
  // meshtrail is stopped while retention runs (days later), so no send races the deletion.
  await d.stop(Date.now() + 2000);
  const cursor = d.status()[0]!.flows!.cursor;
  const deleted = await runRetention(db, { flows_days: 14, quarantine_days: 0, rollups_days: 0, chunk_rows: 500, incremental_vacuum_pages: 0 }, { now: end + 30 * 86_400_000 });
  t.ok(deleted.flows > 0, `retention deleted ${deleted.flows} flows`);
  const { m: max } = db.prepare('SELECT max(id) AS m FROM flows').get() as { m: number };
  const { n: left } = db.prepare('SELECT count(*) AS n FROM flows WHERE id > ?').get(cursor) as { n: number };
  const expectedLost = max - cursor - left;
  t.ok(expectedLost > 0, `${expectedLost} flows after the cursor were deleted`);

  d = createSinkDispatcher([cfg], { db, store, version: '0.1.0', logger, metrics: registry });
  const server = http.createServer(express().use(sinksRouter(d)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const api = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/sinks`;
  rcv.failWith = null;
  await d.start();
  await waitFor('caught up', () => d.status()[0]!.flows!.lag === 0 && d.status()[0]!.flows!.state === 'idle');

  const body = await (await fetch(api)).json() as { items: { flows: { lost: number; last_lost_at: string | null } }[] };
  t.equal(body.items[0]!.flows.lost, expectedLost, 'GET /api/v1/sinks shows the lost flows');
  t.ok(body.items[0]!.flows.last_lost_at);
  t.match(registry.render(), new RegExp(`meshtrail_sink_flows_lost_total\\{sink="webhook"\\} ${expectedLost}\\b`), 'metric');
  const warned = entries.filter((e) => e.level === 40 && e.stream === 'flows' && typeof e.lost === 'number');
  t.equal(warned.reduce((n, e) => n + (e.lost as number), 0), expectedLost, 'logged at warn');
  const survivors = [...flowRows(store, FlowsQuerySchema.parse({ mtls: 'false' }))].filter((r) => r.item.id > cursor);
  // Retention keeps the newest flow; whatever plaintext flow survived still arrives.
  t.same(survivors.map((f) => rcv.seen.get(`flow-${f.item.source.key}-${f.item.source.pos}`)), survivors.map(() => 1), 'surviving plaintext flows arrive');
});
