import http from 'node:http';
import express from 'express';
import t from 'tap';
import { SinksStatusResponseSchema, type SinkStatus } from '../../../schemas/sinks-config.js';
import { sinksRouter, sinksRoutes } from '../../../src/api/sinks.routes.js';

const parked: SinkStatus = {
  name: 'splunk', type: 'splunk_hec', state: 'parked', cursor: 3, lag: 9, delivered: 3, failures: 1, consecutive_failures: 0,
  next_attempt_at: null, last_success_at: '2026-03-01T10:00:00.000Z',
  last_error: { code: 'http_403', message: 'receiver answered HTTP 403: Invalid token', at: '2026-03-01T10:00:01.000Z' },
  parked: { code: 'http_403', message: 'receiver answered HTTP 403: Invalid token', at: '2026-03-01T10:00:01.000Z' },
};

t.test('GET /api/v1/sinks serves the dispatcher status over HTTP', async (t) => {
  let calls = 0;
  const app = express().use(sinksRouter({ status: () => { calls++; return [parked]; } }));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/sinks`);
  t.equal(res.status, 200);
  const body = await res.json();
  t.same(body, { items: [parked] });
  t.ok(SinksStatusResponseSchema.safeParse(body).success, 'matches the documented response schema');
  t.equal(calls, 1, 'status is read per request, never cached');
});

t.test('the RouteSpec form answers the same body', async (t) => {
  const [spec] = sinksRoutes({ status: () => [parked] });
  t.match(spec, { method: 'get', path: '/api/v1/sinks', access: 'read' });
  t.same(await spec!.handle({} as never), { items: [parked] });
});
