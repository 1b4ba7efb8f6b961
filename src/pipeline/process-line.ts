/**
 * One raw record -> one `ParseOutcome`: decode the envelope, pick a parser, parse, enrich
 * (direction, reporter, identity and mTLS verdict), validate against `FlowSchema`.
 *
 * Guarantees: never throws, whatever the input (invalid JSON, NUL bytes, megabyte lines; a bug in
 * a parser becomes `internal_error`); every success satisfies `FlowSchema`; every failure has a
 * low-cardinality `reason` (`unrecognised_format`, `invalid_field`, `invalid_json`,
 * `partial_line`, `schema_violation`, ...) and a `detail` for a human. Detection is per line.
 */
import type { LineFormat, LineParser, ParseOutcome } from './contracts.js';
import { decodeEnvelope } from '../decode/envelope.js';
import { applyDirection } from '../enrich/direction.js';
import { applyReporter } from '../enrich/reporter.js';
import { enrichIdentityInPlace } from '../enrich/identity.js';
import type { TemplateParser } from '../parse/template/index.js';
import { validateFlow } from '../parse/flow-check.js';
import { findParser, registeredParsers } from '../parse/registry.js';

/** How `processLine` reads a line. */
export interface ProcessLineOptions {
  /** `auto` detects per line; `istio-text` / `istio-json` use that parser only. */
  format: LineFormat;
  /** Detection list; defaults to the registry's (`registeredParsers()`). */
  parsers?: readonly LineParser[];
}

const MAX_DETAIL = 300;

function fail(reason: string, detail: string): ParseOutcome {
  return { ok: false, reason, detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 3)}...` : detail };
}

/** Turns one raw record into a validated, enriched flow or a failure; never throws. */
export function processLine(text: string, options: ProcessLineOptions): ParseOutcome {
  try {
    if (typeof text !== 'string') return fail('invalid_input', `expected a string, got ${typeof text}`);
    const decoded = decodeEnvelope(text);
    if (!decoded.ok) return fail(decoded.reason, decoded.detail);
    const { envelope } = decoded;
    const line = envelope.line;
    if (line.trim() === '') return fail('empty_line', 'the record holds no access-log line');

    const parsers = options.parsers ?? registeredParsers();
    let parser: LineParser | undefined;
    if (options.format === 'auto') {
      for (const p of parsers) {
        if (p.detect(line)) {
          parser = p;
          break;
        }
      }
      if (parser === undefined) {
        return fail('unrecognised_format', `no parser recognised the line (tried ${parsers.map((p) => p.name).join(', ')}): ${line.slice(0, 60)}`);
      }
    } else {
      parser = findParser(options.format, parsers);
      if (parser === undefined) return fail('unknown_format', `no parser named ${options.format}`);
    }

    const outcome = parser.parse(line);
    if (!outcome.ok) return fail(outcome.reason, outcome.detail);
    applyDirection(outcome.flow);
    applyReporter(outcome.flow, envelope.reporter);
    // Identity and the mTLS verdict read direction and reporter kind, so they come last. A
    // template parser says which operators its format carries: absence of a carried field is
    // evidence, absence of an uncarried one is not.
    const carries = (parser as Partial<TemplateParser>).carries;
    const flow = outcome.flow;
    enrichIdentityInPlace(flow, carries ? { carries: carries.bind(parser) } : undefined);

    const checked = validateFlow(flow);
    if (!checked.ok) return fail('schema_violation', `${parser.name}: ${checked.path}: ${checked.message}`);
    return { ok: true, flow: checked.flow };
  } catch (err) {
    return fail('internal_error', `processLine: ${err instanceof Error ? err.message : String(err)}`);
  }
}
