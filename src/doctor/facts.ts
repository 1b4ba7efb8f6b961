/**
 * The identity and TLS facts meshtrail needs from an access-log line, per kind of reporter, and
 * how to tell which of them a line's format carries. Pure data and pure functions.
 *
 * Why per reporter kind: a line describes two connections and only one of them is the mesh hop
 * (see `src/enrich/mtls-verdict.ts`). A sidecar's inbound line is judged on its DOWNSTREAM side
 * (the caller's sidecar connected to it), an outbound or gateway line on its UPSTREAM side. So
 * "the caller's identity" is `%DOWNSTREAM_PEER_URI_SAN%` on one and `%UPSTREAM_LOCAL_URI_SAN%` on
 * the other, and a fact that matters for one kind is noise for another.
 *
 * Weights say how much a fact is worth to an audit: the principal that the verdict rests on (3),
 * the TLS version that tells TLS from plaintext (2), everything else that sharpens or links the
 * picture (1); weight 0 facts are shown but not scored. The coverage score of a group is
 * `100 * (sum of weights of facts carried) / (sum of all weights)` (see `COVERAGE_SCORE_DEFINITION`).
 */
import type { Flow } from '../../schemas/flow.js';
import { ACCESS_LOG_KEYS } from '../../schemas/flow.js';
import { operatorForKey } from '../parse/operators.js';
import { tokenizeTemplate } from '../parse/template/index.js';
import type { CoverageGroup, EvidenceKind } from '../../schemas/coverage-api.js';

/** One fact meshtrail wants from a line of a reporter kind. */
export interface FactSpec {
  /** Stable id (`source_principal`, `tls_version`, ...). */
  id: string;
  /** What it is, for people. */
  label: string;
  /** Canonical operator texts (`DOWNSTREAM_PEER_URI_SAN`); the fact is carried when any of them is. */
  operators: readonly string[];
  /** Score weight (0: informational only). */
  weight: number;
  /** The sentence saying what cannot be proven when the format does not carry the fact. */
  missing: string;
}

/** The coverage score definition, printed with every score. */
export const COVERAGE_SCORE_DEFINITION =
  'coverage score (0-100) of a reporter kind = 100 x (sum of the weights of the identity/TLS facts its format carries) / (sum of the weights of all facts meshtrail needs from that kind); ' +
  'weights: the principal the mTLS verdict rests on 3, the TLS version 2, every other scored fact 1; a fact counts as carried when at least one sampled line of that kind carries its operator. ' +
  'The overall score is the mean of the kinds\' scores weighted by their number of flows.';

const REQUEST_ID: FactSpec = {
  id: 'request_id', label: 'request id (x-request-id)', operators: ['REQ(X-REQUEST-ID)'], weight: 1,
  missing: 'lines carry no x-request-id (%REQ(X-REQUEST-ID)%): the two sides of one request cannot be joined by request id, only guessed from addresses and time.',
};

