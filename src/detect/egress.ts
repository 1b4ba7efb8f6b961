/**
 * Facts about an outbound (egress) line shared by the egress detectors: the external host the
 * workload tried to reach (SNI, else HTTP authority, else the original destination IP), its port
 * and who the caller was. Pure.
 */
import type { Flow } from '../../schemas/flow.js';
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
