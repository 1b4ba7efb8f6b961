/**
 * Compiles an Envoy TEXT access-log format (`meshConfig.accessLogFormat`, Telemetry
 * `logFormat.text`) into a `LineParser` for the lines it produces. Pure and never throws on input.
 *
 * Matching: the format is an alternation of literal text and operators. Each operator's value runs
 * up to the next occurrence of the literal that follows it; if the rest of the line then fails to
 * match (or a typed value such as `%RESPONSE_CODE%` is not a number) the matcher backtracks to the
 * next occurrence. Envoy does not escape quotes, so a User-Agent holding `" "` still parses when
 * the rest of the line pins the fields down. Backtracking is capped (`MAX_STEPS`) so a hostile
 * line costs bounded time and fails with `template_mismatch`.
 *
 * Two operators with no literal between them (`%A%%B%`) cannot be split: the template is rejected
 * at compile time (`ERR_CONFIG_INVALID`) rather than guessed at. An operator at the very end takes
 * the rest of the line. Values go where `src/parse/operators.ts` says (columns or `extra`).
 */
import { emptyFlow } from '../../../schemas/flow.js';
import type { LineParser, ParseOutcome } from '../../pipeline/contracts.js';
import { MeshtrailError } from '../../errors.js';
import { FieldError, quoteBoundaryReadings } from '../fields.js';
import { applyOperatorValue, operatorField, type Operator } from '../operators.js';
import { tokenizeTemplate } from './tokenize.js';

/** Upper bound on candidate splits tried for one line (per pass). */
const MAX_STEPS = 5_000;

/** A `LineParser` compiled from a format string; also says which operators the format carries. */
export interface TemplateParser extends LineParser {
  /** The format string it was compiled from. */
  template: string;
  /** Canonical text of every operator in the format (`REQ(:METHOD)`, `DOWNSTREAM_PEER_URI_SAN`). */
  operators: readonly string[];
  /** Whether the format carries an operator (canonical text); lets the mTLS verdict tell "-" from "not logged". */
  carries(operator: string): boolean;
}

/** Options for `compileTemplate`. */
export interface CompileOptions {
  /** Name written to `flow.format`; default `envoy-template`. */
  name?: string;
}

/** One operator and the literal that must follow it (null: it runs to the end of the line). */
interface Field {
  op: Operator;
  next: string | null;
  /** Shape check used on the first, strict pass. */
  strict: (value: string) => boolean;
  /** Shape check used on the second pass, when no strict split exists. */
  lax: (value: string) => boolean;
}

/**
 * Compiles a format string into a parser. Throws `MeshtrailError(ERR_CONFIG_INVALID)` for bad
 * operator syntax, for adjacent operators, and for a format without any operator.
 */
