import t from 'tap';
import { isFlowShapeValid, validateFlow } from '../../../src/parse/flow-check.js';
import { isCanonicalIso } from '../../../src/parse/fields.js';
import { FlowSchema, emptyFlow, type Flow } from '../../../schemas/flow.js';

// The cheap check must never accept what zod rejects; we compare both on many mutated flows.
function sample(): Flow {
  const f = emptyFlow('istio-text-1.9');
  Object.assign(f, {
    start_time: '2024-02-29T23:59:59.999Z', method: 'GET', response_code: 200, response_flags: ['UH'], bytes_sent: 5,
    duration: 1.5, direction: 'inbound', destination_port: 8080, mtls: true, extra: { a: 'b' },
  });
  f.reporter = { kind: 'sidecar', pod: 'p', namespace: 'n', container: 'c', labels: { app: 'x' } };
  return f;
}

const BAD_VALUES: unknown[] = [
  undefined, null, '', 'x', '-', -1, 0, 1, 1.5, 65536, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, true, [], ['a'], [1], {},
  { a: 1 }, { a: 'b' }, '2024-02-30T00:00:00.000Z', '2023-02-29T00:00:00.000Z', '2024-01-01T24:00:00.000Z',
  '2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000+01:00', '+012345-01-01T00:00:00.000Z', 'inbound', 'sidecar', 'bogus',
  Object.create({ inherited: 'x' }),
];

t.test('isFlowShapeValid never accepts what FlowSchema rejects', async (t) => {
  let compared = 0;
  const base = sample();
  t.ok(isFlowShapeValid(base), 'the sample is valid');
  t.ok(FlowSchema.safeParse(base).success);
  for (const key of Object.keys(base) as (keyof Flow)[]) {
    for (const v of BAD_VALUES) {
      const f = { ...sample(), [key]: v } as Record<string, unknown>;
      if (v === undefined) delete f[key];
      const fast = isFlowShapeValid(f);
      const zod = FlowSchema.safeParse(f).success;
      if (fast && !zod) t.fail(`lenient on ${key}=${String(v)}`);
      compared++;
    }
  }
  for (const key of ['kind', 'pod', 'namespace', 'container', 'labels']) {
    for (const v of BAD_VALUES) {
      const f = sample() as unknown as { reporter: Record<string, unknown> };
      f.reporter = { ...f.reporter, [key]: v };
      if (v === undefined) delete f.reporter[key];
      if (isFlowShapeValid(f) && !FlowSchema.safeParse(f).success) t.fail(`lenient on reporter.${key}=${String(v)}`);
      compared++;
    }
  }
  t.notOk(isFlowShapeValid({ ...sample(), unknown_key: 'x' }), 'unknown key rejected');
  t.notOk(isFlowShapeValid({ ...sample(), reporter: { ...sample().reporter, x: null } }), 'unknown reporter key rejected');
  t.ok(compared > 1000, `${compared} mutations compared`);
});

t.test('isCanonicalIso agrees with Date round trips', async (t) => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 3000; i++) {
    const ms = Math.floor(rnd() * 253402300799999);
    const iso = new Date(ms).toISOString();
    if (!isCanonicalIso(iso)) t.fail(`rejected ${iso}`);
    // Corrupt one digit: accepted only if it is still a real date, i.e. Date round-trips it.
    const pos = [5, 6, 8, 9, 11, 12, 14, 17][i % 8]!;
    const bad = iso.slice(0, pos) + String(Math.floor(rnd() * 10)) + iso.slice(pos + 1);
    const real = !Number.isNaN(new Date(bad).getTime()) && new Date(bad).toISOString() === bad;
    if (isCanonicalIso(bad) !== real) t.fail(`disagrees on ${bad}`);
  }
  t.pass('3000 dates checked');
});

t.test('validateFlow reports the offending path', async (t) => {
  const r = validateFlow({ ...sample(), bytes_sent: -3 });
  t.equal(r.ok, false);
  if (!r.ok) t.equal(r.path, 'bytes_sent');
  const nested = validateFlow({ ...sample(), reporter: { ...sample().reporter, kind: 'mystery' } });
  t.equal(nested.ok, false);
  if (!nested.ok) t.equal(nested.path, 'reporter.kind');
  // A flow zod accepts but the cheap check does not (an offset timestamp) is still valid.
  t.equal(validateFlow({ ...sample(), start_time: '2024-01-01T00:00:00+01:00' }).ok, true);
});
