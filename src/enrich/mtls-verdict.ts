/**
 * The mTLS verdict: was the hop a flow describes mutually authenticated, and on what evidence.
 * Pure; reads the flow (columns, identity/TLS operator values in `extra`, reporter, direction).
 *
 * The hop is judged from the reporter's own side: a sidecar's inbound line from its DOWNSTREAM
 * connection (the caller's sidecar -> this sidecar), an outbound line from its UPSTREAM connection
 * (this sidecar -> the server). A gateway's downstream is the outside world, not a mesh hop, so a
 * gateway is always judged on its upstream. `extra` keeps Envoy's "-" (see
 * `src/parse/operators.ts`): "-" means the format carries the operator and it was empty; a
 * missing key means the format does not carry it, which never proves anything.
 *
 * Verdict table, strongest rule first (S = DOWNSTREAM on inbound, UPSTREAM on outbound/gateway;
 * with no known side only rules that conclude `true` look at both sides):
 *
 * | # | facts in the line                                                           | mtls  | evidence says                                   |
 * |---|-----------------------------------------------------------------------------|-------|-------------------------------------------------|
 * | a1| `S_peer_uri_san` has a value (even a malformed SPIFFE ID)                   | true  | peer certificate with URI SAN <value>           |
 * | a2| a client-certificate field of S set: DOWNSTREAM_PEER_{FINGERPRINT_*,       | true  | client certificate presented                    |
 * |   | SUBJECT,SERIAL,CERT,ISSUER}; UPSTREAM_LOCAL_{URI_SAN,SUBJECT} (our cert)     |       |                                                 |
 * | a3| `S_tls_version` carried and "-"                                             | false | S connection not TLS (Envoy's view)             |
 * | a4| `S_tls_version` set and an always-set client-cert field carried and "-"     | false | one-way TLS: no client certificate              |
 * |   | (DOWNSTREAM_PEER_{FINGERPRINT_*,SUBJECT,SERIAL,CERT}; UPSTREAM_LOCAL_SUBJECT)|       |                                                 |
 * | a5| `S_tls_version` set on a sidecar inbound line, no peer field in the format  | true  | heuristic: Istio's inbound TLS chain requires   |
 * |   |                                                                             |       | a client certificate                            |
 * | a6| `S_tls_version` set otherwise (e.g. only UPSTREAM_PEER_SUBJECT: the server's| null  | TLS, mutual authentication not proven           |
 * |   | certificate proves TLS, not that we presented one)                          |       |                                                 |
 * | b1| ztunnel `src.identity`/`dst.identity` present                               | true  | ztunnel logs identities only for mutual_tls     |
 * | b2| ztunnel inbound `connection complete`, no identity, no `dst.hbone_addr`     | false | inbound passthrough, not HBONE                  |
 * | b3| any other ztunnel line                                                      | null  | identity absent; not guessing plaintext         |
 * | c | inbound line, SNI `outbound_.<port>_.<subset>_.<host>`                      | true  | heuristic: caller was an Istio sidecar using    |
 * |   |                                                                             |       | ISTIO_MUTUAL (SNI, not a verified identity)     |
 * | d | sidecar inbound, format carries SNI, SNI "-", non-loopback downstream peer  | false | plaintext: no TLS ClientHello from the caller   |
 * | - | outbound through PassthroughCluster / BlackHoleCluster (egress, no mesh peer)  | null  | mesh mTLS does not apply                        |
 * | - | anything else (outbound in the default format, gateways without upstream    | null  | why the line cannot tell                        |
 * |   | TLS fields, unknown direction, foreign SNI, loopback callers)               |       |                                                 |
 *
 * Why b2 is `false` and b3 is `null`: ztunnel omits identities unless the connection policy was
 * mutual_tls, but it also omits them on `connection opened` lines, for outbound traffic to
 * non-mesh destinations (the app may run its own TLS, invisible to ztunnel) and in older builds
 * the destination identity can be missing on mTLS lines. Only an inbound connection that did not
 * arrive over HBONE (no `dst.hbone_addr`) and carries no identity proves plaintext on the wire.
 * "Sidecar inbound" means direction inbound and reporter kind `sidecar` (or `unknown` with an
 * `inbound|` or `InboundPassthroughCluster*` cluster): only sidecars have inbound clusters.
 */
