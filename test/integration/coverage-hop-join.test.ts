// The hop join over HTTP: a generated client/server pair of lines is ingested, and a tiny route
// (standing in for GET /api/v1/requests/{request_id}, which another engineer owns) returns
// joinHops over the stored flows of one request id.
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import express from 'express';
import t from 'tap';
import type { FlowsQuery } from '../../schemas/api.js';
import { HopsSchema } from '../../schemas/hop.js';
import { joinHops } from '../../src/enrich/hop-join.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { flowRows } from '../../src/store/flows.query.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

const CLIENT = 'spiffe://cluster.local/ns/web/sa/frontend';
const SERVER = 'spiffe://cluster.local/ns/shop/sa/cart';
const RID = '6f1c9a2e-0b7d-4d1e-9a51-2f3b7c1d0e99';

/** One request as both sidecars log it (Telemetry labels with identity keys). */
function pair(rid: string, ms: number): string[] {
  const ts = (d: number) => new Date(Date.parse('2026-03-01T10:00:00.000Z') + ms + d).toISOString();
  const common = { method: 'GET', path: '/cart', protocol: 'HTTP/1.1', response_code: 200, request_id: rid, authority: 'cart.shop:8080' };
  return [
    JSON.stringify({ ...common, start_time: ts(0), duration: 12, upstream_cluster: 'outbound|8080||cart.shop.svc.cluster.local',
      upstream_host: '10.1.0.7:8080', upstream_local_address: '10.1.0.5:41234', downstream_local_address: '10.96.0.10:8080',
      downstream_remote_address: '10.1.0.5:50000', upstream_peer_uri_san: SERVER, upstream_local_uri_san: CLIENT,
      upstream_tls_version: 'TLSv1.3', upstream_tls_cipher: 'TLS_AES_128_GCM_SHA256' }),
    JSON.stringify({ ...common, start_time: ts(2), duration: 9, upstream_cluster: 'inbound|8080||', upstream_host: '10.1.0.7:8080',
      upstream_local_address: '127.0.0.6:51111', downstream_local_address: '10.1.0.7:8080', downstream_remote_address: '10.1.0.5:41234',
      requested_server_name: 'outbound_.8080_._.cart.shop.svc.cluster.local', downstream_peer_uri_san: CLIENT,
      downstream_local_uri_san: SERVER, downstream_tls_version: 'TLSv1.3', downstream_tls_cipher: 'TLS_AES_128_GCM_SHA256' }),
  ];
}

const dir = t.testdir({});
const db = openDatabase(path.join(dir, 'hops.db'));
const store = new Store(db);
const lines = [...pair(RID, 0), ...pair('other-request', 5)];
await ingestStream(store, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { format: 'auto', label: 'hops' });

const app = express();
app.get('/requests/:id/hops', (req, res) => {
  const flows = [...flowRows(store, { request_id: req.params.id } as FlowsQuery)].map((r) => r.item);
  if (flows.length === 0) { res.status(404).json({ detail: 'no flow carries this request id' }); return; }
  res.json({ request_id: req.params.id, hops: HopsSchema.parse(joinHops(flows)) });
});
const server = http.createServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
t.teardown(() => { server.close(); db.close(); });

t.test('the stored client and server lines of one request come back as one hop', async (t) => {
  const res = await fetch(`${base}/requests/${RID}/hops`);
  t.equal(res.status, 200);
  const body = (await res.json()) as { request_id: string; hops: unknown };
  const hops = HopsSchema.parse(body.hops);
  t.equal(hops.length, 1);
  const h = hops[0]!;
  t.equal(h.status, 'matched');
  t.same(h.matched_by, ['request_id', 'server_address', 'client_address']);
  t.equal(h.request_id, RID);
  t.equal(h.client!.destination_principal, SERVER, 'the client proves who answered');
  t.equal(h.client!.tls_version, 'TLSv1.3');
  t.equal(h.client!.mtls, true);
  t.equal(h.server!.source_principal, CLIENT, 'the server proves who called');
  t.equal(h.server!.mtls, true);
  t.match(h.server!.mtls_evidence, /^downstream_peer_uri_san/);
  t.equal(h.client!.reporter.kind, 'sidecar');
});

t.test('an unknown request id is 404', async (t) => {
  t.equal((await fetch(`${base}/requests/nope/hops`)).status, 404);
});
