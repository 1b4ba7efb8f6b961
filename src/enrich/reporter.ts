/**
 * Decides which kind of proxy wrote a line (`flow.reporter`) and merges the Kubernetes facts the
 * envelope carried (pod, namespace, container, labels). Pure apart from mutating the given flow.
 *
 * Kind, strongest evidence first:
 * 1. a kind the parser already set (ztunnel's parser knows its lines) is kept;
 * 2. envelope labels: `gateway.istio.io/managed: istio.io-mesh-controller` -> waypoint, any other
 *    managed gateway / `gateway.networking.k8s.io/gateway-name` / `istio: ingressgateway|
 *    egressgateway` -> gateway;
 * 3. envelope pod (or container) name: `*waypoint*` -> waypoint; `istio-ingressgateway-*`,
 *    `istio-egressgateway-*`, `*-gateway-*`, `gateway-*` -> gateway; container `ztunnel` -> ztunnel;
 * 4. weaker, from the line: an Istio mTLS SNI naming a `*gateway*` service on a non-inbound cluster
 *    means the connection was addressed to a gateway, so the gateway wrote it;
 * 5. by format: Istio TEXT/JSON -> sidecar (Istio's default; gateways use the same formats, so
 *    without envelope metadata this is a best guess), Envoy's own format -> envoy; else unknown.
 */
import type { Flow, Reporter, ReporterKind } from '../../schemas/flow.js';
import { parseIstioSni } from './direction.js';

const GATEWAY_NAME = /^(istio-(ingress|egress)gateway)|(^|-)(ingress|egress)?gateway(-|$)/;
const WAYPOINT_NAME = /(^|-)waypoint(-|$)/;

/** The kind the envelope's Kubernetes facts prove, or null when they say nothing. */
export function kindFromEnvelope(env: Partial<Reporter>): ReporterKind | null {
  const labels = env.labels;
  if (labels) {
    const managed = labels['gateway.istio.io/managed'];
    if (managed === 'istio.io-mesh-controller') return 'waypoint';
    if (managed !== undefined || labels['gateway.networking.k8s.io/gateway-name'] !== undefined) return 'gateway';
    const istio = labels.istio;
    if (istio === 'ingressgateway' || istio === 'egressgateway') return 'gateway';
  }
  for (const name of [env.pod, env.container]) {
    if (!name) continue;
    if (WAYPOINT_NAME.test(name)) return 'waypoint';
    if (GATEWAY_NAME.test(name)) return 'gateway';
  }
  if (env.container === 'ztunnel') return 'ztunnel';
  return null;
}

/** The kind the line itself suggests (weak evidence and format), see rules 4-5. */
export function kindFromLine(flow: Pick<Flow, 'format' | 'requested_server_name' | 'upstream_cluster'>): ReporterKind {
  const sni = parseIstioSni(flow.requested_server_name);
  if (sni !== null && !(flow.upstream_cluster ?? '').startsWith('inbound')) {
    const firstLabel = sni.host.split('.', 1)[0] ?? '';
    if (firstLabel.includes('gateway')) return 'gateway';
  }
  if (flow.format.startsWith('istio-')) return 'sidecar';
  if (flow.format.startsWith('envoy-')) return 'envoy';
  return 'unknown';
}

/** Sets `flow.reporter.kind` by the rules above and copies the envelope's facts into it. */
export function applyReporter(flow: Flow, env: Partial<Reporter>): void {
  const r = flow.reporter;
  if (env.pod != null) r.pod = env.pod;
  if (env.namespace != null) r.namespace = env.namespace;
  if (env.container != null) r.container = env.container;
  if (env.labels != null) r.labels = { ...env.labels };
  if (r.kind === 'unknown') r.kind = kindFromEnvelope(r) ?? kindFromLine(flow);
}
