/**
 * Property tests for `processLine` under hostile input: whatever a line holds (random bytes,
 * NUL, megabyte lines, 10k-deep JSON, numbers beyond 2^53, impossible timestamps, escape
 * sequences), it never throws, returns within a bounded time, and its outcome is either a flow
 * that satisfies `FlowSchema` or a failure with a low-cardinality reason.
 *
 * Replay a failure with `MESHTRAIL_FUZZ_SEED=<seed> npx tap test/fuzz/process-line.test.ts`
 * (fast-check prints the seed and the shrunk counterexample).
 */
import fc from 'fast-check';
import t from 'tap';
import { FlowSchema, emptyFlow } from '../../schemas/flow.js';
import type { LineFormat, LineParser, ParseOutcome } from '../../src/pipeline/contracts.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { compileLabels, compileTemplate } from '../../src/parse/template/index.js';
import {
  ENVELOPES, anyInputLine, bigDigits, fuzzParams, hostileJsonNumber, hostileTimestamp, jsonLine, randomBytesText,
  renderTextLine, renderZtunnelJson, renderZtunnelPlain, textLine, textLineFields, wrap, ztunnelFields,
} from '../support/arbitraries.js';

const REASON = /^[a-z_]+$/;
const MIB = 1 << 20;

/**
 * Per-line time cap. This is a hang detector, not a benchmark: a line normally costs
 * microseconds and a 1 MiB line a few milliseconds, so the cap is one to two orders of magnitude
 * above that (1 s for 1 MiB), generous enough for a loaded CI machine running test files in
 * parallel and for GC pauses after megabyte strings, and still below what a quadratic or
 * exponential path costs on a 1 MiB line (seconds to hours).
 */
function capMs(line: string): number {
  return 150 + 850 * (line.length / MIB);
}

/** Runs `processLine`, failing the property if it throws or exceeds the cap; returns the outcome. */
function timed(line: string, format: LineFormat = 'auto', parsers?: Parameters<typeof processLine>[1]['parsers']): ParseOutcome {
  const started = performance.now();
  const outcome = processLine(line, parsers ? { format, parsers } : { format });
  const ms = performance.now() - started;
  if (ms > capMs(line)) throw new Error(`processLine took ${ms.toFixed(0)} ms for a ${line.length}-char line (cap ${capMs(line).toFixed(0)} ms): ${JSON.stringify(line.slice(0, 80))}`);
  return outcome;
}

/** The invariant every outcome must satisfy; throws with the offending outcome. */
function assertWellFormed(outcome: ParseOutcome): void {
  if (outcome.ok) {
    const check = FlowSchema.safeParse(outcome.flow);
    if (!check.success) throw new Error(`ok outcome violates FlowSchema: ${check.error.issues[0]?.path.join('.')}: ${check.error.issues[0]?.message}`);
    return;
  }
  if (typeof outcome.reason !== 'string' || !REASON.test(outcome.reason)) throw new Error(`failure reason is not low-cardinality: ${JSON.stringify(outcome.reason)}`);
  if (typeof outcome.detail !== 'string' || outcome.detail === '') throw new Error(`failure without detail (reason ${outcome.reason})`);
}

function wellFormed(line: string, format: LineFormat = 'auto'): boolean {
  assertWellFormed(timed(line, format));
  return true;
}

t.test('the checks themselves can fail: a slow parser, a bad reason, an invalid flow', async (t) => {
  t.ok(capMs('x'.repeat(MIB)) <= 1000, 'a 1 MiB line gets at most a second');
  t.ok(capMs('x') < 200, 'a short line gets under 200 ms');
  const slow: LineParser = {
    name: 'slow',
    detect: () => true,
    parse: () => {
      const until = performance.now() + capMs('slow line') + 50;
      while (performance.now() < until);
      return { ok: false, reason: 'slow', detail: 'slow' };
    },
  };
  t.throws(() => timed('slow line', 'auto', [slow]), /processLine took/, 'a line over the cap fails the property');
  const badReason: LineParser = { name: 'bad', detect: () => true, parse: () => ({ ok: false, reason: 'Bad Reason: 42', detail: 'x' }) };
  t.throws(() => assertWellFormed(timed('x', 'auto', [badReason])), /low-cardinality/, 'a high-cardinality reason fails the property');
  const noDetail: LineParser = { name: 'quiet', detect: () => true, parse: () => ({ ok: false, reason: 'quiet', detail: '' }) };
  t.throws(() => assertWellFormed(timed('x', 'auto', [noDetail])), /without detail/, 'an empty detail fails the property');
  t.throws(() => assertWellFormed({ ok: true, flow: { ...emptyFlow('x'), bytes_sent: 2 ** 53 } }), /FlowSchema/, 'an invalid flow fails the property');
  const invalid: LineParser = { name: 'invalid', detect: () => true, parse: () => ({ ok: true, flow: { ...emptyFlow('x'), response_code: -1 } }) };
  const r = timed('x', 'auto', [invalid]);
  t.equal(r.ok ? 'ok' : r.reason, 'schema_violation', 'processLine itself refuses a parser\'s invalid flow');
});

