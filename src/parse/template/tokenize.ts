/**
 * Splits an Envoy TEXT access-log format string into literal text and command operators.
 *
 * Grammar (Envoy "format strings"): `%COMMAND%`, `%COMMAND(arg)%`, `%COMMAND(arg):Z%`; everything
 * else is literal. The argument may itself contain `%` (`%START_TIME(%Y-%m-%d)%`), so it runs to
 * the first `)` that is followed by `%` or `:<digits>%`. `%%` is read as a literal `%` (a
 * meshtrail convenience; Envoy rejects a lone `%`). A trailing newline is dropped: lines reach the
 * parser without it. Anything else starting with `%` is an error with its position.
 */
import { MeshtrailError } from '../../errors.js';
import { makeOperator, type Operator } from '../operators.js';

/** One piece of a format string. */
export type Segment = { kind: 'literal'; text: string } | { kind: 'operator'; op: Operator; source: string };

/** Tokenises a format string; throws `MeshtrailError(ERR_CONFIG_INVALID)` naming the bad position. */
export function tokenizeTemplate(template: string): Segment[] {
  const src = template.replace(/\r?\n$/, '');
  const out: Segment[] = [];
  let literal = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (src[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const read = readOperator(src, i);
    if (literal !== '') out.push({ kind: 'literal', text: literal });
    literal = '';
    out.push({ kind: 'operator', op: read.op, source: src.slice(i, read.end) });
    i = read.end;
  }
  if (literal !== '') out.push({ kind: 'literal', text: literal });
  return out;
}

/** Reads the operator starting at `src[start] === '%'`; returns it and the index after its closing `%`. */
function readOperator(src: string, start: number): { op: Operator; end: number } {
  const fail = (why: string): never => {
    throw new MeshtrailError('ERR_CONFIG_INVALID', `access-log format: ${why} at position ${start}: ${JSON.stringify(src.slice(start, start + 40))}`);
  };
  let j = start + 1;
  while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
  const command = src.slice(start + 1, j);
  if (command === '' || !/^[A-Za-z]/.test(command)) fail('a "%" that does not start a command operator');
  let arg: string | null = null;
  if (src[j] === '(') {
    let k = src.indexOf(')', j + 1);
    while (k >= 0 && !/^\)(?::\d+)?%/.test(src.slice(k, k + 12))) k = src.indexOf(')', k + 1);
    if (k < 0) fail(`operator ${command} has an unclosed "("`);
    arg = src.slice(j + 1, k);
    j = k + 1;
  }
  let maxLength: number | null = null;
  const len = /^:(\d+)%/.exec(src.slice(j, j + 12));
  if (len) {
    maxLength = Number(len[1]);
    j += len[0].length - 1;
  }
  if (src[j] !== '%') fail(`operator ${command} is not closed by "%"`);
  return { op: makeOperator(command, arg, maxLength), end: j + 1 };
}
