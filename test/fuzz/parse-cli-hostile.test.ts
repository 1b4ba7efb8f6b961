/**
 * `meshtrail parse -` on hostile input: one valid JSON value per non-blank input line, in order,
 * and no raw escape or control byte on stdout (JSON escapes them), so piping the output to a
 * terminal or a JSON tool is safe.
 */
import fc from 'fast-check';
import t from 'tap';
import { meshtrail } from '../helpers/cli.js';
import { INVALID_UTF8, anyValidLine, hostileSingleLine, mutatedLine, randomBytesText } from '../support/arbitraries.js';

t.test('parse: one JSON object per non-blank line, whatever the input', async (t) => {
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, seed: number) => fc.sample(arb, { seed, numRuns: n });
  const lines: Buffer[] = [
    ...sample(anyValidLine, 60, 11).map((s) => Buffer.from(s)),
    ...sample(mutatedLine, 80, 12).map((s) => Buffer.from(s)),
    ...sample(randomBytesText, 40, 13).map((s) => Buffer.from(s, 'latin1')),
    ...sample(hostileSingleLine, 40, 14).map((s) => Buffer.from(s)),
    ...INVALID_UTF8,
    Buffer.from('\x1b]0;pwned\x07\x1b[2J'),
    Buffer.from(JSON.stringify({ method: 'GET', user_agent: '\x1b[31m\u2028\x85', path: "=cmd|' /C calc'!A0" })),
    Buffer.alloc((1 << 20) + 10, 'x'), // over the default 1 MiB limit: an error object, not a flow
  ].map((b) => Buffer.from(b.filter((x) => x !== 10)));
  const nonBlank = lines.filter((b) => b.toString('utf8').trim() !== '').length;
  const r = meshtrail(['parse', '-'], { input: Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])) });
  t.equal(r.status, 0, r.stderr);
  const out = r.stdout.split('\n');
  t.equal(out.pop(), '', 'output ends with a newline');
  t.equal(out.length, nonBlank, 'one output line per non-blank input line');
  let bad = 0;
  for (const line of out) {
    try {
      const v: unknown = JSON.parse(line);
      if (v === null || typeof v !== 'object') bad++;
    } catch {
      bad++;
    }
  }
  t.equal(bad, 0, 'every output line is a JSON object');
  t.notMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f]/, 'no raw C0 control (ESC included) on stdout');
  const last = JSON.parse(out[out.length - 1]!) as { error?: { reason: string; detail: string } };
  t.equal(last.error?.reason, 'line_too_long');
  t.match(last.error?.detail, String((1 << 20) + 10));
});