t.test('any input, auto detection: never throws, bounded time, well-formed outcome', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(anyInputLine, (line) => wellFormed(line)), fuzzParams(4000)));
});

t.test('any input, forced formats: never throws, bounded time, well-formed outcome', async (t) => {
  for (const format of ['istio-text', 'istio-json'] as const) {
    t.doesNotThrow(() => fc.assert(fc.property(anyInputLine, (line) => wellFormed(line, format)), fuzzParams(400)), format);
  }
});

t.test('random bytes as latin1 and as UTF-8 (invalid sequences) behind every envelope prefix', async (t) => {
  const prefixes = ['', '[', '{', '[2026-01-01T00:00:00.000Z] "', '2026-01-15T02:59:59.123456789Z stdout F ', '{"log":"', 'src.addr='];
  t.doesNotThrow(() =>
    fc.assert(fc.property(fc.constantFrom(...prefixes), randomBytesText, (p, body) => wellFormed(p + body)), fuzzParams(800)),
  );
});

t.test('valid generated lines parse in every envelope, and the envelope does not change the fields', async (t) => {
  const lines = fc.oneof(
    textLine.map((l) => l.line),
    jsonLine.map((l) => l.line),
    ztunnelFields.map(renderZtunnelPlain),
    ztunnelFields.map(renderZtunnelJson),
  );
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(lines, fc.constantFrom(...ENVELOPES), (line, envelope) => {
        const bare = timed(line);
        const wrapped = timed(wrap(line, envelope));
        assertWellFormed(bare);
        assertWellFormed(wrapped);
        if (!bare.ok || !wrapped.ok) throw new Error(`valid line not parsed: ${JSON.stringify([bare, wrapped]).slice(0, 300)}`);
        const { reporter: _a, source_namespace: _b, source_namespace_from: _c, destination_namespace: _d, destination_namespace_from: _e, ...b } = bare.flow;
        const { reporter: _f, source_namespace: _g, source_namespace_from: _h, destination_namespace: _i, destination_namespace_from: _j, ...w } = wrapped.flow;
        if (JSON.stringify(b) !== JSON.stringify(w)) throw new Error(`envelope ${envelope} changed the flow`);
        return true;
      }),
      fuzzParams(400),
    ),
  );
});

t.test('valid TEXT lines give back exactly the values they were rendered from', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(textLine, ({ fields: f, layout, line }) => {
        const r = timed(line);
        if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
        const flow = r.flow;
        const expect: [unknown, unknown][] = [
          [flow.format, layout], [flow.start_time, f.start_time], [flow.method, f.method], [flow.path, f.path],
          [flow.protocol, f.protocol], [flow.response_code, f.response_code], [flow.response_flags.join(','), f.response_flags],
          [flow.bytes_received, f.bytes_received], [flow.bytes_sent, f.bytes_sent], [flow.duration, f.duration],
          [flow.upstream_service_time, f.upstream_service_time], [flow.x_forwarded_for, f.x_forwarded_for],
          [flow.user_agent, f.user_agent], [flow.request_id, f.request_id], [flow.authority, f.authority],
          [flow.upstream_host, f.upstream_host],
        ];
        for (const [got, want] of expect) if (got !== want) throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        return true;
      }),
      fuzzParams(500),
    ),
  );
});

