/**
 * Parser for Istio's default TEXT access-log format, every layout it has had, and Envoy's own
 * default format. Pure: bare line (envelope removed) -> `Flow` with the access-log keys, or a
 * `ParseFailure`. Never throws.
 *
 * All layouts share a head `[START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS` and a run of five quoted
 * groups `"XFF" "UA" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST"`. They differ in what sits between
 * FLAGS and the four numbers `BYTES_RECEIVED BYTES_SENT DURATION UPSTREAM_SERVICE_TIME` (the "mid")
 * and in how many bare tokens follow UPSTREAM_HOST (the "tail"):
 *
 * | format           | Istio     | mid                                   | tail |
 * |------------------|-----------|---------------------------------------|------|
 * | `envoy-text`     | (Envoy)   | -                                     | 0    |
 * | `istio-text-1.1` | ~1.1      | "MIXER_STATUS"                        | 5    |
 * | `istio-text-1.2` | 1.2       | "MIXER_STATUS" "UTFR"                 | 5    |
 * | `istio-text-1.3` | 1.3-1.5   | "MIXER_STATUS" "UTFR"                 | 6    |
 * | `istio-text-1.6` | 1.6-1.8   | "UTFR"                                | 6    |
 * | `istio-text-1.9` | 1.9-today | DETAILS CONN_TERMINATION "UTFR"       | 6    |
 *
 * (UTFR = UPSTREAM_TRANSPORT_FAILURE_REASON; tail = UPSTREAM_CLUSTER UPSTREAM_LOCAL DOWNSTREAM_LOCAL
 * DOWNSTREAM_REMOTE SNI [ROUTE_NAME].) Istio 1.24 swapped %UPSTREAM_CLUSTER% for
 * %UPSTREAM_CLUSTER_RAW% without changing the layout, so 1.24+ lines are token-for-token identical
 * to 1.9 lines and are reported as `istio-text-1.9` ("the layout introduced in 1.9").
 *
 * Envoy does not escape quoted fields, so a `"` inside the User-Agent cannot be told from a
 * delimiter by scanning left to right. The layout is therefore anchored from both ends: the head
 * and the mid are read from the left up to X-FORWARDED-FOR, the tail and the three quoted groups
 * that never hold quotes or spaces (request id, authority, upstream host) from the right, and the
 * User-Agent is whatever lies between. Bare tokens never hold spaces (Envoy replaces whitespace
 * in RESPONSE_CODE_DETAILS with `_`), so `{...}`, `[...]`, `:` and IPv6 `[::1]:80` need no care.
 */
import { emptyFlow, type Flow } from '../../schemas/flow.js';
import type { LineParser, ParseOutcome } from '../pipeline/contracts.js';
import { quoteBoundaryReadings, FieldError, toCount, toFlags, toMillis, toServiceTime, toStartTime, toText } from './fields.js';

/** Format names this parser reports in `flow.format`, one per layout. */
export const ISTIO_TEXT_FORMATS = [
  'envoy-text',
  'istio-text-1.1',
  'istio-text-1.2',
  'istio-text-1.3',
  'istio-text-1.6',
  'istio-text-1.9',
] as const;
export type IstioTextFormat = (typeof ISTIO_TEXT_FORMATS)[number];

const SPACE = 32;
const QUOTE = 34;
const BRACKET = 91;
/** The mid holds at most three tokens; allowing a few more only lets the error name the shape. */
const MAX_LEFT_TOKENS = 12;
const MAX_TAIL_TOKENS = 7;

/** (mid shape, tail length) -> format. Mid shape: one letter per token, `q` quoted, `b` bare. */
const LAYOUTS: Record<string, IstioTextFormat> = {
  ':0': 'envoy-text',
  'q:5': 'istio-text-1.1',
  'qq:5': 'istio-text-1.2',
  'qq:6': 'istio-text-1.3',
  'q:6': 'istio-text-1.6',
  'bbq:6': 'istio-text-1.9',
};

