/**
 * The Envoy access-log command operators meshtrail knows, and where their values go on a `Flow`.
 *
 * One convention for every parser (Istio TEXT/JSON, compiled templates, Telemetry `labels`):
 *
 * - An operator with a column (`%START_TIME%` -> `start_time`, `%REQ(:METHOD)%` -> `method`,
 *   `%UPSTREAM_CLUSTER_RAW%` -> `upstream_cluster`, every Istio default-format operator) is
 *   converted to the column's type and stored there; "-" becomes null.
 * - Every other operator goes to `flow.extra` under its **extra key** (`extraKey`):
 *   - an operator without an argument: its command name in lower case
 *     (`%DOWNSTREAM_PEER_URI_SAN%` -> `extra.downstream_peer_uri_san`), the same spelling Istio JSON
 *     users pick for their keys, so `applyOperatorKeys` can recognise those keys;
 *   - an operator with an argument: its text between the `%` signs, command and header name in
 *     upper case, without the `:Z` length (`%REQ(x-custom):10%` -> `extra["REQ(X-CUSTOM)"]`,
 *     `%DYNAMIC_METADATA(istio.mixer:status)%` -> `extra["DYNAMIC_METADATA(istio.mixer:status)"]`).
 * - In `extra`, Envoy's "-" is kept verbatim. A key present with "-" means "the format carries
 *   this operator and it was empty"; a missing key means "the format does not carry it". The mTLS
 *   verdict depends on that difference (see `src/enrich/mtls-verdict.ts`): an empty
 *   `downstream_peer_uri_san` is a fact, an absent one is not.
 */
import { ACCESS_LOG_KEYS, setExtra, type Flow } from '../../schemas/flow.js';
import { FieldError, toCount, toFlags, toMillis, toServiceTime, toStartTime, toText } from './fields.js';

/** A flow column an operator can fill: one of Istio's access-log keys. */
export type AccessLogKey = (typeof ACCESS_LOG_KEYS)[number];

/**
 * Operator (its canonical text between the `%` signs) -> the flow column it fills. Holds every
 * operator of Istio's default TEXT and JSON formats (1.2 - 1.25+) and a few obvious synonyms.
 */
export const OPERATOR_FIELDS: Readonly<Record<string, AccessLogKey>> = {
  START_TIME: 'start_time',
  'REQ(:METHOD)': 'method',
  'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': 'path',
  'REQ(:PATH)': 'path',
  PROTOCOL: 'protocol',
  RESPONSE_CODE: 'response_code',
  RESPONSE_FLAGS: 'response_flags',
  RESPONSE_CODE_DETAILS: 'response_code_details',
  CONNECTION_TERMINATION_DETAILS: 'connection_termination_details',
  UPSTREAM_TRANSPORT_FAILURE_REASON: 'upstream_transport_failure_reason',
  BYTES_RECEIVED: 'bytes_received',
  BYTES_SENT: 'bytes_sent',
  DURATION: 'duration',
  'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': 'upstream_service_time',
  'REQ(X-FORWARDED-FOR)': 'x_forwarded_for',
  'REQ(USER-AGENT)': 'user_agent',
  'REQ(X-REQUEST-ID)': 'request_id',
  'REQ(:AUTHORITY)': 'authority',
  UPSTREAM_HOST: 'upstream_host',
  UPSTREAM_CLUSTER: 'upstream_cluster',
  UPSTREAM_CLUSTER_RAW: 'upstream_cluster',
  UPSTREAM_LOCAL_ADDRESS: 'upstream_local_address',
  DOWNSTREAM_LOCAL_ADDRESS: 'downstream_local_address',
  DOWNSTREAM_REMOTE_ADDRESS: 'downstream_remote_address',
  REQUESTED_SERVER_NAME: 'requested_server_name',
  ROUTE_NAME: 'route_name',
};

/**
 * Identity and TLS operators (no column of their own: the enrichment reads them from `extra`
 * and decides, per side, what they mean). Envoy's names, as documented under "Command operators".
 */