t.test('megabyte lines of every format: bounded time, well-formed outcome', async (t) => {
  const text = renderTextLine(fc.sample(textLineFields, { seed: 1, numRuns: 1 })[0]!, 'istio-text-1.9');
  const zt = renderZtunnelPlain(fc.sample(ztunnelFields, { seed: 2, numRuns: 1 })[0]!);
  const json = (extra: Record<string, unknown>) => JSON.stringify({ start_time: '2026-01-01T00:00:00.000Z', method: 'GET', ...extra });
  const big = (unit: string, bytes = MIB) => unit.repeat(Math.ceil(bytes / unit.length));
  const cases: Record<string, string> = {
    'text, 1 MiB user agent': text.replace(/"([^"]*)" "([0-9a-f-]{36})"/, `"${big('a')}" "$2"`),
    'text, 1 MiB of `" "` in the user agent': text.replace(/"([^"]*)" "([0-9a-f-]{36})"/, `"${big('" ')}" "$2"`),
    'text, 1 MiB path with spaces': text.replace(/"(\w+) (\S+) /, `"$1 ${big('/a b')} `),
    'text, 1 MiB trailing tokens': text + big(' x'),
    'text, 1 MiB of quoted mid groups': text.replace(/(" \d+ \S+) /, `$1 ${big('"q" ')}`),
    'text, `[` then 1 MiB of `] "`': `[${big('] "')}`,
    'text, head then 1 MiB of `" " `': `[x] "G / H" 200 - ${big('" " ')}"`,
    'text, NUL bytes': text.replace('GET', 'G\0ET') + big('\0'),
    'json, 1 MiB string value': json({ user_agent: big('u') }),
    'json, 1 MiB of escapes': json({ path: big('\\"\n\u0000\u2028') }),
    'json, 40k extra keys': JSON.stringify(Object.fromEntries([['method', 'GET'], ...Array.from({ length: 40_000 }, (_, i) => [`k${i}`, 'v'])])),
    'json, 10k-deep array': `{"method":"GET","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    'json, 10k-deep object': `{"method":"GET","x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    'json, 100k-deep array': `{"method":"GET","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    'json, unterminated 1 MiB': `{"method":"GET","x":"${big('x')}`,
    'json, 1 MiB of `{`': big('{'),
    'json, 1 MiB of `[`': `{"method":${big('[')}`,
    'docker, 1 MiB log': JSON.stringify({ log: big('a'), stream: 'stdout', time: 'x' }),
    'docker, 10k-deep envelope': `{"log":"x","kubernetes":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    'cri, 1 MiB line': `2026-01-15T02:59:59.123456789Z stdout F ${big('x ')}`,
    'ztunnel, 1 MiB quoted value': zt.replace('error=', `error="${big('\\"')}" x=`),
    'ztunnel, 1 MiB unterminated quote': `src.addr=1 a="${big('x')}`,
    'ztunnel, 1 MiB of k=v': `src.addr=1 ${big('a=b ')}`,
    'ztunnel, 1 MiB of whitespace': `src.addr=1${big(' ')}`,
    'ztunnel, 1 MiB \\u{ escape': `src.addr=1 a="\\u{${big('f')}"`,
    'ztunnel, 1 MiB single bare token': `src.addr=1 ${big('x')}`,
    'ztunnel json, 1 MiB value': JSON.stringify({ 'src.addr': '1.1.1.1:1', 'dst.addr': '2.2.2.2:2', error: big('e') }),
    'bare, 1 MiB of NUL': big('\0'),
    'bare, 1 MiB of ESC[': big('\x1b['),
  };
  for (const [name, line] of Object.entries(cases)) {
    if (name.includes('1 MiB')) t.ok(line.length >= MIB, `${name}: the case really is a megabyte line`);
    t.doesNotThrow(() => wellFormed(line), name);
  }
  // Bigger than the 1 MiB line limit never reaches processLine from a source, but processLine
  // itself must still cope (it is a public function).
  t.doesNotThrow(() => wellFormed(json({ user_agent: big('u', 4 * MIB) })), 'json, 4 MiB string value');
});

t.test('counts beyond 2^53 are refused, never rounded into a flow', async (t) => {
  const textFields = fc.sample(textLineFields, { seed: 3, numRuns: 1 })[0]!;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(bigDigits, fc.constantFrom('bytes_sent', 'bytes_received', 'response_code') as fc.Arbitrary<'bytes_sent' | 'bytes_received' | 'response_code'>, (digits, field) => {
        const line = renderTextLine({ ...textFields, [field]: digits as unknown as number }, 'istio-text-1.9');
        const r = timed(line);
        assertWellFormed(r);
        if (r.ok && BigInt(r.flow[field]!) !== BigInt(digits)) throw new Error(`${field} ${digits} stored as ${r.flow[field]}`);
        if (!r.ok && BigInt(digits) <= BigInt(Number.MAX_SAFE_INTEGER) && digits.length <= 16) throw new Error(`safe ${field} ${digits} refused: ${r.detail}`);
        return true;
      }),
      fuzzParams(400),
    ),
  );
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(hostileJsonNumber, fc.constantFrom('bytes_sent', 'bytes_received', 'response_code') as fc.Arbitrary<'bytes_sent' | 'bytes_received' | 'response_code'>, (literal, field) => {
        const r = timed(`{"start_time":"2026-01-01T00:00:00.000Z","method":"GET","${field}":${literal}}`);
        assertWellFormed(r);
        if (r.ok) {
          const v = r.flow[field];
          // The stored value must be the literal's exact value: no rounding, no truncation.
          if (v === null || !Number.isSafeInteger(v) || Number(literal) !== v) throw new Error(`${field} ${literal} stored as ${v}`);
          if (/^[0-9]+$/.test(literal) && BigInt(literal) !== BigInt(v)) throw new Error(`${field} ${literal} rounded to ${v}`);
        }
        return true;
      }),
      fuzzParams(300),
    ),
  );
  const examples: [string, string][] = [
    ['{"method":"GET","response_code":1e400}', 'invalid_field'],
    ['{"method":"GET","bytes_sent":9007199254740993}', 'invalid_field'],
    ['{"method":"GET","bytes_sent":9007199254740992}', 'invalid_field'],
    ['{"method":"GET","duration":1e400}', 'invalid_field'],
    ['{"method":"GET","response_code":-1}', 'invalid_field'],
    ['{"method":"GET","response_code":200.5}', 'invalid_field'],
  ];
  for (const [line, reason] of examples) {
    const r = timed(line);
    t.equal(r.ok ? 'ok' : r.reason, reason, line);
  }
  const ok = timed('{"method":"GET","bytes_sent":9007199254740991,"response_code":2e2}');
  t.ok(ok.ok && ok.flow.bytes_sent === Number.MAX_SAFE_INTEGER && ok.flow.response_code === 200, '2^53-1 and 2e2 are exact');
});