function failure(detail: string): ParseOutcome {
  return { ok: false, reason: 'unrecognised_format', detail };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

interface Token {
  quoted: boolean;
  value: string;
}

/**
 * Parses one line of any layout in the table above. Failures carry `unrecognised_format` when the
 * token layout matches none of them, and `invalid_field` (naming the field) when the layout matched
 * but a value cannot have its type.
 */
export function parseIstioText(line: string): ParseOutcome {
  if (line.charCodeAt(0) !== BRACKET) return failure('line does not start with "[START_TIME]"');
  const tsEnd = line.indexOf(']', 1);
  if (tsEnd < 0 || line.charCodeAt(tsEnd + 1) !== SPACE || line.charCodeAt(tsEnd + 2) !== QUOTE) {
    return failure('"[START_TIME]" is not followed by a quoted request line ("METHOD PATH PROTOCOL")');
  }
  const reqStart = tsEnd + 3;

  // The request line ends at its first quote: Envoy's HTTP codecs reject a raw `"` in a path, and
  // methods/protocols never hold one. Scanning further would let a malformed code swallow fields.
  const reqEnd = line.indexOf('"', reqStart);
  let codeEnd = -1;
  if (reqEnd >= 0 && line.charCodeAt(reqEnd + 1) === SPACE) {
    let i = reqEnd + 2;
    while (isDigit(line.charCodeAt(i))) i++;
    if (i > reqEnd + 2 && line.charCodeAt(i) === SPACE) codeEnd = i;
  }
  if (codeEnd < 0) return failure('the quoted request line is not followed by a numeric RESPONSE_CODE');
  const request = line.slice(reqStart, reqEnd);
  const sp1 = request.indexOf(' ');
  const sp2 = request.lastIndexOf(' ');
  if (sp1 < 0 || sp1 === sp2) return failure(`request line "${request.slice(0, 60)}" is not "METHOD PATH PROTOCOL"`);
  const codeText = line.slice(reqEnd + 2, codeEnd);
  const flagsStart = codeEnd + 1;
  const flagsEnd = line.indexOf(' ', flagsStart);
  if (flagsEnd < 0) return failure('line ends after RESPONSE_FLAGS');
  const flagsText = line.slice(flagsStart, flagsEnd);

  // --- from the right: bare tail tokens, then "UPSTREAM_HOST" "AUTHORITY" "REQUEST_ID" ---------
  const tail: string[] = [];
  let end = line.length;
  while (line.charCodeAt(end - 1) !== QUOTE) {
    const sp = line.lastIndexOf(' ', end - 1);
    if (sp <= flagsEnd || tail.length >= MAX_TAIL_TOKENS) {
      return failure('no quoted "UPSTREAM_HOST" group found before the trailing tokens');
    }
    tail.push(line.slice(sp + 1, end));
    end = sp;
  }
  tail.reverse();
  const rightEnd = end;
  const rightQuoted: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (line.charCodeAt(end - 1) !== QUOTE) {
      return failure(`expected a quoted group ending at column ${end} (REQUEST_ID/AUTHORITY/UPSTREAM_HOST)`);
    }
    const open = line.lastIndexOf('"', end - 2);
    if (open <= flagsEnd || line.charCodeAt(open - 1) !== SPACE) {
      return failure('the quoted REQUEST_ID/AUTHORITY/UPSTREAM_HOST groups are not where the layout puts them');
    }
    rightQuoted.push(line.slice(open + 1, end - 1));
    end = open - 1;
  }
  // `end` is now the space before "REQUEST_ID"; the User-Agent group closes just before it.
  const uaClose = end - 1;
  if (line.charCodeAt(uaClose) !== QUOTE) return failure('no quoted USER_AGENT group before "REQUEST_ID"');

  // --- from the left: the mid, then BR BS DURATION SERVICE_TIME "XFF" ------------------------
  const left: Token[] = [];
  let p = flagsEnd + 1;
  let xffIndex = -1;
  while (p < uaClose && left.length < MAX_LEFT_TOKENS) {
    if (line.charCodeAt(p) === QUOTE) {
      const close = line.indexOf('" ', p + 1);
      if (close < 0 || close >= uaClose) break;
      left.push({ quoted: true, value: line.slice(p + 1, close) });
      p = close + 2;
      const n = left.length;
      if (n >= 5 && !left[n - 2]!.quoted && !left[n - 3]!.quoted && !left[n - 4]!.quoted && !left[n - 5]!.quoted) {
        xffIndex = n - 1;
        break;
      }
    } else {
      const sp = line.indexOf(' ', p);
      if (sp < 0 || sp >= uaClose) break;
      left.push({ quoted: false, value: line.slice(p, sp) });
      p = sp + 1;
    }
  }
  if (xffIndex < 0 || line.charCodeAt(p) !== QUOTE || p >= uaClose) {
    return failure('no "BYTES_RECEIVED BYTES_SENT DURATION SERVICE_TIME "X-FORWARDED-FOR" "USER-AGENT"" run after RESPONSE_FLAGS');
  }
  const userAgent = line.slice(p + 1, uaClose);
  // Envoy does not escape quotes. "XFF" "UA" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST" has four
  // `" "` boundaries; when a client-controlled header held a quote next to a space, they may be
  // placeable in more than one way, and which field absorbed the quote cannot be known. Guessing
  // would let a client forge, e.g., another request's id, so the line is quarantined instead.
  // Candidates run from the first character of the X-Forwarded-For value (its opening quote cannot
  // close a field) to the closing quote of UPSTREAM_HOST (which cannot open one).
  const xffValueStart = p - 2 - left[xffIndex]!.value.length;
  if (quoteBoundaryReadings(line, 4, xffValueStart, rightEnd - 1) !== 1) {
    return { ok: false, reason: 'ambiguous_fields', detail: 'a quoted header value contains `" "`: the fields between X-FORWARDED-FOR and REQUEST_ID cannot be told apart unambiguously' };
  }
  const mid = left.slice(0, xffIndex - 4);
  let shape = '';
  for (const tok of mid) shape += tok.quoted ? 'q' : 'b';
  const format = LAYOUTS[`${shape}:${tail.length}`];
  if (format === undefined) {
    return failure(
      `token layout matches no known Istio/Envoy TEXT format: ${mid.length} field(s) [${shape || 'none'}] ` +
        `between RESPONSE_FLAGS and BYTES_RECEIVED, ${tail.length} token(s) after UPSTREAM_HOST`,
    );
  }

  const flow = emptyFlow(format);
  try {
    flow.start_time = toStartTime('start_time', line.slice(1, tsEnd));
    flow.method = toText('method', request.slice(0, sp1));
    flow.path = toText('path', request.slice(sp1 + 1, sp2));
    flow.protocol = toText('protocol', request.slice(sp2 + 1));
    flow.response_code = toCount('response_code', codeText);
    flow.response_flags = toFlags('response_flags', flagsText);
    fillMid(flow, format, mid);
    flow.bytes_received = toCount('bytes_received', left[xffIndex - 4]!.value);
    flow.bytes_sent = toCount('bytes_sent', left[xffIndex - 3]!.value);
    flow.duration = toMillis('duration', left[xffIndex - 2]!.value);
    const ust = toServiceTime(left[xffIndex - 1]!.value);
    flow.upstream_service_time = ust.value;
    if (ust.raw !== null) flow.extra.upstream_service_time_raw = ust.raw;
    flow.x_forwarded_for = toText('x_forwarded_for', left[xffIndex]!.value);
    flow.user_agent = toText('user_agent', userAgent);
    flow.request_id = toText('request_id', rightQuoted[2]);
    flow.authority = toText('authority', rightQuoted[1]);
    flow.upstream_host = toText('upstream_host', rightQuoted[0]);
    if (tail.length > 0) {
      flow.upstream_cluster = toText('upstream_cluster', tail[0]);
      flow.upstream_local_address = toText('upstream_local_address', tail[1]);
      flow.downstream_local_address = toText('downstream_local_address', tail[2]);
      flow.downstream_remote_address = toText('downstream_remote_address', tail[3]);
      flow.requested_server_name = toText('requested_server_name', tail[4]);
      flow.route_name = tail.length > 5 ? toText('route_name', tail[5]) : null;
    }
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: 'invalid_field', detail: `${format}: ${err.message}` };
    throw err;
  }
  return { ok: true, flow };
}

