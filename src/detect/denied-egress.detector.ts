/**
 * denied-egress: a workload tried to reach something outside the mesh and the mesh refused:
 * - `BlackHoleCluster` (REGISTRY_ONLY, no ServiceEntry; TCP lines carry flag UH);
 * - the `block_all` route answering 502 (HTTP under REGISTRY_ONLY: a direct response);
 * - 403 at an egress gateway (its AuthorizationPolicy refused the destination).
 * Each with the destination host/SNI/IP and port and the source workload. Severity medium: an
 * attempt, blocked, that a responder should explain.
 */
import { count, type DetectorFn, type Observation } from './context.js';
import { egressCaller, egressObservation, egressTarget, egressWhere } from './egress.js';

/** Whether the line was written by a configured egress gateway. */
function atEgressGateway(flow: { reporter: { kind: string; pod: string | null; labels: Record<string, string> | null } }, apps: readonly string[]): boolean {
  if (flow.reporter.kind !== 'gateway') return false;
  const l = flow.reporter.labels;
  if (l !== null && apps.some((a) => l['app'] === a || l['istio'] === a || (a === 'istio-egressgateway' && l['istio'] === 'egressgateway'))) return true;
  const pod = flow.reporter.pod;
  return pod !== null && apps.some((a) => pod.startsWith(`${a}-`));
}

/** The denied-egress detector. */
export const deniedEgressDetector: DetectorFn = (flows, ctx) => {
  const observations: Observation[] = [];
  const counters: Record<string, number> = {};
  for (const input of flows) {
    const { flow } = input;
    let mechanism: string | null = null;
    if (flow.upstream_cluster === 'BlackHoleCluster') {
      mechanism = `BlackHoleCluster${flow.response_flags.length > 0 ? ` (flags ${flow.response_flags.join(',')})` : ''}: outboundTrafficPolicy REGISTRY_ONLY and no ServiceEntry`;
    } else if (flow.route_name === 'block_all' && flow.response_code === 502) {
      mechanism = 'block_all route answered 502 (REGISTRY_ONLY direct response for an unregistered HTTP host)';
    } else if (flow.response_code === 403 && atEgressGateway(flow, ctx.config.egress_gateway_apps)) {
      mechanism = `egress gateway answered 403${flow.response_code_details !== null ? ` (${flow.response_code_details})` : ''}`;
    }
    if (mechanism === null) continue;
    count(counters, 'denied');
    const target = egressTarget(flow);
    const caller = egressCaller(flow);
    const where = egressWhere(target);
    observations.push(egressObservation(input, {
      detector: 'denied-egress',
      severity: 'medium',
      title: `Egress from ${caller.key ?? 'an unknown workload'} to ${where} was blocked: ${mechanism.split(':')[0]}.`,
      target,
      caller,
      evidence: {
        mechanism, host: target.host, host_from: target.host_from, ip: target.ip, port: target.port,
        upstream_cluster: flow.upstream_cluster, route_name: flow.route_name, response_code: flow.response_code,
        response_flags: flow.response_flags, reporter: flow.reporter.kind, reporter_pod: flow.reporter.pod,
      },
    }));
  }
  return { observations, counters };
};
