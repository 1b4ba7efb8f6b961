/**
 * Parser for ztunnel (Istio ambient) access logs in ztunnel's plain layout, plus the field mapping
 * shared with the JSON layout (`./ztunnel-json.parser.ts`). Pure; never throws on input.
 *
 * Accepted shapes (FORMATS.md §4): `<RFC3339>Z\t<level>\t<target>\t<message>\t<k=v ...>`, the same
 * with spaces instead of tabs, tracing's default layout (`<time>  INFO access: connection complete
 * k=v ...`), and pasted lines without timestamp/level/target. Values are Rust Debug strings
 * (`"..."` with `\"`, `\\`, `\n`, `\u{..}` escapes) or bare Display values.
 *
 * Mapping (from the reporter ztunnel's point of view, like Envoy's fields):
 * - `src.addr` -> downstream_remote_address (the connecting client);
 * - `dst.addr` -> upstream_host (what ztunnel connected to: the peer's `:15008` HBONE port on
 *   outbound, the local workload on inbound); `dst.hbone_addr` stays in `extra` and gives
 *   `destination_port` (else `dst.addr`'s port unless it is 15008);
 * - `dst.service` -> destination_service; `src|dst.workload` -> `*_workload`;
 *   `src|dst.namespace` -> `*_namespace` (provenance `ztunnel src.namespace`);
 *   `src|dst.identity` -> `*_principal` (provenance `ztunnel src.identity`), validated and turned
 *   into namespace/service account later by `enrichIdentity`, which also gives the mTLS verdict
 *   (identities present => mutual TLS; see `src/enrich/mtls-verdict.ts` rules b1-b3);
 * - `direction`, `bytes_sent`, `bytes_recv` -> bytes_received, `duration="13ms"` -> 13;
 * - `error` -> response_code_details (the L4 failure reason, where detectors look for denials);
 * - the log time is when the connection completed: `start_time` is that time minus the duration
 *   (the log time itself stays in `extra.log_time`); `level`, `target`, `message`, `src.cluster`,
 *   `dst.cluster`, `dst.hbone_addr` and unknown keys go to `extra` under their own names.
 * `reporter.kind` is `ztunnel`. A line without `src.addr` and `dst.addr` is not an access log.
 */
import { emptyFlow, setExtra } from '../../schemas/flow.js';
import type { LineParser, ParseOutcome } from '../pipeline/contracts.js';
import { FieldError, preview, toCount, toStartTime } from './fields.js';

/** Format names reported in `flow.format`. */
export const ZTUNNEL_PLAIN_FORMAT = 'ztunnel-plain';
export const ZTUNNEL_JSON_FORMAT = 'ztunnel-json';

/** The facts around the key=value fields: log time, level, target (`scope`), message. */
export interface ZtunnelMeta {
  time: string | null;
  level: string | null;
  target: string | null;
  message: string | null;
}

const HBONE_PORT = 15008;
const LEVEL = /^(trace|debug|info|warn|warning|error)$/i;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;
const KEY_START = /(?:^|\s)[A-Za-z_][A-Za-z0-9_.]*=/;
const ADDR_KEY = /(?:^|\s)(?:src|dst)\.addr=/;

/** ztunnel `duration` -> milliseconds: `13ms`, `1.5s`, `250µs`/`250us`, `10ns`, or a bare number (ms). */
export function durationMillis(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|µs|us|ns|m)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const scale = { ms: 1, s: 1000, m: 60_000, µs: 1e-3, us: 1e-3, ns: 1e-6 }[m[2] ?? 'ms'] ?? 1;
  return n * scale;
}

/** The port of `ip:port`, `[v6]:port` or `host:port`; null when there is none. */
function portOf(addr: string): number | null {
  const m = /:(\d{1,5})$/.exec(addr);
  if (!m) return null;
  const p = Number(m[1]);
  return p <= 65535 ? p : null;
}

/**
 * Builds a flow from ztunnel's fields (plain or JSON; values already unquoted). Returns a failure
 * for a line that is not an access log or has a value of the wrong type.
 */
