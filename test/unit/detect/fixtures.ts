/**
 * Shared by the detector unit tests: flows built over `emptyFlow` with the facts a test needs,
 * a context with the default config, and policies from YAML.
 */
import { emptyFlow, type Flow } from '../../../schemas/flow.js';
import { DetectorsConfigSchema, type DetectorsConfigInput } from '../../../schemas/detectors-config.js';
import { compilePolicySet } from '../../../src/policy/compile.js';
import { NO_BASELINE, type Baseline, type DetectInput, type DetectorContext } from '../../../src/detect/context.js';
import { policiesFromYaml } from '../../helpers/policy-fixtures.js';

export const T0 = Date.parse('2026-03-01T10:00:00Z');
export const FRONTEND = 'spiffe://cluster.local/ns/shop/sa/frontend';

/** An inbound sidecar line at cart (shop, 10.1.0.11:8080), over mTLS from frontend unless overridden. */
export function inboundFlow(o: Partial<Flow> = {}): Flow {
  return {
    ...emptyFlow('istio-json'),
    start_time: new Date(T0).toISOString(), method: 'GET', path: '/cart', protocol: 'HTTP/1.1', response_code: 200,
    response_code_details: 'via_upstream', bytes_sent: 100, authority: 'cart:8080', upstream_cluster: 'inbound|8080||',
    downstream_local_address: '10.1.0.11:8080', downstream_remote_address: '10.1.0.10:40000',
    requested_server_name: 'outbound_.8080_._.cart.shop.svc.cluster.local', direction: 'inbound',
    destination_service: 'cart.shop.svc.cluster.local', destination_port: 8080, destination_namespace: 'shop',
    reporter: { kind: 'sidecar', pod: null, namespace: null, container: null, labels: null },
    source_principal: FRONTEND, source_principal_from: 'downstream_peer_uri_san', source_namespace: 'shop', source_namespace_from: 'downstream_peer_uri_san',
    mtls: true, mtls_evidence: 'downstream_peer_uri_san: the downstream peer presented a certificate', tls_version: 'TLSv1.3',
    ...o,
  };
}

/** The same line in plaintext from a caller without a sidecar at `ip`. */
export function plaintextFlow(o: Partial<Flow> = {}, ip = '10.3.0.20'): Flow {
  return inboundFlow({
    requested_server_name: null, destination_service: null, authority: 'cart.shop.svc.cluster.local:8080', downstream_remote_address: `${ip}:41000`,
    source_principal: null, source_principal_from: null, source_namespace: null, source_namespace_from: null,
    mtls: false, mtls_evidence: 'downstream_tls_version is "-": Envoy did not use TLS on the downstream connection', tls_version: null,
    extra: { downstream_tls_version: '-' },
    ...o,
  });
}

/** An outbound sidecar line written at `app` in `ns` (envelope labels), going to `o`. */
export function outboundFlow(app: string, o: Partial<Flow> = {}): Flow {
  return {
    ...emptyFlow('istio-json'),
    start_time: new Date(T0).toISOString(), direction: 'outbound', response_code: 0,
    reporter: { kind: 'sidecar', pod: `${app}-v1-6d8f9c7b5-abcde`, namespace: 'shop', container: 'istio-proxy', labels: { app } },
    source_namespace: 'shop', source_namespace_from: 'inferred:reporter',
    ...o,
  };
}

/** Numbers flows as a batch. */
export function batch(...flows: Flow[]): DetectInput[] {
  return flows.map((flow, i) => ({ id: i + 1, ts: flow.start_time ? Date.parse(flow.start_time) : T0, flow }));
}

/** A detector context: default config (plus overrides), policies from YAML (or none). */
export function context(yaml: string | null, config: DetectorsConfigInput = {}, baseline: Baseline = NO_BASELINE): DetectorContext {
  return { config: DetectorsConfigSchema.parse(config), policies: yaml === null ? null : compilePolicySet(policiesFromYaml(yaml)), baseline };
}

export const STRICT_SHOP = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec: { mtls: { mode: STRICT } }
`;
export const PERMISSIVE_SHOP = STRICT_SHOP.replace('STRICT', 'PERMISSIVE');
export const CART_ALLOW_FRONTEND = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: cart-allow, namespace: shop }
spec:
  selector: { matchLabels: { app: cart } }
  action: ALLOW
  rules:
  - from:
    - source: { principals: ["cluster.local/ns/shop/sa/frontend"] }
`;
