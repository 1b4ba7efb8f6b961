/**
 * Egress registry questions: is a destination host declared by a ServiceEntry visible from a
 * namespace, and would the mesh's outbound traffic mode let a sidecar reach it?
 *
 * Host matching follows Istio's host names: case-insensitive, exact or wildcard (`*.example.com`
 * matches any subdomain at any depth, `*` matches everything); a host that is an IP also matches
 * the entry's `addresses` (IPs/CIDRs). A port matches when it is one of `ports[].number`; an entry
 * without ports creates no listener and so covers no port. `exportTo` is respected: absent or `*`
 * for every namespace, `.` for the entry's own, `~` for none, else the named namespaces.
 *
 * What is not modelled: the Kubernetes Service registry (REGISTRY_ONLY also lets through in-mesh
 * Services, which meshtrail does not load), Sidecar `egress` scoping, and the
 * `defaultServiceExportTo` mesh setting. `egressAllowedByMesh` answers unknown rather than guess
 * for hosts that look like cluster services.
 */
import type { OutboundTrafficMode, PolicySet } from '../../schemas/istio-policy.js';
import { compiledPolicySet, type CompiledPolicySet } from './compile.js';
import { and3, or3, type Tri } from './match.js';
import { isIP } from 'node:net';

/** Whether and by which entries a host:port is covered. */
export interface ServiceEntryCoverage {
  /** true: an entry visible from the namespace covers it; false: none does; null: depends on an unknown port/namespace. */
  covered: Tri;
  /** Ids (`<namespace>/<name>`) of the entries that cover (or might cover) it. */
  entries: string[];
  /** The mesh outbound traffic mode, for the caller's convenience. */
  mode: OutboundTrafficMode;
}

/**
 * Whether `host` (an authority; a `:port` suffix is used as the port when `port` is null) on
 * `port` is declared by a ServiceEntry visible from `namespace` (null: caller unknown).
 */
export function coveredByServiceEntry(
  set: PolicySet | CompiledPolicySet,
  host: string,
  port: number | null,
  namespace: string | null,
): ServiceEntryCoverage {
  const compiled = compiledPolicySet(set);
  const target = splitHost(host);
  const p = port ?? target.port;
  let covered: Tri = false;
  const entries: string[] = [];
  for (const se of compiled.serviceEntries) {
    const hostMatch = se.hostTest(target.host) || (se.addressTest !== null && se.addressTest(target.host) === true);
    if (!hostMatch) continue;
    const visible: Tri = se.exportTo.all
      ? true
      : se.exportTo.none
        ? false
        : namespace === null
          ? null
          : se.exportTo.namespaces.has(namespace);
    const portMatch: Tri = se.ports === null ? false : p === null ? null : se.ports.has(p);
    const m = and3(visible, portMatch);
    if (m === false) continue;
    entries.push(se.id);
    covered = or3(covered, m);
  }
  return { covered, entries, mode: compiled.source.mesh.outboundTrafficPolicy.mode };
}

/** The mesh's outbound traffic mode (Istio default ALLOW_ANY). */
export function outboundTrafficMode(set: PolicySet | CompiledPolicySet): OutboundTrafficMode {
  return compiledPolicySet(set).source.mesh.outboundTrafficPolicy.mode;
}

/**
 * Whether the outbound traffic mode lets a sidecar in `namespace` reach `host:port`: always under
 * ALLOW_ANY; under REGISTRY_ONLY only if a ServiceEntry covers it. A host that no entry covers but
 * that looks like an in-cluster Service (`*.svc`, `*.svc.<domain>`, or a single label) gives null,
 * because the Kubernetes registry is not loaded.
 */
export function egressAllowedByMesh(
  set: PolicySet | CompiledPolicySet,
  host: string,
  port: number | null,
  namespace: string | null,
): Tri {
  const coverage = coveredByServiceEntry(set, host, port, namespace);
  if (coverage.mode === 'ALLOW_ANY') return true;
  if (coverage.covered !== false) return coverage.covered;
  const h = splitHost(host).host;
  const looksInCluster = isIP(h) === 0 && (!h.includes('.') || /\.svc(\.|$)/.test(h));
  return looksInCluster ? null : false;
}

/** Lower-cases, drops a trailing dot and splits off a `:port` (IPv6 in brackets). */
function splitHost(authority: string): { host: string; port: number | null } {
  let host = authority.trim().toLowerCase();
  let port: number | null = null;
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(host);
  if (m !== null) {
    host = m[1]!;
    port = Number(m[2]);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host.replace(/\.$/, ''), port: port !== null && port <= 65535 ? port : null };
}