export function ztunnelFlow(fields: ReadonlyMap<string, unknown>, meta: ZtunnelMeta, format: string): ParseOutcome {
  if (!fields.has('src.addr') && !fields.has('dst.addr')) {
    return { ok: false, reason: 'not_access_log', detail: `${format}: ztunnel line without src.addr/dst.addr${meta.target ? ` (target ${meta.target})` : ''}` };
  }
  const flow = emptyFlow(format);
  flow.reporter.kind = 'ztunnel';
  if (meta.level) flow.extra.level = meta.level;
  if (meta.target) flow.extra.target = meta.target;
  if (meta.message) flow.extra.message = meta.message;
  const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : typeof v === 'string' ? v : String(v));
  try {
    let logTime: string | null = null;
    if (meta.time !== null) {
      logTime = toStartTime('time', meta.time);
      flow.extra.log_time = meta.time;
    }
    for (const [key, raw] of fields) {
      const v = str(raw);
      if (v === null) continue;
      switch (key) {
        case 'src.addr': flow.downstream_remote_address = v; break;
        case 'dst.addr': flow.upstream_host = v; break;
        case 'dst.service': flow.destination_service = v; break;
        case 'src.workload': flow.source_workload = v; break;
        case 'dst.workload': flow.destination_workload = v; break;
        case 'src.namespace': flow.source_namespace = v; flow.source_namespace_from = 'ztunnel src.namespace'; break;
        case 'dst.namespace': flow.destination_namespace = v; flow.destination_namespace_from = 'ztunnel dst.namespace'; break;
        case 'src.identity': flow.source_principal = v; flow.source_principal_from = 'ztunnel src.identity'; break;
        case 'dst.identity': flow.destination_principal = v; flow.destination_principal_from = 'ztunnel dst.identity'; break;
        case 'direction':
          if (v === 'inbound' || v === 'outbound') flow.direction = v;
          else flow.extra.direction = v;
          break;
        case 'bytes_sent': flow.bytes_sent = toCount('bytes_sent', raw); break;
        case 'bytes_recv': flow.bytes_received = toCount('bytes_recv', raw); break;
        case 'duration': {
          const ms = typeof raw === 'number' ? raw : durationMillis(v);
          if (ms === null || !(ms >= 0)) throw new FieldError('duration', raw, 'a duration such as "13ms"');
          flow.duration = ms;
          break;
        }
        case 'error': flow.response_code_details = v; break;
        default: setExtra(flow.extra, key, v);
      }
    }
    const hbone = flow.extra['dst.hbone_addr'];
    flow.destination_port = hbone !== undefined ? portOf(hbone) : null;
    if (flow.destination_port === null && flow.upstream_host !== null) {
      const p = portOf(flow.upstream_host);
      if (p !== HBONE_PORT) flow.destination_port = p;
    }
    if (logTime !== null) {
      flow.start_time = flow.duration !== null ? new Date(Date.parse(logTime) - Math.round(flow.duration)).toISOString() : logTime;
    }
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: 'invalid_field', detail: `${format}: ${err.message}` };
    return { ok: false, reason: 'parser_error', detail: `${format}: ${(err as Error)?.message ?? String(err)}` };
  }
  return { ok: true, flow };
}

/** Reads a Rust Debug string starting at `s[i] === '"'`; returns the text and the index after it, or null. */
function readQuoted(s: string, i: number): { text: string; end: number } | null {
  let out = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === '"') return { text: out, end: j + 1 };
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++j];
    if (e === undefined) return null;
    if (e === 'n') out += '\n';
    else if (e === 't') out += '\t';
    else if (e === 'r') out += '\r';
    else if (e === '0') out += '\0';
    else if (e === 'u' && s[j + 1] === '{') {
      const close = s.indexOf('}', j + 2);
      const cp = close > 0 ? Number.parseInt(s.slice(j + 2, close), 16) : Number.NaN;
      if (Number.isNaN(cp) || cp > 0x10ffff) return null;
      out += String.fromCodePoint(cp);
      j = close;
    } else out += e; // \" \\ \'
  }
  return null;
}

const WS = /\s/;

