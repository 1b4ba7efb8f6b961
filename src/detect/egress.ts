/**
 * Facts about an outbound (egress) line shared by the egress detectors: the external host the
 * workload tried to reach (SNI, else HTTP authority, else the original destination IP), its port
 * and who the caller was. Pure.
 */
import type { Detector, Severity } from '../../schemas/finding.js';
import type { Flow } from '../../schemas/flow.js';
import { part, type DetectInput, type Observation } from './context.js';
import { portOf, sourceWorkload, stripPort } from './workload.js';

/** The egress target of a line. */
export interface EgressTarget {
  host: string | null;
  host_from: 'requested_server_name' | 'authority' | 'downstream_local_address' | 'destination_service' | null;
  ip: string | null;
  port: number | null;
}

/** Where a line was trying to go. */
export function egressTarget(flow: Flow): EgressTarget {
  const ip = flow.downstream_local_address !== null ? stripPort(flow.downstream_local_address) : null;
  const port = portOf(flow.downstream_local_address) ?? flow.destination_port ?? portOf(flow.authority);
  if (flow.requested_server_name !== null) return { host: flow.requested_server_name.toLowerCase(), host_from: 'requested_server_name', ip, port };
  if (flow.authority !== null) return { host: stripPort(flow.authority).toLowerCase(), host_from: 'authority', ip, port };
  if (flow.destination_service !== null) return { host: flow.destination_service, host_from: 'destination_service', ip, port };
  return { host: ip, host_from: ip !== null ? 'downstream_local_address' : null, ip, port };
}

/** The calling workload of an egress line (`namespace/app`, else the principal, else the IP). */
export function egressCaller(flow: Flow): { key: string | null; workload: string | null; namespace: string | null } {
  const workload = sourceWorkload(flow);
  const namespace = flow.source_namespace ?? (flow.direction === 'outbound' ? flow.reporter.namespace : null);
  const key = flow.source_principal ?? (workload !== null ? `${namespace ?? '-'}/${workload}` : null)
    ?? (flow.downstream_remote_address !== null ? `ip:${stripPort(flow.downstream_remote_address)}` : null);
  return { key, workload, namespace };
}

/** `host:port` of a target, as titles and the finding's `destination` show it. */
export function egressWhere(target: EgressTarget): string {
  return `${target.host ?? 'an unknown host'}${target.port !== null ? `:${target.port}` : ''}`;
}

/**
 * The observation an egress detector makes of a line: keyed by caller and external host, the
 * destination as `host:port` (no in-mesh service or namespace: the target is outside the mesh).
 */
export function egressObservation(
  input: DetectInput,
  o: { detector: Detector; severity: Severity; title: string; target: EgressTarget; caller: ReturnType<typeof egressCaller>; evidence: Record<string, unknown> },
): Observation {
  const { id, ts, flow } = input;
  return {
    detector: o.detector,
    severity: o.severity,
    title: o.title,
    key_source: part(o.caller.key),
    key_destination: part(o.target.host),
    source_principal: flow.source_principal,
    source_workload: o.caller.workload,
    source_namespace: o.caller.namespace,
    destination_service: null,
    destination_namespace: null,
    destination: egressWhere(o.target),
    destination_port: o.target.port,
    evidence: o.evidence,
    flow_id: id,
    ts,
    request_id: flow.request_id,
  };
}
