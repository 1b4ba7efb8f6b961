/**
 * Which lines describe a hop into a mesh workload, and the port that workload listens on. Shared
 * by the detectors that judge the destination's PeerAuthentication and AuthorizationPolicies. Pure.
 */
import type { Flow } from '../../schemas/flow.js';
import { isSidecarInbound } from '../enrich/mtls-verdict.js';
import { portOf } from './workload.js';

const IN_MESH_CLUSTER = /^outbound\|\d+\|[^|]*\|.+\.svc(\.|$)/;

/** An inbound line written at the destination workload (sidecar, or ztunnel inbound). */
export function isInboundAtWorkload(flow: Flow): boolean {
  return isSidecarInbound(flow) || (flow.reporter.kind === 'ztunnel' && flow.direction === 'inbound');
}

/** A line whose hop ends at a mesh workload: inbound at it, or outbound to an in-cluster service. */
export function isMeshHop(flow: Flow): boolean {
  return isInboundAtWorkload(flow) || (flow.upstream_cluster !== null && IN_MESH_CLUSTER.test(flow.upstream_cluster));
}

/** The destination workload's port: the inbound listener port, else the flow's destination port. */
export function workloadPort(flow: Flow): number | null {
  if (isInboundAtWorkload(flow)) return portOf(flow.downstream_local_address) ?? flow.destination_port;
  return flow.destination_port;
}

/** An HTTP response was served, or a TCP connection carried response bytes. */
export function wasServed(flow: Flow): boolean {
  const code = flow.response_code;
  if (code !== null && code > 0) return code < 500;
  return (flow.bytes_sent ?? 0) > 0;
}