export const IDENTITY_OPERATORS = [
  'DOWNSTREAM_PEER_URI_SAN', 'DOWNSTREAM_LOCAL_URI_SAN', 'DOWNSTREAM_PEER_DNS_SAN', 'DOWNSTREAM_LOCAL_DNS_SAN',
  'DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_LOCAL_SUBJECT', 'DOWNSTREAM_PEER_ISSUER', 'DOWNSTREAM_PEER_SERIAL',
  'DOWNSTREAM_PEER_FINGERPRINT_256', 'DOWNSTREAM_PEER_FINGERPRINT_1', 'DOWNSTREAM_PEER_CERT',
  'DOWNSTREAM_PEER_CERT_V_START', 'DOWNSTREAM_PEER_CERT_V_END', 'DOWNSTREAM_TLS_VERSION', 'DOWNSTREAM_TLS_CIPHER',
  'DOWNSTREAM_TLS_SESSION_ID', 'DOWNSTREAM_PEER_IP_SAN', 'DOWNSTREAM_LOCAL_IP_SAN', 'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_256',
  'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_1', 'DOWNSTREAM_PEER_CHAIN_SERIALS', 'TLS_JA3_FINGERPRINT', 'TLS_JA4_FINGERPRINT',
  'UPSTREAM_PEER_URI_SAN', 'UPSTREAM_LOCAL_URI_SAN', 'UPSTREAM_PEER_DNS_SAN', 'UPSTREAM_LOCAL_DNS_SAN',
  'UPSTREAM_PEER_SUBJECT', 'UPSTREAM_LOCAL_SUBJECT', 'UPSTREAM_PEER_ISSUER', 'UPSTREAM_PEER_CERT',
  'UPSTREAM_PEER_CERT_V_START', 'UPSTREAM_PEER_CERT_V_END', 'UPSTREAM_TLS_VERSION', 'UPSTREAM_TLS_CIPHER',
  'UPSTREAM_TLS_SESSION_ID', 'UPSTREAM_PEER_IP_SAN', 'UPSTREAM_LOCAL_IP_SAN',
] as const;

/** Other argument-less Envoy operators that have no column but are worth recognising as JSON keys. */
const OTHER_OPERATORS = [
  'RESPONSE_FLAGS_LONG', 'REQUEST_DURATION', 'REQUEST_TX_DURATION', 'RESPONSE_DURATION', 'RESPONSE_TX_DURATION',
  'UPSTREAM_REQUEST_ATTEMPT_COUNT', 'UPSTREAM_REMOTE_ADDRESS', 'UPSTREAM_LOCAL_PORT', 'CONNECTION_ID',
  'UPSTREAM_CONNECTION_ID', 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS', 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', 'DOWNSTREAM_LOCAL_PORT', 'DOWNSTREAM_REMOTE_PORT',
  'DOWNSTREAM_TRANSPORT_FAILURE_REASON', 'REQUEST_HEADERS_BYTES', 'RESPONSE_HEADERS_BYTES', 'HOSTNAME',
  'UPSTREAM_FILTER_STATE', 'VIRTUAL_CLUSTER_NAME', 'UPSTREAM_PROTOCOL',
] as const;

/** Commands whose argument is a header name (case-insensitive, so normalised to upper case). */
const HEADER_COMMANDS = new Set(['REQ', 'RESP', 'TRAILER', 'REQUEST_HEADER', 'RESPONSE_HEADER', 'RESPONSE_TRAILER']);

/** One parsed operator: `%COMMAND(ARG):MAXLEN%`. */
export interface Operator {
  /** The command name, upper case (`REQ`, `START_TIME`). */
  command: string;
  /** The text inside the parentheses, or null; header names upper-cased. */
  arg: string | null;
  /** The `:Z` truncation length, or null. */
  maxLength: number | null;
  /** Canonical text between the `%` signs without the length: `REQ(USER-AGENT)`, `START_TIME`. */
  text: string;
}

/** Builds the canonical `Operator` for a command, its argument and its optional length. */
export function makeOperator(command: string, arg: string | null, maxLength: number | null = null): Operator {
  const cmd = command.toUpperCase();
  const a = arg !== null && HEADER_COMMANDS.has(cmd) ? arg.toUpperCase() : arg;
  return { command: cmd, arg: a, maxLength, text: a === null ? cmd : `${cmd}(${a})` };
}

/**
 * Reads operator text as written between the `%` signs (`REQ(user-agent):40`, `START_TIME`);
 * null when it is not operator syntax.
 */
export function parseOperatorText(inner: string): Operator | null {
  const m = /^([A-Za-z][A-Za-z0-9_]*)(?:\((.*)\))?(?::(\d+))?$/s.exec(inner);
  if (!m) return null;
  return makeOperator(m[1]!, m[2] ?? null, m[3] !== undefined ? Number(m[3]) : null);
}

