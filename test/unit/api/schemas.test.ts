import t from 'tap';
import {
  ApiAuthConfigSchema, CursorSchema, EdgeCursorSchema, FlowIdParamsSchema, PrincipalFilterSchema, TimeseriesQuerySchema, encodeCursor, encodeKey,
} from '../../../schemas/api.js';

t.test('principal filters: exact, namespace, prefix', (t) => {
  t.same(PrincipalFilterSchema.parse('spiffe://td/ns/a/sa/b'), { kind: 'exact', value: 'spiffe://td/ns/a/sa/b' });
  t.same(PrincipalFilterSchema.parse('ns/shop'), { kind: 'namespace', value: 'shop' });
  t.same(PrincipalFilterSchema.parse('spiffe://td/ns/*'), { kind: 'prefix', value: 'spiffe://td/ns/' });
  for (const bad of ['', '*', 'a*b', '**', 'ns/', 'ns/UP', 'ns/a/b', 'ns/-x']) t.notOk(PrincipalFilterSchema.safeParse(bad).success, JSON.stringify(bad));
  t.end();
});

t.test('cursors round-trip and refuse each other', (t) => {
  t.same(CursorSchema.parse(encodeCursor(1700000000000, 42)), { ts: 1700000000000, id: 42 });
  t.same(EdgeCursorSchema.parse(encodeKey([0, 5, -1])), [0, 5, -1]);
  t.notOk(CursorSchema.safeParse(encodeKey([0, 5, -1])).success, 'an edge cursor is not a flow cursor');
  t.notOk(EdgeCursorSchema.safeParse(encodeCursor(1, 2)).success, 'a flow cursor is not an edge cursor');
  for (const bad of ['', 'not a cursor', '%%', Buffer.from('{"ts":1}').toString('base64url'), encodeKey([1, 0])]) t.notOk(CursorSchema.safeParse(bad).success, bad);
  t.end();
});

t.test('flow ids: positive decimal integers only', (t) => {
  t.same(FlowIdParamsSchema.parse({ id: '17' }), { id: 17 });
  for (const bad of ['0', '017', '-1', '1e3', '1.0', ' 1', '1 ', '../1', '9999999999999999']) t.notOk(FlowIdParamsSchema.safeParse({ id: bad }).success, bad);
  t.end();
});

t.test('timeseries refuses ranges with too many points', (t) => {
  t.ok(TimeseriesQuerySchema.safeParse({ metric: 'requests', step: '1m', from: '0', to: String(10_000 * 60_000) }).success);
  const r = TimeseriesQuerySchema.safeParse({ metric: 'requests', step: '1m', from: '0', to: String(10_001 * 60_000) });
  t.notOk(r.success);
  t.same(r.error?.issues.map((i) => i.path), [['step']]);
  t.end();
});

t.test('auth config: hashed tokens, unique, lower-cased', (t) => {
  const hex = 'AB'.repeat(32);
  const c = ApiAuthConfigSchema.parse({ tokens: [{ name: 'ci', sha256: hex, role: 'read' }] });
  t.equal(c.tokens[0]!.sha256, hex.toLowerCase());
  t.same(c.rate_limit, { requests_per_second: 50, burst: 100 }, 'defaults live in the schema');
  t.same(ApiAuthConfigSchema.parse({}).tokens, []);
  t.notOk(ApiAuthConfigSchema.safeParse({ tokens: [{ name: 'ci', sha256: 'secret-in-clear', role: 'read' }] }).success, 'a clear-text token is refused');
  t.notOk(ApiAuthConfigSchema.safeParse({ tokens: [{ name: 'a', sha256: hex, role: 'read' }, { name: 'b', sha256: hex.toLowerCase(), role: 'admin' }] }).success, 'the same token twice');
  t.notOk(ApiAuthConfigSchema.safeParse({ tokens: [{ name: 'a', sha256: hex, role: 'root' }] }).success);
  t.end();
});