t.test('timestamps out of range or malformed never produce an invalid start_time', async (t) => {
  const f = fc.sample(textLineFields, { seed: 4, numRuns: 1 })[0]!;
  const z = fc.sample(ztunnelFields, { seed: 5, numRuns: 1 })[0]!;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(hostileTimestamp, fc.constantFrom('text', 'json', 'ztunnel', 'ztunnel-json'), (ts, kind) => {
        const line =
          kind === 'text' ? renderTextLine({ ...f, start_time: ts }, 'istio-text-1.9')
            : kind === 'json' ? JSON.stringify({ start_time: ts, method: 'GET' })
              : kind === 'ztunnel' ? renderZtunnelPlain({ ...z, time: ts }).replace(/^\t/, '')
                : renderZtunnelJson({ ...z, time: ts });
        const r = timed(line);
        assertWellFormed(r);
        if (r.ok && r.flow.start_time !== null && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(r.flow.start_time)) {
          throw new Error(`start_time ${r.flow.start_time} from ${ts}`);
        }
        return true;
      }),
      fuzzParams(400),
    ),
  );
  for (const ts of ['99999-01-01T00:00:00.000Z', '2026-13-45T00:00:00.000Z', '+099999-01-01T00:00:00Z']) {
    const r = timed(JSON.stringify({ start_time: ts, method: 'GET' }));
    t.equal(r.ok ? 'ok' : r.reason, 'invalid_field', `${ts} is refused`);
  }
  const zero = timed(JSON.stringify({ start_time: '0000-01-01T00:00:00.000Z', method: 'GET' }));
  t.ok(zero.ok && zero.flow.start_time === '0000-01-01T00:00:00.000Z', 'year 0 is a valid RFC 3339 year and is kept as is');
});

t.test('custom templates and labels: hostile lines never throw, bounded time', async (t) => {
  const template = compileTemplate(
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %DOWNSTREAM_PEER_URI_SAN% %REQ(X-CUSTOM)%',
    { name: 'fuzz-template' },
  );
  const labels = compileLabels({ ua: '%REQ(USER-AGENT)%', code: '%RESPONSE_CODE%', src: '%DOWNSTREAM_PEER_URI_SAN%', when: '%START_TIME%' }, { name: 'fuzz-labels' });
  const parsers = [template, labels];
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(anyInputLine, (line) => {
        assertWellFormed(timed(line, 'auto', parsers));
        return true;
      }),
      fuzzParams(800),
    ),
  );
  const big = (unit: string) => unit.repeat(Math.ceil(MIB / unit.length));
  const good = '[2023-05-06T07:08:09.010Z] "GET /x HTTP/1.1" 200 - 0 10 1 "curl" "rid" "host" "10.0.0.1:80" spiffe://a/ns/b/sa/c hello';
  const hostile = {
    'UA of `" "`': good.replace('curl', big('" "')),
    'UA of `" " " `': good.replace('curl', big('" " " ')),
    'path with spaces': good.replace('/x', big('/a b ')),
    '1 MiB of `1 `': `[x] "a b c" ${big('1 ')}`,
    '1 MiB of `" "` after the numbers': `[x] "a b c" 1 - 1 1 1 "${big('" "')}" "x" "y" "z" a b`,
    '1 MiB of spaces': `[${big(' ')}`,
    'labels, 1 MiB value': JSON.stringify({ ua: big('u'), code: 200 }),
    'labels, 1e400': '{"ua":"x","code":1e400}',
  };
  for (const [name, line] of Object.entries(hostile)) {
    t.doesNotThrow(() => assertWellFormed(timed(line, 'auto', parsers)), name);
  }
});