/** The flow column an operator fills, or null when it has none (its value goes to `extra`). */
export function operatorField(op: Operator): AccessLogKey | null {
  return OPERATOR_FIELDS[op.text] ?? null;
}

/** The `flow.extra` key for an operator without a column; see the module header for the rule. */
export function extraKey(op: Operator): string {
  return op.arg === null ? op.command.toLowerCase() : op.text;
}

/**
 * Stores one printed operator value on the flow: converted into its column, or verbatim in
 * `extra` under `extraKey` ("-" kept, see header; an empty string is stored as "-"). JSON values
 * are accepted (numbers, null -> "-", objects as JSON text). Throws `FieldError` when a column
 * value cannot have the column's type.
 */
export function applyOperatorValue(flow: Flow, op: Operator, value: unknown): void {
  const field = operatorField(op);
  if (field === null) {
    setExtra(flow.extra, extraKey(op), extraText(value));
    return;
  }
  switch (field) {
    case 'start_time':
      flow.start_time = toStartTime(field, value);
      return;
    case 'response_code':
    case 'bytes_received':
    case 'bytes_sent':
      flow[field] = toCount(field, value);
      return;
    case 'duration':
      flow.duration = toMillis(field, value);
      return;
    case 'upstream_service_time': {
      // A response header the upstream controls: junk must not cost the flow.
      const ust = toServiceTime(value);
      flow.upstream_service_time = ust.value;
      if (ust.raw !== null) flow.extra.upstream_service_time_raw = ust.raw;
      return;
    }
    case 'response_flags':
      flow.response_flags = toFlags(field, value);
      return;
    default:
      flow[field] = toText(field, value);
  }
}

/** A value as `extra` keeps it: "-" for absent/empty, JSON text for objects. */
function extraText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? '-';
  } catch {
    return String(value);
  }
}

/**
 * Renders an operator's value from a flow as Envoy would print it ("-" for absent), truncated to
 * the operator's `:Z` length. The inverse of `applyOperatorValue`, used by `renderTemplate`.
 */
export function renderOperatorValue(flow: Flow, op: Operator): string {
  const field = operatorField(op);
  let text: string;
  if (field === null) text = flow.extra[extraKey(op)] ?? '-';
  else if (field === 'response_flags') text = flow.response_flags.length > 0 ? flow.response_flags.join(',') : '-';
  else {
    const v = flow[field];
    text = v === null ? '-' : String(v);
  }
  return op.maxLength !== null && text.length > op.maxLength ? text.slice(0, op.maxLength) : text;
}

const FLOW_KEYS = new Set<string>(ACCESS_LOG_KEYS);

/** lower-snake operator name -> operator, for argument-less operators that are not flow keys. */
const KEY_OPERATORS: ReadonlyMap<string, Operator> = new Map(
  [...Object.keys(OPERATOR_FIELDS), ...IDENTITY_OPERATORS, ...OTHER_OPERATORS]
    .filter((name) => !name.includes('(') && !FLOW_KEYS.has(name.toLowerCase()))
    .map((name) => [name.toLowerCase(), makeOperator(name, null)] as const),
);

/** The operator a JSON key names by the lower-snake convention (`downstream_tls_version`), or null. */
export function operatorForKey(key: string): Operator | null {
  return KEY_OPERATORS.get(key) ?? null;
}

/**
 * For JSON lines without a template (`--format auto`): claims keys that are lower-snake operator
 * names (`downstream_peer_uri_san`, `upstream_tls_version`, `upstream_cluster_raw`, ...) and
 * stores them by the convention above. Istio's own access-log keys are left to the JSON parser.
 * Returns the keys it claimed, so the caller can keep the rest as plain leftovers. A column-backed
 * operator (`upstream_cluster_raw`) only fills its column when the column is still null. Throws
 * `FieldError` like `applyOperatorValue`.
 */
export function applyOperatorKeys(flow: Flow, obj: Record<string, unknown>): string[] {
  const claimed: string[] = [];
  for (const key in obj) {
    const op = operatorForKey(key);
    if (op === null) continue;
    claimed.push(key);
    const field = operatorField(op);
    if (field !== null && flow[field] !== null && !(field === 'response_flags' && flow.response_flags.length === 0)) continue;
    applyOperatorValue(flow, op, obj[key]);
  }
  return claimed;
}

export { FieldError };