import type { Flow } from '../../schemas/flow.js';
import { parseSpiffeId } from './spiffe.js';

/** The verdict and the TLS facts of the judged side. */
export interface MtlsVerdict {
  mtls: boolean | null;
  /** The strongest fact the verdict rests on, or why it is unknown. Never empty. */
  evidence: string;
  tls_version: string | null;
  tls_cipher: string | null;
}

/** What the caller knows about the line's format. */
export interface VerdictOptions {
  /**
   * Whether the line's format carries an operator (canonical text, e.g. `REQUESTED_SERVER_NAME`).
   * Compiled template parsers expose this as `carries`. Without it, only Istio's default TEXT
   * formats (`istio-text*`) are known to carry `REQUESTED_SERVER_NAME`.
   */
  carries?: (operator: string) => boolean;
}

type Side = 'downstream' | 'upstream';

/**
 * Per side, the fields that show a *client* certificate took part (beyond `peer_uri_san`): on the
 * downstream side the peer is the client; on the upstream side the reporter is, so its own local
 * certificate counts and the server's (UPSTREAM_PEER_SUBJECT ...) does not.
 */
const CLIENT_CERT_FIELDS: Readonly<Record<Side, readonly string[]>> = {
  downstream: ['peer_fingerprint_256', 'peer_fingerprint_1', 'peer_subject', 'peer_serial', 'peer_cert', 'peer_issuer'],
  upstream: ['local_uri_san', 'local_subject'],
};
/** Fields Envoy sets whenever a client certificate was used (a URI SAN may legitimately be absent). */
const ALWAYS_WITH_CLIENT_CERT: Readonly<Record<Side, readonly string[]>> = {
  downstream: ['peer_fingerprint_256', 'peer_fingerprint_1', 'peer_subject', 'peer_serial', 'peer_cert'],
  upstream: ['local_subject'],
};
const ISTIO_MTLS_SNI = /^outbound_\.(\d+)_\.([^_]*)_\.(.+)$/;

/**
 * `extra` key of a side's field (`downstream` + `tls_version` -> `downstream_tls_version`), built
 * once: the verdict runs for every flow and would otherwise concatenate a dozen keys per line.
 */
const SIDE_FIELDS = ['tls_version', 'tls_cipher', 'peer_uri_san', ...new Set([...CLIENT_CERT_FIELDS.downstream, ...CLIENT_CERT_FIELDS.upstream])];
const SIDE_KEY: Readonly<Record<Side, Readonly<Record<string, string>>>> = {
  downstream: Object.fromEntries(SIDE_FIELDS.map((f) => [f, `downstream_${f}`])),
  upstream: Object.fromEntries(SIDE_FIELDS.map((f) => [f, `upstream_${f}`])),
};
const sideKey = (side: Side, field: string): string => SIDE_KEY[side][field] ?? `${side}_${field}`;
const BOTH_SIDES: readonly Side[] = ['downstream', 'upstream'];
const ONE_SIDE: Readonly<Record<Side, readonly Side[]>> = { downstream: ['downstream'], upstream: ['upstream'] };

/** The side of the proxy that carries the hop a line describes; null when it cannot be told. */
export function hopSide(flow: Flow): Side | null {
  if (flow.reporter.kind === 'ztunnel') return null;
  if (flow.reporter.kind === 'gateway') return 'upstream';
  const direction = flow.direction ?? directionFromCluster(flow.upstream_cluster);
  if (direction === 'inbound') return 'downstream';
  if (direction === 'outbound') return 'upstream';
  return null;
}

function directionFromCluster(cluster: string | null): 'inbound' | 'outbound' | null {
  if (cluster === null) return null;
  if (cluster.startsWith('inbound|')) return 'inbound';
  if (cluster.startsWith('outbound|')) return 'outbound';
  return null;
}

