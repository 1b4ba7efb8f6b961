import t from 'tap';
import { and3, compileIpBlocks, compilePathValue, compileStringValue, not3, or3, stripPort } from '../../../src/policy/match.js';

t.test('Kleene connectives', async (t) => {
  const vals = [true, false, null] as const;
  const table = vals.flatMap((a) => vals.map((b) => [a, b, and3(a, b), or3(a, b)]));
  t.same(table, [
    [true, true, true, true], [true, false, false, true], [true, null, null, true],
    [false, true, false, true], [false, false, false, false], [false, null, false, null],
    [null, true, null, true], [null, false, false, null], [null, null, null, null],
  ]);
  t.same(vals.map(not3), [false, true, null]);
});

t.test('Istio string values', async (t) => {
  t.ok(compileStringValue('abc')('abc'));
  t.notOk(compileStringValue('abc')('abcd'));
  t.ok(compileStringValue('abc*')('abcd'));
  t.ok(compileStringValue('abc*')('abc'));
  t.ok(compileStringValue('*abc')('xabc'));
  t.notOk(compileStringValue('*abc')('abcx'));
  t.ok(compileStringValue('*')('x'));
  t.notOk(compileStringValue('*')(''), 'presence needs a non-empty value');
  t.ok(compileStringValue('Example.COM', true)('example.com'));
  t.notOk(compileStringValue('GET')('get'), 'methods are case-sensitive');
});

t.test('path templates escape the rest of the pattern', async (t) => {
  t.ok(compilePathValue('/a.b/{*}')('/a.b/x'));
  t.notOk(compilePathValue('/a.b/{*}')('/aXb/x'));
  t.notOk(compilePathValue('/a/{*}')('/a/'));
  t.ok(compilePathValue('/a/{**}')('/a/'));
});

t.test('ip blocks and ports', async (t) => {
  const p = compileIpBlocks(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);
  t.equal(p('10.200.0.1'), true);
  t.equal(p('192.0.2.1:443'), true);
  t.equal(p('192.0.2.2'), false);
  t.equal(p('[fd00::5]:80'), true);
  t.equal(p('not-an-ip'), null);
  t.equal(stripPort('[::1]:80'), '::1');
  t.equal(stripPort('::1'), '::1');
  t.equal(stripPort('host:80'), 'host');
});
