/**
 * weak-tls: a TLS version below the configured minimum (default TLSv1.2) or a configured weak
 * cipher, on either side of the proxy, where the line carries them (`tls_version`/`tls_cipher`,
 * or `downstream_tls_*`/`upstream_tls_*` operators). SSL 3 and older -> high, other old versions
 * and weak ciphers -> medium. One observation per line (its worst side).
 */
import type { Flow } from '../../schemas/flow.js';
import type { Severity } from '../../schemas/finding.js';
import { count, maxSeverity, part, type DetectorFn, type Observation } from './context.js';
import { destinationWorkload, sourceWorkload, stripPort } from './workload.js';

const RANK: Record<string, number> = { SSLv2: 0, SSLv3: 1, TLSv1: 2, 'TLSv1.0': 2, 'TLSv1.1': 3, 'TLSv1.2': 4, 'TLSv1.3': 5 };

function sideValue(flow: Flow, side: 'downstream' | 'upstream', what: 'version' | 'cipher'): string | null {
  const v = flow.extra[`${side}_tls_${what}`];
  return v === undefined || v === '-' || v === '' ? null : v;
}

function peerSan(flow: Flow): string | null {
  const v = flow.extra['downstream_peer_uri_san'];
  return v === undefined || v === '-' || v === '' ? null : v;
}

/** The weak-tls detector. */
export const weakTlsDetector: DetectorFn = (flows, ctx) => {
  const observations: Observation[] = [];
  const counters: Record<string, number> = {};
  const min = RANK[ctx.config.weak_tls.min_version]!;
  const weak = ctx.config.weak_tls.weak_ciphers;
  for (const { id, ts, flow } of flows) {
    const problems: string[] = [];
    let severity: Severity | null = null;
    let side: 'downstream' | 'upstream' | null = null;
    for (const s of ['downstream', 'upstream'] as const) {
      const version = sideValue(flow, s, 'version');
      const cipher = sideValue(flow, s, 'cipher');
      if (version !== null) {
        count(counters, 'tls_seen');
        const r = RANK[version];
        if (r !== undefined && r < min) {
          problems.push(`${s} ${version} is below ${ctx.config.weak_tls.min_version}`);
          severity = maxSeverity(severity ?? 'medium', r <= 1 ? 'high' : 'medium');
          side ??= s;
        }
      }
      if (cipher !== null) {
        const bad = weak.find((w) => cipher.includes(w));
        if (bad !== undefined) {
          problems.push(`${s} cipher ${cipher} is weak (${bad})`);
          severity = maxSeverity(severity ?? 'medium', 'medium');
          side ??= s;
        }
      }
    }
    // Parsers that fill only the judged side's tls_version/tls_cipher columns.
    if (problems.length === 0 && flow.tls_version !== null && RANK[flow.tls_version] !== undefined && RANK[flow.tls_version]! < min) {
      problems.push(`${flow.tls_version} is below ${ctx.config.weak_tls.min_version}`);
      severity = RANK[flow.tls_version]! <= 1 ? 'high' : 'medium';
      side = flow.direction === 'outbound' || flow.reporter.kind === 'gateway' ? 'upstream' : 'downstream';
    }
    if (severity === null || side === null) continue;
    count(counters, 'weak');
    const w = destinationWorkload(flow, ctx.config.service_labels);
    // Downstream side: the caller reached this proxy; upstream side: this proxy reached a server.
    const gateway = flow.reporter.kind === 'gateway';
    const caller = side === 'downstream'
      ? (gateway
        // At a gateway the downstream peer is the outside client; source_principal may be the gateway's own identity.
        ? peerSan(flow) ?? 'external-clients'
        : flow.source_principal ?? (flow.downstream_remote_address !== null ? `ip:${stripPort(flow.downstream_remote_address)}` : null))
      : sourceWorkload(flow) ?? flow.reporter.pod;
    const dest = side === 'downstream'
      ? (gateway ? flow.reporter.labels?.['app'] ?? flow.reporter.pod ?? 'gateway' : w.namespace !== null && w.name !== null ? `${w.namespace}/${w.name}` : w.service)
      : flow.destination_service ?? flow.upstream_host;
    const port = side === 'downstream' && flow.downstream_local_address !== null ? Number(/:(\d+)$/.exec(flow.downstream_local_address)?.[1] ?? NaN) : flow.destination_port;
    const p = Number.isFinite(port) ? (port as number) : null;
    observations.push({
      detector: 'weak-tls',
      severity,
      title: `Weak TLS between ${caller ?? 'an unknown peer'} and ${dest ?? 'an unknown destination'}: ${problems.join('; ')}.`,
      key_source: part(caller),
      key_destination: part(dest),
      source_principal: flow.source_principal,
      source_workload: sourceWorkload(flow),
      source_namespace: flow.source_namespace,
      destination_service: w.service,
      destination_namespace: w.namespace,
      destination: flow.downstream_local_address,
      destination_port: p,
      evidence: {
        problems, side,
        downstream_tls_version: sideValue(flow, 'downstream', 'version'), downstream_tls_cipher: sideValue(flow, 'downstream', 'cipher'),
        upstream_tls_version: sideValue(flow, 'upstream', 'version'), upstream_tls_cipher: sideValue(flow, 'upstream', 'cipher'),
        reporter: flow.reporter.kind,
      },
      flow_id: id,
      ts,
      request_id: flow.request_id,
    });
  }
  return { observations, counters };
};