/** True for an inbound line written by a sidecar (only sidecars have `inbound|`/InboundPassthrough clusters). */
export function isSidecarInbound(flow: Flow): boolean {
  const kind = flow.reporter.kind;
  const direction = flow.direction ?? directionFromCluster(flow.upstream_cluster);
  if (direction !== 'inbound') return false;
  if (kind === 'sidecar') return true;
  const cluster = flow.upstream_cluster ?? '';
  return kind === 'unknown' && (cluster.startsWith('inbound|') || cluster.startsWith('InboundPassthroughCluster'));
}

/** The value of an `extra` key when it holds one ("-" and missing are both absent). */
function value(flow: Flow, key: string): string | null {
  const v = flow.extra[key];
  return v === undefined || v === '-' || v === '' ? null : v;
}

/**
 * True when `extra` proves the format carries the key and it was empty ("-"). Parsers write every
 * carried operator without a column to `extra`, so a missing key means "not in the format".
 */
function carriedEmpty(flow: Flow, key: string): boolean {
  const v = flow.extra[key];
  return v === '-' || v === '';
}

function isLoopback(address: string): boolean {
  const host = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.replace(/:\d+$/, '');
  return host.startsWith('127.') || host === '::1' || host === 'localhost' || host.startsWith('::ffff:127.');
}

function carriesSni(flow: Flow, options: VerdictOptions): boolean {
  if (options.carries) return options.carries('REQUESTED_SERVER_NAME');
  return flow.format.startsWith('istio-text');
}

