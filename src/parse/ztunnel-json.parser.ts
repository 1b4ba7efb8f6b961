/**
 * Parser for ztunnel access logs in its JSON layout (`LOG_FORMAT=json`): one object per line with
 * `level`, `time`, `scope` (the target) and `message`, and the event fields as flattened dotted
 * keys (`"src.identity"`). Tracing's generic JSON layout (`target`, nested `fields`) is read too.
 * Field mapping is shared with the plain layout: see `ztunnelFlow` in `./ztunnel.parser.ts`.
 * Pure; never throws on input.
 */
import type { LineParser, ParseOutcome } from '../pipeline/contracts.js';
import { parseJsonObject } from '../decode/json-object.js';
import { ZTUNNEL_JSON_FORMAT, ztunnelFlow, type ZtunnelMeta } from './ztunnel.parser.js';

const META_KEYS = new Set(['level', 'time', 'timestamp', 'scope', 'target', 'message', 'fields']);

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Parses one ztunnel JSON access-log line. */
export function parseZtunnelJson(line: string): ParseOutcome {
  const parsed = parseJsonObject(line);
  if (!parsed.ok) return { ok: false, reason: parsed.reason, detail: `${ZTUNNEL_JSON_FORMAT}: ${parsed.detail}` };
  const record = parsed.value;
  const nested = record.fields !== null && typeof record.fields === 'object' && !Array.isArray(record.fields)
    ? (record.fields as Record<string, unknown>)
    : {};
  const meta: ZtunnelMeta = {
    time: text(record.time) ?? text(record.timestamp),
    level: text(record.level)?.toLowerCase() ?? null,
    target: text(record.scope) ?? text(record.target),
    message: text(record.message) ?? text(nested.message),
  };
  const fields = new Map<string, unknown>();
  for (const [k, v] of Object.entries(nested)) if (k !== 'message') fields.set(k, v);
  for (const [k, v] of Object.entries(record)) if (!META_KEYS.has(k)) fields.set(k, v);
  return ztunnelFlow(fields, meta, ZTUNNEL_JSON_FORMAT);
}

/** Cheap per-line test: a JSON object naming ztunnel's `src.addr`/`dst.addr` (Istio JSON never does). */
export function looksLikeZtunnelJson(line: string): boolean {
  if (line.charCodeAt(0) !== 123 /* { */) return false;
  return line.includes('"src.addr"') || line.includes('"dst.addr"');
}

/** The `LineParser` for ztunnel's JSON access-log layout. */
export const ztunnelJsonParser: LineParser = {
  name: ZTUNNEL_JSON_FORMAT,
  detect: looksLikeZtunnelJson,
  parse(line: string): ParseOutcome {
    try {
      return parseZtunnelJson(line);
    } catch (err) {
      return { ok: false, reason: 'parser_error', detail: `${ZTUNNEL_JSON_FORMAT}: ${(err as Error)?.message ?? String(err)}` };
    }
  },
};
