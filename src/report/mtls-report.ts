/**
 * Builds the mTLS-enforcement evidence report for a time window: per destination workload and
 * port, how many requests were observed with a verified peer identity, in plaintext, or unknown
 * (and why), against the PeerAuthentication mode in force; the plaintext callers; TLS versions;
 * each PERMISSIVE namespace's readiness for STRICT and each STRICT workload where plaintext was
 * seen anyway. It is honest about coverage: only destinations with server-side (inbound) lines in
 * the window can be proven; destinations seen only from clients are listed as unproven.
 *
 * The counts come from the hourly mTLS rollup, which outlives the raw flows (rollups_days, not
 * flows_days); the report states the window it actually counted and any part retention deleted.
 */
import type { PolicySet } from '../../schemas/istio-policy.js';
import type { MtlsDestination, MtlsReport } from '../../schemas/report.js';
import { effectiveMtlsMode } from '../policy/peer-authentication.js';
import { policySetDigest } from '../policy/load.js';
import { mtlsReportData, type MtlsReportData } from '../store/mtls-report.query.js';
import type { Store } from '../store/store.js';

/** The controls this evidence supports. */
export const CONTROLS = [
  { id: 'NIST SP 800-204A SM-DR6', title: 'Mutual TLS between services (service mesh data-plane communication)' },
  { id: 'NIST SP 800-204B', title: 'Attribute-based access control for microservices: authenticated service identities' },
  { id: 'SOC 2 CC6.7', title: 'Restriction of transmission of data to authorised parties, protected in transit' },
  { id: 'ISO/IEC 27001:2022 A.8.24', title: 'Use of cryptography' },
];

/** Options of {@link buildMtlsReport}. */
export interface MtlsReportOptions {
  from: number;
  to: number;
  namespace?: string | null;
  policies?: PolicySet | null;
  now?: Date;
}

interface Acc extends MtlsDestination { labels: Record<string, string> | null }

const serviceName = (svc: string) => svc.split('.')[0]!;
const serviceNamespace = (svc: string) => (/^[^.]+\.([^.]+)\.svc(\.|$)/.exec(svc)?.[1] ?? null);

/** The report for `o`'s window, from the hourly mTLS rollup (see mtls-report.query.ts). */
export function buildMtlsReport(store: Store, o: MtlsReportOptions): MtlsReport {
  return mtlsReportFrom(mtlsReportData(store, o.from, o.to), o);
}

