/**
 * unregistered-egress (info): traffic that left the mesh through `PassthroughCluster` (or the
 * `allow_any` HTTP route) under ALLOW_ANY, to a host no ServiceEntry covers. It works today and
 * is invisible to egress policy; registering it (or blocking it) is the fix. A host a visible
 * ServiceEntry covers is counted (`covered`), an allow-listed host `allow_listed`.
 */
import { coveredByServiceEntry } from '../policy/service-entry.js';
import { count, type DetectorFn, type Observation } from './context.js';
import { egressCaller, egressObservation, egressTarget, egressWhere } from './egress.js';

function hostAllowed(host: string, allow: readonly string[]): boolean {
  return allow.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) : a.toLowerCase() === host));
}

/** The unregistered-egress detector. */
export const unregisteredEgressDetector: DetectorFn = (flows, ctx) => {
  const observations: Observation[] = [];
  const counters: Record<string, number> = {};
  for (const input of flows) {
    const { flow } = input;
    const passthrough = flow.upstream_cluster === 'PassthroughCluster' || flow.route_name === 'allow_any';
    if (!passthrough || flow.direction === 'inbound') continue;
    const target = egressTarget(flow);
    const caller = egressCaller(flow);
    if (target.host !== null && hostAllowed(target.host, ctx.config.allow.egress_hosts)) { count(counters, 'allow_listed'); continue; }
    let coverage: { covered: boolean | null; entries: string[] } | null = null;
    if (ctx.policies !== null && target.host !== null) {
      coverage = coveredByServiceEntry(ctx.policies, target.host, target.port, caller.namespace);
      if (coverage.covered === true) { count(counters, 'covered'); continue; }
    }
    count(counters, 'unregistered');
    const where = egressWhere(target);
    observations.push(egressObservation(input, {
      detector: 'unregistered-egress',
      severity: 'info',
      title: `Unregistered egress from ${caller.key ?? 'an unknown workload'} to ${where} through ${flow.upstream_cluster === 'PassthroughCluster' ? 'PassthroughCluster' : 'the allow_any route'}.`,
      target,
      caller,
      evidence: {
        host: target.host, host_from: target.host_from, ip: target.ip, port: target.port, upstream_cluster: flow.upstream_cluster,
        route_name: flow.route_name, bytes_sent: flow.bytes_sent, bytes_received: flow.bytes_received,
        service_entry: coverage === null ? 'no policies loaded' : coverage.covered === null ? `might be covered by ${coverage.entries.join(', ')} (port or namespace unknown)` : 'no ServiceEntry covers it',
      },
    }));
  }
  return { observations, counters };
};