/** Scored facts per reporter group (ztunnel facts are read from flows, see `ztunnelFacts`). */
export const GROUP_FACTS: Readonly<Record<Exclude<CoverageGroup, 'ztunnel'>, readonly FactSpec[]>> = {
  sidecar_inbound: [
    { id: 'source_principal', label: 'source principal (caller SPIFFE ID)', operators: ['DOWNSTREAM_PEER_URI_SAN'], weight: 3,
      missing: 'inbound sidecar lines carry no caller identity (%DOWNSTREAM_PEER_URI_SAN%): who called the workload cannot be proven, and the mTLS verdict rests on the SNI heuristic at best.' },
    { id: 'destination_principal', label: 'destination principal (own SPIFFE ID)', operators: ['DOWNSTREAM_LOCAL_URI_SAN'], weight: 1,
      missing: 'inbound sidecar lines do not name the identity the server presented (%DOWNSTREAM_LOCAL_URI_SAN%): the destination namespace is inferred from the service or pod, not proven.' },
    { id: 'tls_version', label: 'TLS version (downstream)', operators: ['DOWNSTREAM_TLS_VERSION'], weight: 2,
      missing: 'inbound sidecar lines carry no TLS version (%DOWNSTREAM_TLS_VERSION%): whether the caller used TLS at all is only inferred from the SNI, and outdated TLS versions cannot be detected.' },
    { id: 'tls_cipher', label: 'TLS cipher (downstream)', operators: ['DOWNSTREAM_TLS_CIPHER'], weight: 1,
      missing: 'inbound sidecar lines carry no cipher suite (%DOWNSTREAM_TLS_CIPHER%): weak ciphers cannot be detected.' },
    { id: 'peer_certificate', label: 'peer certificate subject / fingerprint', operators: ['DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_PEER_FINGERPRINT_256', 'DOWNSTREAM_PEER_FINGERPRINT_1', 'DOWNSTREAM_PEER_SERIAL', 'DOWNSTREAM_PEER_CERT'], weight: 1,
      missing: 'inbound sidecar lines carry no peer certificate subject or fingerprint (%DOWNSTREAM_PEER_SUBJECT%, %DOWNSTREAM_PEER_FINGERPRINT_256%): one-way TLS cannot be told from mTLS when the caller\'s certificate has no URI SAN, and a connection cannot be tied to one certificate.' },
    { id: 'sni', label: 'SNI (requested server name)', operators: ['REQUESTED_SERVER_NAME'], weight: 1,
      missing: 'inbound sidecar lines carry no SNI (%REQUESTED_SERVER_NAME%): the service the caller asked for, and the Istio mTLS SNI heuristic, are unavailable.' },
    REQUEST_ID,
    { id: 'peer_addresses', label: 'downstream addresses (for the hop join)', operators: ['DOWNSTREAM_REMOTE_ADDRESS', 'DOWNSTREAM_LOCAL_ADDRESS'], weight: 1,
      missing: 'inbound sidecar lines carry no downstream addresses: the caller\'s outbound line cannot be matched by connection.' },
    { id: 'x_forwarded_for', label: 'x-forwarded-for', operators: ['REQ(X-FORWARDED-FOR)'], weight: 0, missing: '' },
  ],
  sidecar_outbound: [
    { id: 'destination_principal', label: 'destination principal (server SPIFFE ID)', operators: ['UPSTREAM_PEER_URI_SAN'], weight: 3,
      missing: 'outbound sidecar lines carry no upstream peer identity (%UPSTREAM_PEER_URI_SAN%): which workload answered, and whether the server was authenticated, cannot be proven.' },
    { id: 'source_principal', label: 'source principal (own SPIFFE ID)', operators: ['UPSTREAM_LOCAL_URI_SAN'], weight: 1,
      missing: 'outbound sidecar lines do not name the certificate the client presented (%UPSTREAM_LOCAL_URI_SAN%): the caller\'s identity is inferred from the reporting pod, not proven.' },
    { id: 'tls_version', label: 'TLS version (upstream)', operators: ['UPSTREAM_TLS_VERSION'], weight: 2,
      missing: 'outbound sidecar lines carry no upstream TLS version (%UPSTREAM_TLS_VERSION%): whether the connection to the server used TLS at all cannot be proven (plaintext to a workload outside the mesh looks the same as mTLS).' },
    { id: 'tls_cipher', label: 'TLS cipher (upstream)', operators: ['UPSTREAM_TLS_CIPHER'], weight: 1,
      missing: 'outbound sidecar lines carry no upstream cipher suite (%UPSTREAM_TLS_CIPHER%): weak ciphers cannot be detected.' },
    { id: 'peer_certificate', label: 'certificate subjects (upstream peer / own)', operators: ['UPSTREAM_PEER_SUBJECT', 'UPSTREAM_LOCAL_SUBJECT'], weight: 1,
      missing: 'outbound sidecar lines carry no certificate subjects (%UPSTREAM_PEER_SUBJECT%, %UPSTREAM_LOCAL_SUBJECT%): one-way TLS cannot be told from mTLS when no URI SAN is present.' },
    REQUEST_ID,
    { id: 'upstream_addresses', label: 'upstream addresses (for the hop join)', operators: ['UPSTREAM_HOST', 'UPSTREAM_LOCAL_ADDRESS'], weight: 1,
      missing: 'outbound sidecar lines carry no upstream addresses: the server\'s inbound line cannot be matched by connection.' },
    { id: 'sni', label: 'SNI (the application\'s own TLS)', operators: ['REQUESTED_SERVER_NAME'], weight: 0, missing: '' },
  ],
  gateway: [
    { id: 'destination_principal', label: 'destination principal (backend SPIFFE ID)', operators: ['UPSTREAM_PEER_URI_SAN'], weight: 3,
      missing: 'gateway lines carry no upstream peer identity (%UPSTREAM_PEER_URI_SAN%): which workload the gateway reached, and whether it was authenticated, cannot be proven.' },
    { id: 'source_principal', label: 'source principal (gateway\'s own SPIFFE ID)', operators: ['UPSTREAM_LOCAL_URI_SAN'], weight: 1,
      missing: 'gateway lines do not name the certificate the gateway presented upstream (%UPSTREAM_LOCAL_URI_SAN%).' },
    { id: 'tls_version', label: 'TLS version (upstream)', operators: ['UPSTREAM_TLS_VERSION'], weight: 2,
      missing: 'gateway lines carry no upstream TLS version (%UPSTREAM_TLS_VERSION%): whether the gateway reached the backend over TLS cannot be proven.' },
    { id: 'tls_cipher', label: 'TLS cipher (upstream)', operators: ['UPSTREAM_TLS_CIPHER'], weight: 1,
      missing: 'gateway lines carry no upstream cipher suite (%UPSTREAM_TLS_CIPHER%): weak ciphers cannot be detected.' },
    { id: 'client_tls_version', label: 'client TLS version (downstream)', operators: ['DOWNSTREAM_TLS_VERSION'], weight: 1,
      missing: 'gateway lines carry no client-side TLS version (%DOWNSTREAM_TLS_VERSION%): whether outside clients connected over TLS, and with which version, cannot be shown.' },
    { id: 'client_certificate', label: 'client certificate (mutual TLS ingress)', operators: ['DOWNSTREAM_PEER_URI_SAN', 'DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_PEER_FINGERPRINT_256'], weight: 0, missing: '' },
    { id: 'sni', label: 'SNI (requested server name)', operators: ['REQUESTED_SERVER_NAME'], weight: 1,
      missing: 'gateway lines carry no SNI (%REQUESTED_SERVER_NAME%): the host outside clients asked for is unknown.' },
    { id: 'x_forwarded_for', label: 'x-forwarded-for', operators: ['REQ(X-FORWARDED-FOR)'], weight: 1,
      missing: 'gateway lines carry no x-forwarded-for (%REQ(X-FORWARDED-FOR)%): behind a load balancer, the original client address cannot be shown.' },
    REQUEST_ID,
    { id: 'upstream_addresses', label: 'upstream addresses (for the hop join)', operators: ['UPSTREAM_HOST', 'UPSTREAM_LOCAL_ADDRESS'], weight: 1,
      missing: 'gateway lines carry no upstream addresses: the backend\'s inbound line cannot be matched by connection.' },
  ],
  waypoint: [
    { id: 'source_principal', label: 'source principal (caller SPIFFE ID)', operators: ['DOWNSTREAM_PEER_URI_SAN'], weight: 3,
      missing: 'waypoint lines carry no caller identity (%DOWNSTREAM_PEER_URI_SAN%): who called cannot be proven.' },
    { id: 'destination_principal', label: 'destination principal (server SPIFFE ID)', operators: ['UPSTREAM_PEER_URI_SAN'], weight: 2,
      missing: 'waypoint lines carry no upstream peer identity (%UPSTREAM_PEER_URI_SAN%): which workload answered cannot be proven.' },
    { id: 'tls_version', label: 'TLS version', operators: ['DOWNSTREAM_TLS_VERSION', 'UPSTREAM_TLS_VERSION'], weight: 1,
      missing: 'waypoint lines carry no TLS version: TLS cannot be told from plaintext from the line alone.' },
    REQUEST_ID,
  ],
  unknown: [
    { id: 'source_principal', label: 'source principal', operators: ['DOWNSTREAM_PEER_URI_SAN', 'UPSTREAM_LOCAL_URI_SAN'], weight: 3,
      missing: 'lines of an unknown reporter carry no caller identity: who called cannot be proven.' },
    { id: 'destination_principal', label: 'destination principal', operators: ['UPSTREAM_PEER_URI_SAN', 'DOWNSTREAM_LOCAL_URI_SAN'], weight: 3,
      missing: 'lines of an unknown reporter carry no server identity: which workload answered cannot be proven.' },
    { id: 'tls_version', label: 'TLS version', operators: ['DOWNSTREAM_TLS_VERSION', 'UPSTREAM_TLS_VERSION'], weight: 2,
      missing: 'lines of an unknown reporter carry no TLS version: TLS cannot be told from plaintext.' },
    { id: 'tls_cipher', label: 'TLS cipher', operators: ['DOWNSTREAM_TLS_CIPHER', 'UPSTREAM_TLS_CIPHER'], weight: 1,
      missing: 'lines of an unknown reporter carry no cipher suite: weak ciphers cannot be detected.' },
    REQUEST_ID,
  ],
};