export function compileTemplate(template: string, options: CompileOptions = {}): TemplateParser {
  const name = options.name ?? 'envoy-template';
  const segments = tokenizeTemplate(template);
  let prefix = '';
  const fields: Field[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.kind === 'literal') {
      if (i === 0) prefix = s.text;
      continue;
    }
    const after = segments[i + 1];
    if (after?.kind === 'operator') {
      throw new MeshtrailError(
        'ERR_CONFIG_INVALID',
        `access-log format: ${s.source}${after.source} are adjacent with no literal text between them, so their values cannot be told apart; put a separator (a space, a quote) between them`,
      );
    }
    fields.push({ op: s.op, next: after ? after.text : null, strict: acceptor(s.op, true), lax: acceptor(s.op, false) });
  }
  if (fields.length === 0) throw new MeshtrailError('ERR_CONFIG_INVALID', 'access-log format has no %OPERATOR%');
  const operators = [...new Set(fields.map((f) => f.op.text))];
  const carried = new Set(operators);

  // Runs of quoted fields separated by exactly `" "` ("%A%" "%B%" "%C%"): inside a run, Envoy's
  // unescaped quotes can make the boundaries placeable in more than one way.
  const runs: [number, number][] = [];
  {
    const litAfter = (i: number) => fields[i]!.next;
    const quotedBefore = (i: number) => (i === 0 ? prefix : fields[i - 1]!.next ?? '').endsWith('"');
    let i = 0;
    while (i < fields.length) {
      let j = i;
      while (j + 1 < fields.length && litAfter(j) === '" "') j++;
      if (j > i && quotedBefore(i) && (litAfter(j) ?? '').startsWith('"')) runs.push([i, j]);
      i = j + 1;
    }
  }
  const ambiguous = (line: string, values: string[], starts: number[]): boolean => {
    for (const [i, j] of runs) {
      if (quoteBoundaryReadings(line, j - i, starts[i]!, starts[j]! + values[j]!.length) !== 1) return true;
    }
    return false;
  };
  let lastStarts: number[] = [];
  const match = (line: string): string[] | null => {
    if (!line.startsWith(prefix)) return null;
    return split(line, true) ?? split(line, false);
  };

  const split = (line: string, strict: boolean): string[] | null => {
    const values: string[] = [];
    const starts: number[] = [];
    let steps = 0;
    const step = (i: number, pos: number): boolean => {
      if (++steps > MAX_STEPS) return false;
      const f = fields[i]!;
      const accepts = strict ? f.strict : f.lax;
      const last = i === fields.length - 1;
      if (f.next === null) {
        const v = line.slice(pos);
        if (!accepts(v)) return false;
        values[i] = v;
        starts[i] = pos;
        return true;
      }
      if (last) {
        const end = line.length - f.next.length;
        if (end < pos || !line.endsWith(f.next)) return false;
        const v = line.slice(pos, end);
        if (!accepts(v)) return false;
        values[i] = v;
        starts[i] = pos;
        return true;
      }
      for (let at = line.indexOf(f.next, pos); at >= 0; at = line.indexOf(f.next, at + 1)) {
        if (++steps > MAX_STEPS) return false;
        const v = line.slice(pos, at);
        if (accepts(v)) {
          values[i] = v;
          starts[i] = pos;
          if (step(i + 1, at + f.next.length)) return true;
        }
        if (steps > MAX_STEPS) return false;
      }
      return false;
    };
    if (!step(0, prefix.length)) return null;
    lastStarts = starts;
    return values;
  };

  const parse = (raw: string): ParseOutcome => {
    const line = raw.replace(/\r?\n$/, '');
    const values = match(line);
    if (values === null) {
      return { ok: false, reason: 'template_mismatch', detail: `${name}: line does not match the access-log format (first operator %${fields[0]!.op.text}%)` };
    }
    // Envoy does not escape quotes: a line with more `" "` boundaries than the format's literals
    // have means a client-controlled value held a quote next to a space, and the split is one
    // reading among several. Quarantine rather than guess which field
    // absorbed it (a guess lets a client forge, e.g., another request's id).
    if (ambiguous(line, values, lastStarts)) {
      return { ok: false, reason: 'ambiguous_fields', detail: `${name}: a value contains \`" "\`; the line has more than one reading` };
    }
    const flow = emptyFlow(name);
    try {
      fields.forEach((f, i) => applyOperatorValue(flow, f.op, values[i]));
    } catch (err) {
      if (err instanceof FieldError) return { ok: false, reason: 'invalid_field', detail: `${name}: ${err.message}` };
      return { ok: false, reason: 'parser_error', detail: `${name}: ${(err as Error)?.message ?? String(err)}` };
    }
    return { ok: true, flow };
  };

  return {
    name,
    template,
    operators,
    carries: (operator) => carried.has(operator),
    detect: (line) => match(line.replace(/\r?\n$/, '')) !== null,
    parse,
  };
}

/**
 * A cheap shape check per operator used while matching, so the split prefers alignments where
 * numbers land in numeric fields and Envoy's whitespace-free fields hold no whitespace or quote.
 * The strict pass also keeps `route_name` single-word; the lax pass lets it hold anything, so a
 * route name with a space still parses when nothing else fits. Full conversion happens afterwards.
 */
function acceptor(op: Operator, strict: boolean): (value: string) => boolean {
  const field = operatorField(op);
  if (strict) {
    // Values that are single tokens in practice; only free text (User-Agent, custom headers)
    // may then absorb an unescaped quote, which is where real lines carry one.
    if (field === 'route_name' || field === 'request_id' || field === 'authority' || field === 'method' || field === 'protocol') {
      return (v) => v !== '' && !/[\s"]/.test(v);
    }
    if (field === 'path') return (v) => v !== '' && !/\s/.test(v);
    if (field === 'x_forwarded_for') return (v) => !v.includes('"');
  }
  switch (field) {
    case 'response_code':
    case 'bytes_received':
    case 'bytes_sent':
      return (v) => v === '-' || /^\d+$/.test(v);
    case 'duration':
      return (v) => v === '-' || /^\d+(\.\d+)?$/.test(v);
    case 'start_time':
    case 'response_flags':
    case 'response_code_details':
    case 'upstream_host':
    case 'upstream_cluster':
    case 'upstream_local_address':
    case 'downstream_local_address':
    case 'downstream_remote_address':
    case 'requested_server_name':
      // Envoy never prints whitespace or quotes in these (details are sanitised to `_`).
      return (v) => v !== '' && !/[\s"]/.test(v);
    default:
      return () => true;
  }
}
