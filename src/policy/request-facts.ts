/**
 * What a request is known to have been, for authorization evaluation: `RequestFacts`.
 *
 * Every fact is nullable and `null` always means "the log does not say", never "empty". The
 * evaluator turns a rule that needs a missing fact into `unknown` instead of guessing. Peer
 * identity has three states: `peerAuthenticated: true` (mTLS; `sourcePrincipal` may still be
 * unknown when the format lacks %DOWNSTREAM_PEER_URI_SAN%), `false` (plaintext: known to have no
 * identity, so `principals`/`namespaces` certainly do not match and their `not*` forms certainly
 * do), `null` (not known).
 *
 * `requestFactsFromFlow` maps a meshtrail flow, seen by the proxy that enforces the policy (an
 * inbound sidecar line: the caller is downstream):
 *
 * | fact               | flow field                                                                 |
 * |--------------------|----------------------------------------------------------------------------|
 * | protocol           | `http` when method/protocol is set; `tcp` when a known full format shows neither; else null |
 * | peerAuthenticated  | `mtls` (true/false/null)                                                   |
 * | sourcePrincipal    | `source_principal` (only when `mtls` is not false: plaintext has no peer identity) |
 * | sourceNamespace    | `source_namespace` when it was derived from the principal (`source_namespace_from`) |
 * | sourceIp           | `downstream_remote_address` without port                                   |
 * | destinationIp/Port | `downstream_local_address`, else `destination_port`                       |
 * | host / method      | `authority` / `method`                                                     |
 * | path               | `path` (query string removed at match time, as Envoy's path matcher does)  |
 * | headers            | `user-agent`, `x-forwarded-for`, `x-request-id` from their columns         |
 * | sni                | `requested_server_name`                                                    |
 * | remoteIp, requestPrincipal | null: XFF trust depth and JWT identity are not in the log          |
 */
import { z } from 'zod';
import type { Flow } from '../../schemas/flow.js';
import { stripPort } from './match.js';

/** The facts of one request that authorization rules can test; null = not known. */
export const RequestFactsSchema = z
  .strictObject({
    protocol: z.enum(['http', 'tcp']).nullable().describe('http or tcp; decides how HTTP-only rule fields behave. null: unknown.'),
    peerAuthenticated: z.boolean().nullable().describe('true: mTLS peer; false: plaintext (no peer identity); null: unknown.'),
    sourcePrincipal: z.string().min(1).nullable().describe('Peer SPIFFE ID, with or without "spiffe://". null: unknown (or none when peerAuthenticated is false).'),
    sourceNamespace: z.string().min(1).nullable().describe('Peer namespace from the peer certificate; used only when sourcePrincipal is null.'),
    sourceIp: z.string().nullable().describe('Downstream (direct peer) IP, `source.ip`; a port suffix is ignored.'),
    remoteIp: z.string().nullable().describe('Original client IP (XFF / PROXY protocol), `remote.ip`.'),
    destinationIp: z.string().nullable(),
    destinationPort: z.number().int().min(0).max(65535).nullable().describe('Port of the connection at the enforcing workload.'),
    host: z.string().nullable().describe('HTTP :authority / Host, as sent (port included if it was).'),
    method: z.string().nullable(),
    path: z.string().nullable().describe('HTTP path as logged; the query string is ignored when matching.'),
    headers: z.record(z.string(), z.string()).describe('Request headers the log carries; names lower-case.'),
    headersComplete: z.boolean().describe('true: a header absent from `headers` is known to be absent; false: unknown.'),
    requestPrincipal: z.string().nullable().describe('JWT principal "<iss>/<sub>"; almost never in a log.'),
    sni: z.string().nullable().describe('TLS SNI of the downstream connection, `connection.sni`.'),
  })
  .refine((f) => !(f.peerAuthenticated === false && f.sourcePrincipal !== null), {
    message: 'a plaintext peer (peerAuthenticated false) cannot have a sourcePrincipal',
    path: ['sourcePrincipal'],
  });

/** The facts of one request that authorization rules can test. */
export type RequestFacts = z.infer<typeof RequestFactsSchema>;

/** Facts with nothing known; callers spread the facts they have over it. */
export function unknownRequestFacts(): RequestFacts {
  return {
    protocol: null, peerAuthenticated: null, sourcePrincipal: null, sourceNamespace: null, sourceIp: null,
    remoteIp: null, destinationIp: null, destinationPort: null, host: null, method: null, path: null,
    headers: {}, headersComplete: false, requestPrincipal: null, sni: null,
  };
}

/** Formats that always print method and protocol, so their absence means the flow was TCP. */
const FULL_FORMATS = /^(istio-text|istio-json|envoy-text)/;

/**
 * Maps a flow to the facts an inbound proxy saw. Use it on lines reported by the workload that
 * enforces the policy (inbound sidecar, gateway); for an outbound line the "source" is the
 * reporting workload itself and the caller should build facts accordingly.
 */
export function requestFactsFromFlow(flow: Flow): RequestFacts {
  const http = flow.method !== null || (flow.protocol !== null && flow.protocol.toUpperCase().startsWith('HTTP'));
  const protocol = http ? 'http' : FULL_FORMATS.test(flow.format) ? 'tcp' : null;
  const plaintext = flow.mtls === false;
  const local = flow.downstream_local_address;
  const localPort = local !== null ? portOf(local) : null;
  const headers: Record<string, string> = {};
  if (flow.user_agent !== null) headers['user-agent'] = flow.user_agent;
  if (flow.x_forwarded_for !== null) headers['x-forwarded-for'] = flow.x_forwarded_for;
  if (flow.request_id !== null) headers['x-request-id'] = flow.request_id;
  const nsFromIdentity = flow.source_namespace_from !== null && /principal|uri_san|spiffe/i.test(flow.source_namespace_from);
  return {
    protocol,
    peerAuthenticated: flow.mtls,
    sourcePrincipal: plaintext ? null : flow.source_principal,
    sourceNamespace: plaintext || !nsFromIdentity ? null : flow.source_namespace,
    sourceIp: flow.downstream_remote_address !== null ? stripPort(flow.downstream_remote_address) : null,
    remoteIp: null,
    destinationIp: local !== null ? stripPort(local) : null,
    destinationPort: localPort ?? flow.destination_port,
    host: flow.authority,
    method: flow.method,
    path: flow.path,
    headers,
    headersComplete: false,
    requestPrincipal: null,
    sni: flow.requested_server_name,
  };
}

/** The port of `ip:port` / `[v6]:port`, or null. */
function portOf(address: string): number | null {
  const m = /:(\d{1,5})$/.exec(address);
  if (m === null || (!address.startsWith('[') && address.indexOf(':') !== address.lastIndexOf(':'))) return null;
  const n = Number(m[1]);
  return n <= 65535 ? n : null;
}