/** ztunnel facts: its format is fixed, so they are read from what the parsed flows hold. */
export const ZTUNNEL_FACTS: readonly (Omit<FactSpec, 'operators'> & { present: (flow: Flow) => boolean })[] = [
  { id: 'source_principal', label: 'source principal (src.identity)', weight: 3, present: (f) => f.source_principal_from?.startsWith('ztunnel') === true,
    missing: 'no ztunnel line in the sample carried src.identity: ztunnel names identities only on mutual_tls connections, so none of the sampled connections is proven to be mTLS.' },
  { id: 'destination_principal', label: 'destination principal (dst.identity)', weight: 3, present: (f) => f.destination_principal_from?.startsWith('ztunnel') === true,
    missing: 'no ztunnel line in the sample carried dst.identity: which workload answered cannot be proven.' },
  { id: 'hbone_target', label: 'HBONE target (dst.hbone_addr)', weight: 1, present: (f) => f.extra['dst.hbone_addr'] !== undefined,
    missing: 'no ztunnel line in the sample carried dst.hbone_addr: whether a connection arrived over HBONE (mTLS) or as plain TCP cannot be told.' },
];

/** Statements that hold for a group whatever the format carries. */
export const GROUP_CAVEATS: Readonly<Partial<Record<CoverageGroup, readonly string[]>>> = {
  ztunnel: [
    'ztunnel lines do not log the TLS version or cipher: HBONE is mTLS over TLS 1.3 when identities are present, but per-connection TLS parameters cannot be shown.',
    'ztunnel logs TCP connections, not HTTP requests: there is no request id, method or path, so requests cannot be followed through ztunnel lines.',
  ],
  unknown: [
    'the reporter kind or direction of these lines could not be told (no Kubernetes metadata in the envelope and no inbound|/outbound| cluster): which side of the hop they describe is unknown, so meshtrail only concludes mTLS from facts on either side and never concludes plaintext.',
  ],
};

