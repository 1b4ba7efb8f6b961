import http from 'node:http';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import t from 'tap';
import { composeApi } from '../../src/cli/compose-api.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

t.test('the served OpenAPI document is valid OpenAPI 3.1 and documents every API route meshtrail mounts', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'o.db');
  const db = openDatabase(file);
  const server = composeApi({ store: new Store(db), databaseFile: file }) as http.Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.close(); db.close(); });
  const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/openapi.json`);
  t.equal(res.status, 200);
  const doc = await res.json();
  // validate() checks the document against the OpenAPI 3.1 schema and resolves every $ref.
  const api = (await SwaggerParser.validate(structuredClone(doc))) as { paths: Record<string, Record<string, unknown>> };
  for (const p of ['/api/v1/flows', '/api/v1/flows/{id}', '/api/v1/requests/{request_id}', '/api/v1/requests/{request_id}/hops', '/api/v1/edges',
    '/api/v1/principals', '/api/v1/stats/timeseries', '/api/v1/quarantine', '/api/v1/coverage', '/api/v1/reports/mtls',
    '/api/v1/findings', '/api/v1/findings/{id}', '/api/v1/policy/replay']) {
    t.ok(api.paths[p], `${p} is documented`);
  }
  t.ok(api.paths['/api/v1/findings/{id}']?.patch, 'PATCH findings is documented');
  // The validator must be able to fail: a broken document is refused.
  const broken = structuredClone(doc);
  broken.paths['/api/v1/flows'].get.responses = 'not an object';
  await t.rejects(SwaggerParser.validate(broken));
});