/** The report computed from `data` (the rollup's, or the raw flows' for comparison). */
export function mtlsReportFrom(data: MtlsReportData, o: MtlsReportOptions): MtlsReport {
  const rows = data.inbound;
  // Attribute service-less lines (plaintext inbound: no SNI) to the service named at the same address.
  const serviceAt = new Map<string, string>();
  for (const r of rows) if (r.service && r.local_address) serviceAt.set(r.local_address, r.service);

  const destinations = new Map<string, Acc>();
  const keyOf = (r: { namespace: string | null; workload: string | null; service: string | null; port: number | null; local_address: string | null }) => {
    let workload: string;
    let from: string;
    let namespace = r.namespace;
    const svc = r.service ?? (r.local_address ? serviceAt.get(r.local_address) ?? null : null);
    if (r.workload) { workload = r.workload; from = 'destination_workload'; }
    else if (svc) { workload = serviceName(svc); from = r.service ? 'destination_service' : 'inferred:downstream_local_address'; namespace ??= serviceNamespace(svc); }
    else { workload = r.local_address ?? 'unknown'; from = 'downstream_local_address'; }
    return { key: `${namespace ?? ''}|${workload}|${r.port ?? ''}`, workload, from, namespace };
  };
  for (const r of rows) {
    const k = keyOf(r);
    let d = destinations.get(k.key);
    if (!d) {
      d = {
        namespace: k.namespace, workload: k.workload, workload_from: k.from, port: r.port, requests: 0, mtls_verified: 0, plaintext: 0, unknown: 0,
        unknown_reasons: {}, evidence: {}, effective_mode: 'unknown', mode_source: null, mode_note: null, plaintext_callers: [], tls_versions: {},
        first_seen: null, last_seen: null, status: 'unproven', labels: null,
      };
      destinations.set(k.key, d);
    }
    d.requests += r.requests;
    if (r.mtls === 1) d.mtls_verified += r.requests;
    else if (r.mtls === 0) d.plaintext += r.requests;
    else { d.unknown += r.requests; const why = r.evidence ?? 'no evidence recorded'; d.unknown_reasons[why] = (d.unknown_reasons[why] ?? 0) + r.requests; }
    if (r.evidence && r.mtls !== null) d.evidence[r.evidence] = (d.evidence[r.evidence] ?? 0) + r.requests;
    if (r.tls_version) d.tls_versions[r.tls_version] = (d.tls_versions[r.tls_version] ?? 0) + r.requests;
    const first = new Date(r.first).toISOString();
    const last = new Date(r.last).toISOString();
    if (!d.first_seen || first < d.first_seen) d.first_seen = first;
    if (!d.last_seen || last > d.last_seen) d.last_seen = last;
    const reporter = JSON.parse(r.reporter) as { labels?: Record<string, string> | null };
    if (reporter.labels && !d.labels) d.labels = reporter.labels;
  }
  for (const c of data.callers) {
    const d = destinations.get(keyOf(c).key);
    if (!d) continue;
    const caller = c.principal ?? `${c.host ?? 'unknown address'} (no identity)`;
    const existing = d.plaintext_callers.find((p) => p.caller === caller);
    if (existing) existing.requests += c.requests; else d.plaintext_callers.push({ caller, requests: c.requests });
  }

  const policies = o.policies ?? null;
  let list = [...destinations.values()];
  if (o.namespace) list = list.filter((d) => d.namespace === o.namespace);
  for (const d of list) {
    d.plaintext_callers.sort((a, b) => b.requests - a.requests || a.caller.localeCompare(b.caller));
    d.plaintext_callers = d.plaintext_callers.slice(0, 20);
    if (!policies) { d.mode_note = 'no policies loaded: the effective mode cannot be stated'; }
    else if (!d.namespace) { d.mode_note = 'destination namespace unknown: the effective mode cannot be resolved'; }
    else {
      const labels = d.labels ?? { app: d.workload };
      const m = effectiveMtlsMode(policies, { namespace: d.namespace, labels }, d.port);
      d.effective_mode = m.certain ? m.mode : `uncertain (${m.possibleModes.join(' or ')})`;
      d.mode_source = m.source;
      d.mode_note = d.labels ? null : `workload labels not in the logs; app=${d.workload} inferred from the service name`;
    }
    d.status = d.plaintext > 0
      ? (d.effective_mode === 'STRICT' ? 'violation' : 'plaintext_seen')
      : d.unknown > 0 || d.requests === 0 ? 'unproven'
        : d.effective_mode === 'STRICT' ? 'enforced' : 'no_plaintext_seen';
  }
  list.sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.workload.localeCompare(b.workload) || (a.port ?? 0) - (b.port ?? 0));

  const byNs = new Map<string, { modes: Set<string>; plaintext: number; requests: number }>();
  for (const d of list) {
    if (!d.namespace) continue;
    const n = byNs.get(d.namespace) ?? { modes: new Set<string>(), plaintext: 0, requests: 0 };
    n.modes.add(d.effective_mode);
    n.plaintext += d.plaintext;
    n.requests += d.requests;
    byNs.set(d.namespace, n);
  }
  const namespaces = [...byNs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([namespace, n]) => {
    const mode = n.modes.size === 1 ? [...n.modes][0]! : [...n.modes].sort().join(', ');
    const readiness = n.modes.has('PERMISSIVE')
      ? (n.plaintext === 0 ? 'ready: no plaintext seen in the window, switching to STRICT would not have broken observed traffic' : `not ready: ${n.plaintext} plaintext requests would fail under STRICT`)
      : n.modes.has('STRICT') && n.plaintext > 0 ? `violation: ${n.plaintext} plaintext requests reached STRICT workloads`
        : n.modes.has('STRICT') ? 'enforced: no plaintext seen' : 'mode unknown';
    return { namespace, mode, plaintext: n.plaintext, requests: n.requests, readiness };
  });

  const seenInbound = new Set(list.map((d) => `${d.workload}|${d.port ?? ''}`));
  const onlyFromClients = data.outbound
    .filter((x) => x.service.endsWith('.svc.cluster.local') || x.service.includes('.svc.'))
    .filter((x) => !o.namespace || serviceNamespace(x.service) === o.namespace)
    .filter((x) => !seenInbound.has(`${serviceName(x.service)}|${x.port ?? ''}`))
    .map((x) => `${x.service}:${x.port ?? '?'}`)
    .sort();

  const totals = list.reduce((t, d) => ({ requests: t.requests + d.requests, mtls_verified: t.mtls_verified + d.mtls_verified, plaintext: t.plaintext + d.plaintext, unknown: t.unknown + d.unknown, destinations: t.destinations + 1 }),
    { requests: 0, mtls_verified: 0, plaintext: 0, unknown: 0, destinations: 0 });
  const deletedBefore = data.deletedBefore === null ? null : new Date(data.deletedBefore).toISOString();
  const iso = (t: number) => new Date(t).toISOString();
  const rounded = data.counted.from !== o.from || data.counted.to !== o.to;
  const resources = policies ? policies.peerAuthentications.length + policies.authorizationPolicies.length + policies.serviceEntries.length : 0;
  return {
    kind: 'meshtrail.mtls-report',
    version: 1,
    generated_at: (o.now ?? new Date()).toISOString(),
    window: { from: new Date(o.from).toISOString(), to: new Date(o.to).toISOString() },
    namespace: o.namespace ?? null,
    controls: CONTROLS,
    policy: policies
      ? { sha256: policySetDigest(policies), resources, note: 'SHA-256 of the canonical policy set the effective modes were computed from' }
      : { sha256: null, resources: 0, note: 'no policy set was given: effective PeerAuthentication modes are not stated' },
    totals,
    destinations: list.map(({ labels: _l, ...d }) => d),
    namespaces,
    coverage: {
      destinations_with_server_side_evidence: list.filter((d) => d.requests > 0).length,
      destinations_seen_only_from_clients: onlyFromClients,
      counted_window: { from: iso(data.counted.from), to: iso(data.counted.to) },
      data_deleted_before: deletedBefore,
      statement: 'Only destinations whose server-side (inbound) proxy wrote access logs in the window are judged. Workloads without logs in the window, and destinations seen only from clients, cannot be proven either way.',
    },
    caveats: [
      ...(deletedBefore
        ? [data.deletedBy === 'retention.flows_days'
          ? `INCOMPLETE WINDOW: retention (retention.flows_days) deleted raw flows older than ${deletedBefore}; the counts cover only ${deletedBefore} to the end of the window. Keep flows for the whole audit period to report on it.`
          : `INCOMPLETE WINDOW: the hourly mTLS rollup holds nothing older than ${deletedBefore} (retention.rollups_days deleted it, or the raw flows were already deleted by retention.flows_days when an upgrade created the rollup from them); the counts cover only ${deletedBefore} to the end of the window. Keep rollups for the whole audit period to report on it.`]
        : []),
      ...(rounded
        ? [`WINDOW ROUNDED TO THE HOUR: counts come from hourly rollups, and the raw flows that would count a partial hour exactly are past retention (retention.flows_days); the counts cover ${iso(data.counted.from)} to ${iso(data.counted.to)}, not only ${iso(o.from)} to ${iso(o.to)}.`]
        : []),
      'A request counts as mTLS-verified only when its server-side line carries the evidence: a peer certificate URI SAN or TLS version, ztunnel identity fields, or (a heuristic) the Istio mTLS SNI of a client sidecar.',
      'Client-side lines in Istio\u2019s default formats carry no TLS facts; their requests are counted as unknown, never as plaintext.',
      'Plaintext is concluded only where the format would have carried the evidence and it is absent.',
    ],
  };
}