/** Judges the mTLS verdict of a flow; see the table in the module header. */
export function judgeMtls(flow: Flow, options: VerdictOptions = {}): MtlsVerdict {
  const side = hopSide(flow);
  const verdict = (mtls: boolean | null, evidence: string, s: Side | null = side): MtlsVerdict => ({
    mtls, evidence,
    tls_version: s ? value(flow, sideKey(s, 'tls_version')) : null,
    tls_cipher: s ? value(flow, sideKey(s, 'tls_cipher')) : null,
  });

  // (a) TLS facts the format itself carries, on the judged side (both sides when unknown, true-only).
  const sides = side ? ONE_SIDE[side] : BOTH_SIDES;
  for (const s of sides) {
    const san = value(flow, sideKey(s, 'peer_uri_san'));
    if (san !== null) {
      const parsed = parseSpiffeId(san);
      const note = parsed.valid ? '' : ` (not a valid SPIFFE ID: ${parsed.reason})`;
      return verdict(true, `${s}_peer_uri_san: the ${s} peer presented a certificate with URI SAN ${san}${note}`, s);
    }
    for (const f of CLIENT_CERT_FIELDS[s]) {
      if (value(flow, sideKey(s, f)) !== null) return verdict(true, `${s}_${f}: a client certificate was presented on the ${s} connection`, s);
    }
  }
  // Traffic leaving the mesh through the passthrough or blackhole clusters has no mesh peer: the
  // sidecar forwards raw TCP (the app may speak its own TLS inside it), so a missing upstream TLS
  // version says nothing about mutual authentication between workloads.
  if (side === 'upstream' && (flow.upstream_cluster === 'PassthroughCluster' || flow.upstream_cluster === 'BlackHoleCluster')) {
    return verdict(null, `egress through ${flow.upstream_cluster}: the destination is outside the mesh, mesh mTLS does not apply${flow.requested_server_name ? ` (the app sent TLS with SNI ${flow.requested_server_name})` : ''}`);
  }
  if (side !== null) {
    const version = value(flow, sideKey(side, 'tls_version'));
    if (version === null && carriedEmpty(flow, sideKey(side, 'tls_version'))) {
      return verdict(false, `${side}_tls_version is "-": Envoy did not use TLS on the ${side} connection (plaintext as far as the proxy can see)`);
    }
    if (version !== null) {
      const noCert = ALWAYS_WITH_CLIENT_CERT[side].find((f) => carriedEmpty(flow, sideKey(side, f)));
      if (noCert) return verdict(false, `${side}_tls_version ${version} but ${side}_${noCert} is "-": one-way TLS, no client certificate`);
      const peerFieldsCarried = flow.extra[sideKey(side, 'peer_uri_san')] !== undefined ||
        CLIENT_CERT_FIELDS[side].some((f) => flow.extra[sideKey(side, f)] !== undefined);
      if (side === 'downstream' && isSidecarInbound(flow) && !peerFieldsCarried) {
        return verdict(true, `heuristic: downstream_tls_version ${version} on a sidecar inbound listener; Istio's inbound TLS filter chain requires a client certificate`);
      }
      return verdict(null, `${side}_tls_version ${version}: TLS, but the line does not show a peer certificate, so mutual authentication is not proven`);
    }
  }

  // (b) ztunnel.
  if (flow.reporter.kind === 'ztunnel' || flow.format.startsWith('ztunnel')) {
    const ids = [
      flow.source_principal_from?.startsWith('ztunnel') ? 'src.identity' : null,
      flow.destination_principal_from?.startsWith('ztunnel') ? 'dst.identity' : null,
    ].filter((x) => x !== null);
    if (ids.length > 0) return verdict(true, `ztunnel ${ids.join(' and ')} present: ztunnel reports identities only for mutual_tls connections`, null);
    if (flow.direction === 'inbound' && flow.extra.message === 'connection complete' && flow.extra['dst.hbone_addr'] === undefined) {
      return verdict(false, 'ztunnel inbound connection without dst.hbone_addr and without identities: arrived as plain TCP (passthrough), not over HBONE mTLS', null);
    }
    return verdict(null, 'ztunnel line without identity fields: not proof of plaintext (connection opened lines, outbound to non-mesh hosts and older ztunnels omit them)', null);
  }

  // (c) Istio's mTLS SNI on an inbound line: whoever wrote the line, the caller spoke Istio mTLS.
  const sni = flow.requested_server_name;
  const sniParts = sni !== null ? ISTIO_MTLS_SNI.exec(sni) : null;
  if (sniParts && (flow.direction ?? directionFromCluster(flow.upstream_cluster)) === 'inbound') {
    return verdict(true, `heuristic: inbound SNI ${sni} is Istio's mTLS SNI; the caller was an Istio sidecar using ISTIO_MUTUAL to ${sniParts[3]}:${sniParts[1]} (not a verified identity)`);
  }

  // (d) no SNI on a sidecar's inbound listener.
  if (isSidecarInbound(flow)) {
    if (sni !== null) {
      return verdict(null, `inbound SNI ${sni} is not Istio's mTLS SNI: TLS from a non-mesh client or the app's own TLS; mutual authentication not proven`);
    }
    if (!carriesSni(flow, options)) return verdict(null, 'sidecar inbound line, but the format does not carry REQUESTED_SERVER_NAME or TLS fields');
    const peer = flow.downstream_remote_address;
    if (peer === null) return verdict(null, 'sidecar inbound line without SNI, but the downstream peer address is unknown');
    if (isLoopback(peer)) return verdict(null, `sidecar inbound line without SNI from loopback ${peer}: local traffic, not a mesh hop`);
    return verdict(false, `sidecar inbound line with no SNI from ${peer}: the caller sent no TLS ClientHello (plaintext)`);
  }

  if (flow.reporter.kind === 'gateway') {
    return verdict(null, 'gateway line: the mesh hop is the upstream connection and the line has no upstream TLS fields (add %UPSTREAM_PEER_URI_SAN% and %UPSTREAM_TLS_VERSION%)');
  }
  if (side === 'upstream') {
    return verdict(null, 'outbound line: the format has no upstream TLS fields (add %UPSTREAM_PEER_URI_SAN% and %UPSTREAM_TLS_VERSION%)');
  }
  if (side === 'downstream') return verdict(null, 'inbound line from a non-sidecar reporter without TLS fields');
  return verdict(null, 'direction unknown and the line carries no TLS or identity fields');
}
