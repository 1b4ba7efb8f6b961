/**
 * Parser for Istio's JSON access-log encoding (`accessLogEncoding: JSON`, the
 * `EnvoyJSONLogFormatIstio` key set). Pure: bare line -> `Flow` or `ParseFailure`; never throws.
 *
 * Envoy's JSON output is looser than its keys suggest: numbers are JSON numbers, but header-backed
 * operators (`upstream_service_time`) are strings, and an absent value is `null` for some keys and
 * `"-"` for others. Both, and a missing key, become null. A value that cannot have its field's type
 * (`"response_code": "abc"`) fails the line with `invalid_field` naming the field.
 *
 * Keys that are not Istio access-log keys are kept in `flow.extra` as strings (objects as JSON;
 * null and "-" dropped as absent). `readAccessLogKeys` is the hook for later mapping: it copies the
 * known keys and returns the leftover key names, so an identity mapper can claim operator-named
 * keys such as `downstream_peer_uri_san` before the rest goes to `extra`.
 */
import { applyOperatorKeys } from './operators.js';
import { ACCESS_LOG_KEYS, emptyFlow, setExtra, type Flow } from '../../schemas/flow.js';
import type { LineParser, ParseOutcome } from '../pipeline/contracts.js';
import { parseJsonObject } from '../decode/json-object.js';
import { FieldError, toCount, toExtraText, toFlags, toMillis, toServiceTime, toStartTime, toText } from './fields.js';

/** Format name reported in `flow.format`. */
export const ISTIO_JSON_FORMAT = 'istio-json';

type AccessLogKey = (typeof ACCESS_LOG_KEYS)[number];
const KNOWN = new Set<string>(ACCESS_LOG_KEYS);

/**
 * Copies Istio's access-log keys from a decoded JSON record into `flow`, converting types, and
 * returns the names of the keys it did not use (in record order). Throws `FieldError` for a
 * value of the wrong type.
 */
export function readAccessLogKeys(record: Record<string, unknown>, flow: Flow): string[] {
  const leftover: string[] = [];
  for (const key in record) {
    if (!KNOWN.has(key)) {
      leftover.push(key);
      continue;
    }
    setAccessLogKey(flow, key as AccessLogKey, record[key]);
  }
  return leftover;
}

/** Converts one access-log value to its field's type and stores it. Throws `FieldError`. */
export function setAccessLogKey(flow: Flow, key: AccessLogKey, value: unknown): void {
  switch (key) {
    case 'start_time':
      flow.start_time = toStartTime(key, value);
      return;
    case 'response_code':
    case 'bytes_received':
    case 'bytes_sent':
      flow[key] = toCount(key, value);
      return;
    case 'duration':
      flow.duration = toMillis(key, value);
      return;
    case 'upstream_service_time': {
      const ust = toServiceTime(value);
      flow.upstream_service_time = ust.value;
      if (ust.raw !== null) flow.extra.upstream_service_time_raw = ust.raw;
      return;
    }
    case 'response_flags':
      flow.response_flags = toFlags(key, value);
      return;
    default:
      flow[key] = toText(key, value);
  }
}

/** Copies the named leftover keys into `flow.extra` as strings, skipping absent ones. */
export function keepLeftovers(record: Record<string, unknown>, keys: readonly string[], flow: Flow): void {
  for (const key of keys) {
    const text = toExtraText(record[key]);
    if (text !== null) setExtra(flow.extra, key, text);
  }
}

/** Builds a flow from an already decoded Istio JSON record. */
/** Whether the record has at least one of Istio's own access-log keys (not only operator keys). */
function hasIstioKey(record: Record<string, unknown>): boolean {
  for (const key in record) if (KNOWN.has(key)) return true;
  return false;
}

export function parseIstioJsonRecord(record: Record<string, unknown>, format: string = ISTIO_JSON_FORMAT): ParseOutcome {
  const flow = emptyFlow(format);
  let leftover: string[];
  try {
    leftover = readAccessLogKeys(record, flow);
    // Operator-named keys (downstream_peer_uri_san, downstream_tls_version, ...): the convention
    // most published Telemetry configs follow; claimed keys leave the leftovers.
    const claimed = applyOperatorKeys(flow, record);
    if (claimed.length) {
      const taken = new Set(claimed);
      leftover = leftover.filter((k) => !taken.has(k));
    }
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: 'invalid_field', detail: `${format}: ${err.message}` };
    throw err;
  }
  if (leftover.length === Object.keys(record).length || !hasIstioKey(record)) {
    return { ok: false, reason: 'unrecognised_format', detail: 'JSON object has none of the Istio access-log keys (start_time, response_code, ...)' };
  }
  keepLeftovers(record, leftover, flow);
  return { ok: true, flow };
}

/** Parses one Istio JSON access-log line. */
export function parseIstioJson(line: string): ParseOutcome {
  const parsed = parseJsonObject(line);
  if (!parsed.ok) return { ok: false, reason: parsed.reason, detail: parsed.detail };
  return parseIstioJsonRecord(parsed.value);
}

/**
 * Keys of ztunnel's `LOG_FORMAT=json` records. Those records share `bytes_sent`/`duration` with
 * Istio's keys but mean other things (`duration: "1ms"`), so a record with any of these is left to
 * the ztunnel parser whatever the registry order.
 */
const ZTUNNEL_KEYS = ['scope', 'src.addr', 'dst.addr', 'bytes_recv'];

/** Cheap per-line test: a JSON object that names an Istio access-log key and is not ztunnel's. */
export function looksLikeIstioJson(line: string): boolean {
  if (line.charCodeAt(0) !== 123 /* { */) return false;
  const parsed = parseJsonObject(line);
  if (!parsed.ok) return true; // claim it so the failure says "invalid JSON", not "unknown format"
  const record = parsed.value;
  for (const key of ZTUNNEL_KEYS) if (key in record) return false;
  for (const key in record) if (KNOWN.has(key)) return true;
  return false;
}

/** The `LineParser` for Istio's JSON access-log encoding. */
export const istioJsonParser: LineParser = {
  name: ISTIO_JSON_FORMAT,
  detect: looksLikeIstioJson,
  parse(line: string): ParseOutcome {
    try {
      return parseIstioJson(line);
    } catch (err) {
      return { ok: false, reason: 'parser_error', detail: `istio-json: ${(err as Error)?.message ?? String(err)}` };
    }
  },
};
