import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { composeApi } from '../../src/cli/compose-api.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

t.test('GET /requests/{id}/hops pairs each client line with its server line, both views side by side', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'h.db');
  const db = openDatabase(file);
  const store = new Store(db);
  // JSON-only traffic carries identity operators on both sides.
  const lines = generateMeshTraffic({ requests: 30, seed: 5, jsonShare: 1, envelopeShare: 0, malformed: false });
  await ingestStream(store, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { format: 'auto', label: 'hops' });
  const server = composeApi({ store, databaseFile: file }) as http.Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.close(); db.close(); });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const someRid = (JSON.parse(lines.find((l) => l.includes('outbound|9080||ratings.bookinfo'))!) as { request_id: string }).request_id;
  const res = await fetch(`${base}/api/v1/requests/${someRid}/hops`);
  t.equal(res.status, 200);
  const body = (await res.json()) as { request_id: string; truncated: boolean; hops: { status: string; client: any; server: any }[] };
  t.equal(body.request_id, someRid);
  t.equal(body.truncated, false);
  const matched = body.hops.filter((h) => h.status === "matched");
  t.ok(matched.length >= 3, `gateway->productpage->reviews->ratings chain joined (${matched.length} matched hops)`);
  for (const h of matched) {
    t.ok(h.client && h.server, 'both sides present');
  }
  const missing = await fetch(`${base}/api/v1/requests/no-such-request/hops`);
  t.equal(missing.status, 404);
  t.match(missing.headers.get('content-type') ?? '', /problem\+json/);
});