/** Istio's default TEXT format (1.24+), the operator set `istio-text-*` lines carry. */
export const ISTIO_DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%';

/** Envoy's own default format (what `envoy-text` lines carry). */
const ENVOY_DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"';

/** Istio's default JSON key set (`EnvoyJSONLogFormatIstio`, 1.25+ spelling): key -> format string. */
export const ISTIO_DEFAULT_LABELS: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
};

function operatorsOf(template: string): Set<string> {
  const out = new Set<string>();
  for (const s of tokenizeTemplate(template)) if (s.kind === 'operator') out.add(s.op.text);
  return out;
}

const ISTIO_TEXT_OPS = operatorsOf(ISTIO_DEFAULT_TEXT_FORMAT);
const ENVOY_TEXT_OPS = operatorsOf(ENVOY_DEFAULT_TEXT_FORMAT);
const FLOW_KEYS = new Set<string>(ACCESS_LOG_KEYS);
const JSON_KEY_OPERATOR: ReadonlyMap<string, string> = new Map(
  Object.entries(ISTIO_DEFAULT_LABELS).map(([k, v]) => [k, [...operatorsOf(v)][0]!] as const),
);

/**
 * The operators a line carries, as canonical texts. `templateCarries` is the compiled template's
 * `carries` when the line was read by a user-given template; `jsonKeys` the keys of the line's JSON
 * object when it was JSON. Istio/Envoy default TEXT layouts carry their fixed set.
 */
