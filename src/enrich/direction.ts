/**
 * Derives `direction`, `destination_service` and `destination_port` from the facts an Envoy/Istio
 * line carries. Pure; never throws; leaves a value null when the line does not support it.
 *
 * Rules, first match wins (cluster names are read with `|` or, for Istio 1.24+ observability
 * names, `;` as the delimiter, and a trailing `;` is ignored):
 *
 * 1. `outbound|PORT|SUBSET|HOST`: outbound; service HOST; port PORT.
 * 2. `inbound|PORT|...|[HOST]` (1.6+: `inbound|8080||`; older: `inbound|8000|http|httpbin.ns.svc...`):
 *    inbound; port PORT (the inbound cluster's port); service from the Istio mTLS SNI
 *    (`outbound_.PORT_.SUBSET_.HOST`, which the calling sidecar chose for the service it meant),
 *    else HOST from the old cluster name, else null.
 * 3. `InboundPassthroughCluster[Ipv4|Ipv6]`: inbound; port from `downstream_local_address` (the
 *    original destination); service from the Istio SNI when present.
 * 4. `PassthroughCluster` / `BlackHoleCluster`, or (no cluster) route `allow_any` / `block_all`:
 *    outbound egress. Service: a non-Istio SNI (the TLS host the app asked for), else the
 *    authority's host, else the IP of `upstream_host` (passthrough) or `downstream_local_address`
 *    (the original destination). Port: from the same address, else the authority's port.
 * 5. No usable cluster but an Istio mTLS SNI: inbound (this proxy terminated mesh mTLS, e.g. a
 *    gateway or a sidecar rejecting before routing); service HOST and port PORT from the SNI.
 * 6. Anything else (plain Envoy clusters, `-`): direction, service and port stay null.
 *
 * Values already set (e.g. by the ztunnel parser, which reads `direction=` from the line) are kept.
 */
import type { Flow } from '../../schemas/flow.js';

/** What the derivation found; each null when the line does not support a value. */
export interface DirectionFacts {
  direction: 'inbound' | 'outbound' | null;
  destination_service: string | null;
  destination_port: number | null;
}

/** The parts of Istio's mTLS SNI `outbound_.PORT_.SUBSET_.HOST`. */
export interface IstioSni {
  port: number | null;
  subset: string | null;
  host: string;
}

/** Parses Istio's mTLS SNI; null when `sni` is not one. */
export function parseIstioSni(sni: string | null): IstioSni | null {
  if (sni === null || !sni.startsWith('outbound_.')) return null;
  const portEnd = sni.indexOf('_.', 10);
  if (portEnd < 0) return null;
  const subsetEnd = sni.indexOf('_.', portEnd + 2);
  if (subsetEnd < 0) return null;
  const host = sni.slice(subsetEnd + 2);
  if (host === '') return null;
  const subset = sni.slice(portEnd + 2, subsetEnd);
  return { port: toPort(sni.slice(10, portEnd)), subset: subset === '' || subset === '_' ? null : subset, host };
}

/** The parts of an Istio cluster name `DIRECTION|PORT|SUBSET|HOST`. */
export interface IstioCluster {
  direction: 'inbound' | 'outbound';
  port: number | null;
  subset: string | null;
  host: string | null;
}

/** Parses `outbound|9080|v1|reviews...` / `inbound|8080||` (or `;`-delimited); null otherwise. */
export function parseIstioCluster(cluster: string | null): IstioCluster | null {
  if (cluster === null) return null;
  let name = cluster;
  if (name.endsWith(';')) name = name.slice(0, -1);
  const sep = name.indexOf('|') >= 0 ? '|' : ';';
  const parts = name.split(sep);
  const dir = parts[0];
  if ((dir !== 'outbound' && dir !== 'inbound') || parts.length < 2) return null;
  const subset = parts[2] ?? '';
  const host = parts.slice(3).join(sep);
  return { direction: dir, port: toPort(parts[1] ?? ''), subset: subset === '' ? null : subset, host: host === '' ? null : host };
}

/** A TCP port 0-65535 from its decimal text; null otherwise. */
export function toPort(text: string): number | null {
  if (text.length === 0 || text.length > 5) return null;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  return v <= 65535 ? v : null;
}

/** Splits `10.0.0.1:80`, `[::1]:80`, `host:443` or `host` into host and port. */
export function splitHostPort(addr: string | null): { host: string; port: number | null } | null {
  if (addr === null || addr === '') return null;
  if (addr.charCodeAt(0) === 91 /* [ */) {
    const close = addr.indexOf(']');
    if (close < 0) return { host: addr, port: null };
    const host = addr.slice(1, close);
    return { host, port: addr.charCodeAt(close + 1) === 58 ? toPort(addr.slice(close + 2)) : null };
  }
  const colon = addr.lastIndexOf(':');
  // More than one colon and no brackets: a bare IPv6 address, no port.
  if (colon < 0 || addr.indexOf(':') !== colon) return { host: addr, port: null };
  return { host: addr.slice(0, colon), port: toPort(addr.slice(colon + 1)) };
}

const NONE: DirectionFacts = { direction: null, destination_service: null, destination_port: null };

/** Applies the rules in the module header to a flow's access-log fields. */
export function deriveDirection(flow: Pick<Flow, 'upstream_cluster' | 'requested_server_name' | 'route_name' | 'authority' | 'upstream_host' | 'downstream_local_address'>): DirectionFacts {
  const cluster = flow.upstream_cluster;
  const sni = parseIstioSni(flow.requested_server_name);
  const ic = parseIstioCluster(cluster);
  if (ic !== null) {
    if (ic.direction === 'outbound') return { direction: 'outbound', destination_service: ic.host, destination_port: ic.port };
    return { direction: 'inbound', destination_service: sni?.host ?? ic.host, destination_port: ic.port };
  }
  if (cluster !== null && cluster.startsWith('InboundPassthroughCluster')) {
    return {
      direction: 'inbound',
      destination_service: sni?.host ?? null,
      destination_port: splitHostPort(flow.downstream_local_address)?.port ?? null,
    };
  }
  const passthrough = cluster === 'PassthroughCluster' || (cluster === null && flow.route_name === 'allow_any');
  const blackhole = cluster === 'BlackHoleCluster' || (cluster === null && flow.route_name === 'block_all');
  if (passthrough || blackhole) return egress(flow, sni, passthrough);
  if (sni !== null && cluster === null) return { direction: 'inbound', destination_service: sni.host, destination_port: sni.port };
  return NONE;
}

function egress(flow: Parameters<typeof deriveDirection>[0], sni: IstioSni | null, passthrough: boolean): DirectionFacts {
  const target = (passthrough ? splitHostPort(flow.upstream_host) : null) ?? splitHostPort(flow.downstream_local_address);
  const authority = splitHostPort(flow.authority);
  const rawSni = sni === null ? flow.requested_server_name : null;
  const service = rawSni ?? authority?.host ?? target?.host ?? null;
  const port = target?.port ?? authority?.port ?? null;
  return { direction: 'outbound', destination_service: service, destination_port: port };
}

/** Fills `direction`, `destination_service`, `destination_port` where still null; mutates `flow`. */
export function applyDirection(flow: Flow): void {
  const facts = deriveDirection(flow);
  if (flow.direction === null) flow.direction = facts.direction;
  if (flow.destination_service === null) flow.destination_service = facts.destination_service;
  if (flow.destination_port === null) flow.destination_port = facts.destination_port;
}
