/**
 * Compiles a Telemetry API JSON access-log format (`envoyFileAccessLog.logFormat.labels`:
 * output key -> format string) into a `LineParser` for the JSON lines it produces.
 *
 * A label whose value is exactly one operator (`"src": "%DOWNSTREAM_PEER_URI_SAN%"`) is read as
 * that operator: its value lands in the operator's column or under the operator's `extra` key
 * (`src/parse/operators.ts`), whatever the user named the label. A label that mixes text and
 * operators, and any key not in `labels`, is kept in `extra` under its own key. Labels replace
 * Istio's default key set entirely, so nothing else is assumed. A missing key (Istio's
 * `omitEmptyValues`) leaves the value unknown; JSON null counts as Envoy's "-".
 */
import { emptyFlow, setExtra } from '../../../schemas/flow.js';
import type { LineParser, ParseOutcome } from '../../pipeline/contracts.js';
import { MeshtrailError } from '../../errors.js';
import { parseJsonObject } from '../../decode/json-object.js';
import { FieldError, toExtraText } from '../fields.js';
import { applyOperatorValue, type Operator } from '../operators.js';
import { tokenizeTemplate } from './tokenize.js';
import type { TemplateParser } from './template.parser.js';

/** Options for `compileLabels`. */
export interface LabelsOptions {
  /** Name written to `flow.format`; default `envoy-labels`. */
  name?: string;
}

/**
 * Compiles a `labels` map. Throws `MeshtrailError(ERR_CONFIG_INVALID)` for a bad format string or
 * an empty map.
 */
export function compileLabels(labels: Record<string, string>, options: LabelsOptions = {}): TemplateParser {
  const name = options.name ?? 'envoy-labels';
  const keys = Object.keys(labels);
  if (keys.length === 0) throw new MeshtrailError('ERR_CONFIG_INVALID', 'access-log labels: the map is empty');
  const ops = new Map<string, Operator>();
  for (const key of keys) {
    let segments;
    try {
      segments = tokenizeTemplate(labels[key]!);
    } catch (err) {
      throw new MeshtrailError('ERR_CONFIG_INVALID', `access-log labels: key ${JSON.stringify(key)}: ${(err as Error).message}`, { cause: err });
    }
    const only = segments.length === 1 ? segments[0] : undefined;
    if (only?.kind === 'operator') ops.set(key, only.op);
  }
  const operators = [...new Set([...ops.values()].map((op) => op.text))];
  const carried = new Set(operators);

  const parse = (line: string): ParseOutcome => {
    const parsed = parseJsonObject(line);
    if (!parsed.ok) return { ok: false, reason: parsed.reason, detail: `${name}: ${parsed.detail}` };
    const record = parsed.value;
    const flow = emptyFlow(name);
    try {
      for (const key in record) {
        const op = ops.get(key);
        if (op) applyOperatorValue(flow, op, record[key]);
        else {
          const text = toExtraText(record[key]);
          if (text !== null) setExtra(flow.extra, key, text);
        }
      }
    } catch (err) {
      if (err instanceof FieldError) return { ok: false, reason: 'invalid_field', detail: `${name}: ${err.message}` };
      return { ok: false, reason: 'parser_error', detail: `${name}: ${(err as Error)?.message ?? String(err)}` };
    }
    return { ok: true, flow };
  };

  return {
    name,
    template: JSON.stringify(labels),
    operators,
    carries: (operator) => carried.has(operator),
    detect(line: string): boolean {
      if (line.charCodeAt(0) !== 123 /* { */) return false;
      const parsed = parseJsonObject(line);
      if (!parsed.ok) return false;
      for (const key of keys) if (key in parsed.value) return true;
      return false;
    },
    parse,
  };
}
