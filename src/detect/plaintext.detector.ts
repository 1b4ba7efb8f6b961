/**
 * plaintext: a hop into a mesh workload that was NOT mutually authenticated (verdict `false`).
 *
 * Severity follows the destination's effective PeerAuthentication mode on that port:
 * STRICT -> high, or critical when the request was served anyway (enforcement is not doing what
 * the configuration says); PERMISSIVE -> medium (a migration that is not finished); DISABLE -> low
 * (plaintext by configuration); no policies loaded -> low; an uncertain mode (labels or port
 * unknown and the answer depends on them) -> medium with the possible modes in the evidence.
 * Unknown verdicts are not findings: they are counted (`unknown_verdict`) as coverage gaps.
 * A `false` verdict can also mean one-way TLS (server certificate only): the evidence says so.
 * Health checkers and allow-listed callers are counted, never reported.
 */
import type { Severity } from '../../schemas/finding.js';
import { effectiveMtlsMode, type EffectiveMtls } from '../policy/peer-authentication.js';
import { count, isHealthCheck, matchesAllowEntry, part, type DetectorFn, type Observation } from './context.js';
import { isInboundAtWorkload, isMeshHop, wasServed, workloadPort } from './hops.js';
import { callerIp, destinationWorkload, sourceWorkload } from './workload.js';

/** The plaintext detector. */
export const plaintextDetector: DetectorFn = (flows, ctx) => {
  const observations: Observation[] = [];
  const counters: Record<string, number> = {};
  const modes = new Map<string, EffectiveMtls>();
  for (const { id, ts, flow } of flows) {
    if (!isMeshHop(flow)) continue;
    if (flow.mtls === null) { count(counters, 'unknown_verdict'); continue; }
    if (flow.mtls) { count(counters, 'mtls'); continue; }
    count(counters, 'plaintext');
    if (isHealthCheck(flow, ctx.config.health_check_user_agents)) { count(counters, 'health_check'); continue; }
    const inbound = isInboundAtWorkload(flow);
    const ip = inbound ? callerIp(flow) : null;
    const principal = flow.source_principal;
    if (ctx.config.allow.plaintext_sources.some((e) => matchesAllowEntry(e, principal, ip))) { count(counters, 'allow_listed'); continue; }

    const w = destinationWorkload(flow, ctx.config.service_labels);
    const port = workloadPort(flow);
    const oneWay = flow.mtls_evidence !== null && /one-way TLS/i.test(flow.mtls_evidence);
    const evidence: Record<string, unknown> = {
      mtls_evidence: flow.mtls_evidence,
      one_way_tls: oneWay,
      reporter: flow.reporter.kind,
      direction: flow.direction,
      response_code: flow.response_code,
      served: wasServed(flow),
    };
    if (oneWay) evidence.note = 'TLS was used but the caller presented no client certificate (one-way TLS): the peer is not authenticated.';
    if (w.labels_from !== null) evidence.workload_labels_from = w.labels_from;
    if (w.inference !== null) evidence.workload_inference = w.inference;

    let severity: Severity;
    let modeText: string;
    if (ctx.policies === null) {
      severity = 'low';
      modeText = 'no PeerAuthentication loaded';
      evidence.mode = 'unknown';
      evidence.mode_note = 'no policies loaded: the effective mTLS mode cannot be stated';
    } else if (w.namespace === null) {
      severity = 'low';
      modeText = 'destination namespace unknown';
      evidence.mode = 'unknown';
      evidence.mode_note = 'the destination namespace is not known, so the effective mTLS mode cannot be resolved';
    } else {
      const k = `${w.namespace}|${JSON.stringify(w.labels)}|${port}`;
      let m = modes.get(k);
      if (m === undefined) modes.set(k, (m = effectiveMtlsMode(ctx.policies, { namespace: w.namespace, labels: w.labels }, port)));
      evidence.mode = m.certain ? m.mode : 'uncertain';
      evidence.mode_source = m.source;
      evidence.mode_level = m.level;
      if (m.overridden.length > 0) evidence.overridden_policies = m.overridden;
      if (!m.certain) {
        severity = 'medium';
        evidence.possible_modes = m.possibleModes;
        modeText = `the mTLS mode is uncertain (${m.possibleModes.join(' or ')})`;
      } else if (m.mode === 'STRICT') {
        severity = wasServed(flow) ? 'critical' : 'high';
        modeText = wasServed(flow) ? `mTLS is STRICT (${m.source}) yet the request was served` : `mTLS is STRICT (${m.source})`;
      } else if (m.mode === 'PERMISSIVE') {
        severity = 'medium';
        modeText = `mTLS is PERMISSIVE (${m.source}): migration incomplete`;
      } else {
        severity = 'low';
        modeText = `mTLS is DISABLED by ${m.source}`;
      }
    }
    const caller = principal ?? sourceWorkload(flow) ?? (ip !== null ? `ip:${ip}` : null);
    const dest = w.namespace !== null && w.name !== null ? `${w.namespace}/${w.name}` : w.service ?? flow.downstream_local_address;
    observations.push({
      detector: 'plaintext',
      severity,
      title: `${oneWay ? 'One-way TLS (no client certificate)' : 'Plaintext'} traffic from ${caller ?? 'an unknown caller'} to ${dest ?? 'an unknown workload'}${port !== null ? ` port ${port}` : ''}: ${modeText}.`,
      key_source: part(caller),
      key_destination: part(dest),
      source_principal: principal,
      source_workload: sourceWorkload(flow),
      source_namespace: flow.source_namespace,
      destination_service: w.service,
      destination_namespace: w.namespace,
      destination: flow.downstream_local_address,
      destination_port: port,
      evidence,
      flow_id: id,
      ts,
      request_id: flow.request_id,
    });
  }
  return { observations, counters };
};
