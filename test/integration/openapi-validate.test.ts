import http from 'node:http';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import t from 'tap';
import { z } from 'zod';
import { coverageRoutes } from '../../src/api/coverage.routes.js';
import { edgesRoutes } from '../../src/api/edges.routes.js';
import { findingsRoutes } from '../../src/api/findings.routes.js';
import { flowsRoutes } from '../../src/api/flows.routes.js';
import { metaRoutes } from '../../src/api/meta.routes.js';
import { policyRoutes } from '../../src/api/policy.routes.js';
import { principalsRoutes } from '../../src/api/principals.routes.js';
import { quarantineRoutes } from '../../src/api/quarantine.routes.js';
import { reportRoutes } from '../../src/api/reports.routes.js';
import type { RouteSpec } from '../../src/api/route-spec.js';
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
  const doc = (await res.json()) as any;
  // validate() checks the document against the OpenAPI 3.1 schema and resolves every $ref.
  const api = (await SwaggerParser.validate(structuredClone(doc))) as { paths: Record<string, Record<string, unknown>> };
  for (const p of ['/api/v1/flows', '/api/v1/flows/{id}', '/api/v1/requests/{request_id}', '/api/v1/requests/{request_id}/hops', '/api/v1/edges',
    '/api/v1/principals', '/api/v1/stats/timeseries', '/api/v1/quarantine', '/api/v1/coverage', '/api/v1/reports/mtls',
    '/api/v1/findings', '/api/v1/findings/{id}', '/api/v1/policy/replay']) {
    t.ok(api.paths[p], `${p} is documented`);
  }
  t.ok(api.paths['/api/v1/findings/{id}']?.patch, 'PATCH findings is documented');

  // Every route that declares a body documents it as a required JSON requestBody whose schema is
  // the body's zod schema as the client writes it; no other operation claims a body.
  const store = new Store(db);
  const specs: RouteSpec[] = [
    ...metaRoutes(store, () => ({}), undefined), ...flowsRoutes(store), ...quarantineRoutes(store), ...edgesRoutes(store), ...principalsRoutes(store),
    ...coverageRoutes(store), ...findingsRoutes(store), ...policyRoutes(store), ...reportRoutes({ store, policies: null, signingKey: () => { throw new Error('unused'); } }),
  ];
  const withBody = specs.filter((s) => s.body).map((s) => `${s.method} ${s.path}`);
  for (const must of ['patch /api/v1/findings/{id}', 'post /api/v1/policy/replay']) t.ok(withBody.includes(must), `${must} declares its body in the route table`);
  type Op = { requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> }; responses: Record<string, unknown> };
  const ops = doc.paths as Record<string, Record<string, Op>>;
  for (const spec of specs.filter((s) => s.body)) {
    const op = ops[spec.path]?.[spec.method];
    const { $schema: _drop, ...expected } = z.toJSONSchema(spec.body!, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    t.equal(op?.requestBody?.required, true, `${spec.method} ${spec.path}: body required`);
    t.same(Object.keys(op?.requestBody?.content ?? {}), ['application/json'], `${spec.method} ${spec.path}: JSON body`);
    t.same(op?.requestBody?.content?.['application/json']?.schema, expected, `${spec.method} ${spec.path}: body schema is the route's`);
    t.ok(op?.responses['400'] && op.responses['413'], `${spec.method} ${spec.path}: 400 and 413 documented`);
  }
  const documentedBodies = Object.entries(ops).flatMap(([p, byMethod]) => Object.entries(byMethod).filter(([, op]) => op.requestBody).map(([m]) => `${m} ${p}`));
  t.same(documentedBodies.sort(), [...withBody].sort(), 'exactly the routes with a body document one');
  const replayBody = ops['/api/v1/policy/replay']!.post!.requestBody!.content!['application/json']!.schema as { properties: Record<string, unknown>; additionalProperties: unknown };
  t.same(Object.keys(replayBody.properties).sort(), ['from', 'policies', 'policies_yaml', 'to'], 'replay body fields');
  t.equal(replayBody.additionalProperties, false, 'unknown body fields are refused, as the server does');

  // The validator must be able to fail: a broken document is refused.
  const broken = structuredClone(doc);
  broken.paths['/api/v1/flows'].get.responses = 'not an object';
  await t.rejects(SwaggerParser.validate(broken));
  const brokenBody = structuredClone(doc);
  brokenBody.paths['/api/v1/policy/replay'].post.requestBody = { required: true };
  await t.rejects(SwaggerParser.validate(brokenBody), 'a requestBody without content is refused');
});