export function lineOperators(flow: Flow, jsonKeys: readonly string[] | null, templateOps: readonly string[] | null): Set<string> {
  if (templateOps !== null) return new Set(templateOps);
  if (flow.format === 'envoy-text') return ENVOY_TEXT_OPS;
  if (flow.format.startsWith('istio-text')) return ISTIO_TEXT_OPS;
  const out = new Set<string>();
  if (jsonKeys !== null) {
    for (const key of jsonKeys) {
      const op = FLOW_KEYS.has(key) ? JSON_KEY_OPERATOR.get(key) : operatorForKey(key)?.text;
      if (op !== undefined) out.add(op);
    }
  }
  // Operators without a column land in `extra` under their lower-snake name, "-" included.
  for (const key of Object.keys(flow.extra)) {
    const op = operatorForKey(key);
    if (op !== null) out.add(op.text);
  }
  return out;
}

/**
 * The group a flow is reported under: its reporter kind, sidecars split by direction (the
 * direction enrichment already read the cluster name). Same rule as `groupOfStored`, so the
 * doctor and the API group alike.
 */
export function groupOf(flow: Flow): CoverageGroup {
  return groupOfStored(flow.reporter.kind, flow.direction);
}

/** Same grouping from stored columns (reporter kind and direction), for the API. */
export function groupOfStored(kind: string, direction: 'inbound' | 'outbound' | null): CoverageGroup {
  if (kind === 'ztunnel' || kind === 'gateway' || kind === 'waypoint') return kind;
  if (kind === 'sidecar' && direction === 'inbound') return 'sidecar_inbound';
  if (kind === 'sidecar' && direction === 'outbound') return 'sidecar_outbound';
  return 'unknown';
}

/**
 * The kind of evidence an mTLS verdict rests on, read from the evidence text that
 * `src/enrich/mtls-verdict.ts` writes (rule a1 ... d of its table).
 */
export function evidenceKind(evidence: string | null, mtls: boolean | null): EvidenceKind {
  if (evidence === null) return 'none';
  if (/^(downstream|upstream)_peer_uri_san: /.test(evidence)) return 'peer_uri_san';
  if (/^(downstream|upstream)_\w+: a client certificate was presented/.test(evidence)) return 'client_certificate';
  if (/^(downstream|upstream)_tls_version is "-"/.test(evidence)) return 'tls_version_absent';
  if (/one-way TLS/.test(evidence)) return 'one_way_tls';
  if (/^heuristic: downstream_tls_version/.test(evidence)) return 'heuristic_tls_listener';
  if (/^(downstream|upstream)_tls_version .*mutual authentication is not proven/.test(evidence)) return 'tls_without_peer_certificate';
  if (/^ztunnel .* present/.test(evidence)) return 'ztunnel_identity';
  if (/^ztunnel inbound connection without dst\.hbone_addr/.test(evidence)) return 'ztunnel_passthrough';
  if (/^ztunnel line without identity/.test(evidence)) return 'ztunnel_no_identity';
  if (/^heuristic: inbound SNI/.test(evidence)) return 'heuristic_istio_sni';
  if (/no SNI from .*plaintext/.test(evidence)) return 'no_sni_plaintext';
  return mtls === null ? 'not_provable' : 'other';
}