/** Fills the fields that sit between RESPONSE_FLAGS and BYTES_RECEIVED in `format`. */
function fillMid(flow: Flow, format: IstioTextFormat, mid: Token[]): void {
  switch (format) {
    case 'istio-text-1.9':
      flow.response_code_details = toText('response_code_details', mid[0]!.value);
      flow.connection_termination_details = toText('connection_termination_details', mid[1]!.value);
      flow.upstream_transport_failure_reason = toText('upstream_transport_failure_reason', mid[2]!.value);
      return;
    case 'istio-text-1.6':
      flow.upstream_transport_failure_reason = toText('upstream_transport_failure_reason', mid[0]!.value);
      return;
    case 'istio-text-1.2':
    case 'istio-text-1.3':
      flow.upstream_transport_failure_reason = toText('upstream_transport_failure_reason', mid[1]!.value);
      setMixerStatus(flow, mid[0]!.value);
      return;
    case 'istio-text-1.1':
      setMixerStatus(flow, mid[0]!.value);
      return;
    case 'envoy-text':
      return;
  }
}

/** Mixer-era `%DYNAMIC_METADATA(istio.mixer:status)%` has no column; kept in `extra` when set. */
function setMixerStatus(flow: Flow, value: string): void {
  const v = toText('mixer_status', value);
  if (v !== null) flow.extra.mixer_status = v;
}

/** Cheap per-line test: `[` then a `] "` close by, which every TEXT layout starts with. */
export function looksLikeIstioText(line: string): boolean {
  if (line.charCodeAt(0) !== BRACKET) return false;
  const close = line.indexOf('] "', 1);
  return close > 0 && close < 64;
}

/** The `LineParser` for Istio/Envoy default TEXT lines (all layouts; see the module header). */
export const istioTextParser: LineParser = {
  name: 'istio-text',
  detect: looksLikeIstioText,
  parse(line: string): ParseOutcome {
    try {
      return parseIstioText(line);
    } catch (err) {
      return { ok: false, reason: 'parser_error', detail: `istio-text: ${(err as Error)?.message ?? String(err)}` };
    }
  },
};