/** Parses `k=v k="quoted" ...` into an ordered map; null when a quoted value is unterminated. */
export function parseKeyValues(s: string): Map<string, string> | null {
  const out = new Map<string, string>();
  const unparsed: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && WS.test(s[i]!)) i++;
    if (i >= s.length) break;
    // Scan only to the end of this word: searching the whole rest of the line for "=" and
    // whitespace on every word made hostile lines of bare words quadratic.
    let wordEnd = i;
    let eq = -1;
    while (wordEnd < s.length && !WS.test(s[wordEnd]!)) {
      if (eq < 0 && s.charCodeAt(wordEnd) === 61 /* = */) eq = wordEnd;
      wordEnd++;
    }
    if (eq < 0) {
      // A bare word without "=" (a wrapped or pasted tail): keep it rather than fail the line.
      unparsed.push(s.slice(i, wordEnd));
      i = wordEnd;
      continue;
    }
    const key = s.slice(i, eq);
    i = eq + 1;
    if (s[i] === '"') {
      const q = readQuoted(s, i);
      if (q === null) return null;
      out.set(key, q.text);
      i = q.end;
    } else {
      let j = i;
      while (j < s.length && !WS.test(s[j]!)) j++;
      out.set(key, s.slice(i, j));
      i = j;
    }
  }
  if (unparsed.length) out.set('unparsed', unparsed.join(' '));
  return out;
}

/** Splits the plain layout into its header facts and the key=value text. */
function splitPlain(line: string): { meta: ZtunnelMeta; kv: string } {
  const meta: ZtunnelMeta = { time: null, level: null, target: null, message: null };
  let rest = line.replace(/^\s+/, '');
  const take = (test: (tok: string) => boolean): string | null => {
    const m = /^(\S+)[ \t]+/.exec(rest);
    if (!m || !test(m[1]!)) return null;
    rest = rest.slice(m[0].length);
    return m[1]!;
  };
  meta.time = take((t) => TIMESTAMP.test(t));
  const level = take((t) => LEVEL.test(t));
  meta.level = level ? level.toLowerCase() : null;
  if (meta.level !== null) {
    // A target is `access`, a Rust path (`a::b`), tracing's `target:` or a tab-separated column;
    // otherwise the next word already belongs to the message (pasted lines without a target).
    const tabbed = /^\S+\t/.test(rest);
    const target = take((t) => !t.includes('=') && (tabbed || t.endsWith(':') || t === 'access' || t.includes('::')));
    meta.target = target ? target.replace(/:$/, '') : null;
  }
  const k = KEY_START.exec(rest);
  const cut = k ? k.index : rest.length;
  const message = rest.slice(0, cut).trim();
  meta.message = message === '' ? null : message;
  return { meta, kv: rest.slice(cut) };
}

/** Cheap per-line test: a non-JSON, non-Envoy line with ztunnel's `src.addr=`/`dst.addr=` fields. */
export function looksLikeZtunnelPlain(line: string): boolean {
  const c = line.charCodeAt(0);
  if (c === 123 /* { */ || c === 91 /* [ */) return false;
  return ADDR_KEY.test(line);
}

/** Parses one ztunnel plain-layout line. */
export function parseZtunnelPlain(raw: string): ParseOutcome {
  const line = raw.replace(/\r?\n$/, '');
  const { meta, kv } = splitPlain(line);
  const fields = parseKeyValues(kv);
  if (fields === null) return { ok: false, reason: 'invalid_field', detail: `${ZTUNNEL_PLAIN_FORMAT}: unterminated quoted value in ${preview(kv)}` };
  return ztunnelFlow(fields, meta, ZTUNNEL_PLAIN_FORMAT);
}

/** The `LineParser` for ztunnel's plain (default) access-log layout. */
export const ztunnelPlainParser: LineParser = {
  name: ZTUNNEL_PLAIN_FORMAT,
  detect: looksLikeZtunnelPlain,
  parse(line: string): ParseOutcome {
    try {
      return parseZtunnelPlain(line);
    } catch (err) {
      return { ok: false, reason: 'parser_error', detail: `${ZTUNNEL_PLAIN_FORMAT}: ${(err as Error)?.message ?? String(err)}` };
    }
  },
};
