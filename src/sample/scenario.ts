/**
 * A generated mesh with known incidents: access-log lines (Istio JSON with identity operators,
 * Istio TEXT, bare and in Fluent Bit envelopes with Kubernetes labels), the Istio policies in
 * force, the detectors config, and the list of incidents every detector must find with the
 * severity it must give, next to benign traffic that must raise nothing (normal mTLS, a
 * PERMISSIVE namespace mid-migration with an allow-listed legacy job, kubelet and Google health
 * checks, registered egress, lines that prove nothing about mTLS). Also a replay candidate
 * (mesh-wide deny-all plus ALLOW rules) with the requests it must report. Deterministic.
 *
 * Timeline: benign traffic every 20 s for `minutes` (default 30); the baseline learns during
 * the first 10 minutes; incidents fall before and after that point as listed.
 */
import type { Detector, Severity } from '../../schemas/finding.js';
import type { DetectorsConfigInput } from '../../schemas/detectors-config.js';

/** An incident the detectors must report: its finding key parts and severity. */
export interface ExpectedIncident {
  detector: Detector;
  severity: Severity;
  /** Finding key parts, as `detector|source|destination|port`. */
  key: string;
  what: string;
}

/** A request the replay candidate must report. */
export interface ExpectedReplayGroup {
  caller: string;
  destination: string;
  method: string | null;
  path: string | null;
  port: number | null;
}

/** The generated scenario. */
export interface Scenario {
  lines: string[];
  /** Policy YAML files in force (write them to a directory and load it). */
  policyFiles: Record<string, string>;
  config: DetectorsConfigInput;
  incidents: ExpectedIncident[];
  replay: { candidateFiles: Record<string, string>; wouldDeny: ExpectedReplayGroup[]; wouldAllow: ExpectedReplayGroup[] };
  start: number;
  end: number;
  learningWindowMs: number;
}

/** Options of {@link generateScenario}. */
export interface ScenarioOptions {
  /** Start of the first line, epoch ms. */
  start?: number;
  /** Length of the benign traffic, minutes (at least 25). */
  minutes?: number;
}

interface W { app: string; ns: string; sa: string; ip: string; pod: string }
const TD = 'cluster.local';
const mk = (app: string, ns: string, ip: string, sa = app): W => ({ app, ns, sa, ip, pod: `${app}-v1-6d8f9c7b5-${app.slice(0, 5).padEnd(5, 'x')}` });
const WL = {
  ingress: { app: 'istio-ingressgateway', ns: 'istio-system', sa: 'istio-ingressgateway-service-account', ip: '10.0.5.5', pod: 'istio-ingressgateway-7d4f8b9c6-x2x7q' },
  egress: { app: 'istio-egressgateway', ns: 'istio-system', sa: 'istio-egressgateway-service-account', ip: '10.0.5.6', pod: 'istio-egressgateway-5c9d7f6b8-k3j9z' },
  frontend: mk('frontend', 'shop', '10.1.0.10'),
  cart: mk('cart', 'shop', '10.1.0.11'),
  catalog: mk('catalog', 'shop', '10.1.0.12'),
  checkout: mk('checkout', 'shop', '10.1.0.13'),
  recommender: mk('recommender', 'shop', '10.1.0.14'),
  payments: mk('payments', 'payments', '10.2.0.10'),
  ledger: mk('ledger', 'payments', '10.2.0.11'),
} satisfies Record<string, W>;
const BILLING_IP = '10.3.0.20';
const REPORTING_IP = '10.3.0.30';
const KUBELET_IP = '10.0.0.1';
const GOOGLE_HC_IP = '35.191.0.1';
const PORT = 8080;
const spiffe = (w: W) => `spiffe://${TD}/ns/${w.ns}/sa/${w.sa}`;
const fqdn = (w: W) => `${w.app}.${w.ns}.svc.cluster.local`;
const vip = (w: W) => `10.96.0.${w.ip.split('.')[3]}`;

/** A JSON access-log record; null values are printed as JSON null (Envoy's "-"). */
type Rec = Record<string, string | number | null>;

interface Envelope { pod: string; ns: string; labels: Record<string, string> }

/** Builds the scenario. */
export function generateScenario(options: ScenarioOptions = {}): Scenario {
  const start = options.start ?? Date.parse('2026-03-01T10:00:00Z');
  const minutes = Math.max(25, options.minutes ?? 30);
  const learningWindowMs = 10 * 60_000;
  const lines: string[] = [];
  let seq = 0;
  const rid = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  let port = 40000;
  const eph = () => { port = port >= 60000 ? 40000 : port + 1; return port; };

  const emit = (rec: Rec, env?: Envelope) => {
    const line = JSON.stringify(rec);
    if (env === undefined) { lines.push(line); return; }
    lines.push(JSON.stringify({
      date: Date.parse(String(rec.start_time)) / 1000, log: line, stream: 'stdout',
      kubernetes: { pod_name: env.pod, namespace_name: env.ns, container_name: 'istio-proxy', labels: env.labels },
    }));
  };
  const envOf = (w: W, extra: Record<string, string> = {}): Envelope => ({ pod: w.pod, ns: w.ns, labels: { app: w.app, version: 'v1', ...extra } });

  /** A record with the common access-log keys. */
  const base = (t: number, o: Partial<Rec>): Rec => ({
    start_time: new Date(t).toISOString(), method: 'GET', path: '/', protocol: 'HTTP/1.1', response_code: 200, response_flags: '-',
    response_code_details: 'via_upstream', connection_termination_details: null, upstream_transport_failure_reason: null,
    bytes_received: 0, bytes_sent: 512, duration: 4, upstream_service_time: '3', x_forwarded_for: null, user_agent: 'Go-http-client/1.1',
    request_id: rid(), authority: null, upstream_host: null, upstream_cluster: null, upstream_local_address: null,
    downstream_local_address: null, downstream_remote_address: null, requested_server_name: null, route_name: 'default', ...o,
  });

  /** The server sidecar's inbound line. `from` null: a caller without a sidecar at `ip`. */
  const inbound = (t: number, from: W | null, to: W, o: Partial<Rec> = {}, opts: { ip?: string; tls?: 'mtls' | 'plain' | 'oneway'; env?: boolean; cipher?: string; tlsVersion?: string } = {}) => {
    const tls = opts.tls ?? (from ? 'mtls' : 'plain');
    const rec = base(t, {
      authority: `${to.app}:${PORT}`, upstream_host: `${to.ip}:${PORT}`, upstream_cluster: `inbound|${PORT}||`, upstream_local_address: `127.0.0.6:${eph()}`,
      downstream_local_address: `${to.ip}:${PORT}`, downstream_remote_address: `${from ? from.ip : opts.ip}:${eph()}`,
      requested_server_name: tls === 'mtls' ? `outbound_.${PORT}_._.${fqdn(to)}` : null,
      downstream_peer_uri_san: tls === 'mtls' && from ? spiffe(from) : null,
      downstream_local_uri_san: tls === 'mtls' ? spiffe(to) : null,
      downstream_tls_version: tls === 'plain' ? null : opts.tlsVersion ?? 'TLSv1.3',
      downstream_tls_cipher: tls === 'plain' ? null : opts.cipher ?? 'TLS_AES_128_GCM_SHA256',
      ...(tls === 'oneway' ? { downstream_peer_fingerprint_256: null } : {}),
      ...o,
    });
    emit(rec, opts.env ? envOf(to) : undefined);
  };

  /** The client sidecar's outbound line (mTLS to the server). */
  const outbound = (t: number, from: W, to: W, o: Partial<Rec> = {}, env = false) => {
    emit(base(t, {
      authority: `${to.app}:${PORT}`, upstream_host: `${to.ip}:${PORT}`, upstream_cluster: `outbound|${PORT}||${fqdn(to)}`,
      upstream_local_address: `${from.ip}:${eph()}`, downstream_local_address: `${vip(to)}:${PORT}`, downstream_remote_address: `${from.ip}:${eph()}`,
      upstream_peer_uri_san: spiffe(to), upstream_local_uri_san: spiffe(from), upstream_tls_version: 'TLSv1.3', ...o,
    }), env ? envOf(from) : undefined);
  };

  /** A hop: both sidecars' lines. */
  const hop = (t: number, from: W, to: W, method: string, path: string, env = false) => {
    outbound(t, from, to, { method, path }, env);
    inbound(t + 1, from, to, { method, path }, { env });
  };

  /** Istio TEXT lines: no identities (inbound: the mTLS SNI; outbound: nothing about TLS). */
  const textInbound = (t: number, from: W, to: W, path: string) => {
    lines.push(`[${new Date(t).toISOString()}] "GET ${path} HTTP/1.1" 200 - via_upstream - "-" 0 321 3 2 "-" "Go-http-client/1.1" "${rid()}" "${to.app}:${PORT}" "${to.ip}:${PORT}" inbound|${PORT}|| 127.0.0.6:${eph()} ${to.ip}:${PORT} ${from.ip}:${eph()} outbound_.${PORT}_._.${fqdn(to)} default`);
  };
  const textOutbound = (t: number, from: W, to: W, path: string) => {
    lines.push(`[${new Date(t).toISOString()}] "GET ${path} HTTP/1.1" 200 - via_upstream - "-" 0 321 3 2 "-" "Go-http-client/1.1" "${rid()}" "${to.app}:${PORT}" "${to.ip}:${PORT}" outbound|${PORT}||${fqdn(to)} ${from.ip}:${eph()} ${vip(to)}:${PORT} ${from.ip}:${eph()} - default`);
  };

  // ---- benign traffic, every 20 s --------------------------------------------------------
  const { ingress, egress, frontend, cart, catalog, checkout, recommender, payments, ledger } = WL;
  for (let t = start, i = 0; t < start + minutes * 60_000; t += 20_000, i++) {
    const env = i % 3 === 0;
    // Ingress gateway -> frontend (client HTTPS at the gateway, mTLS to the sidecar).
    emit(base(t, {
      path: '/', authority: 'shop.example.com', upstream_host: `${frontend.ip}:${PORT}`, upstream_cluster: `outbound|${PORT}||${fqdn(frontend)}`,
      upstream_local_address: `${ingress.ip}:${eph()}`, downstream_local_address: `${ingress.ip}:8443`, downstream_remote_address: `203.0.113.${(i % 200) + 1}:${eph()}`,
      requested_server_name: 'shop.example.com', x_forwarded_for: `203.0.113.${(i % 200) + 1}`, user_agent: 'Mozilla/5.0',
      downstream_tls_version: 'TLSv1.3', downstream_tls_cipher: 'TLS_AES_256_GCM_SHA384', upstream_peer_uri_san: spiffe(frontend),
      upstream_local_uri_san: spiffe(ingress), upstream_tls_version: 'TLSv1.3',
    }), { pod: ingress.pod, ns: ingress.ns, labels: { app: ingress.app, istio: 'ingressgateway' } });
    inbound(t + 1, ingress, frontend, { path: '/' }, { env });
    hop(t + 2, frontend, cart, 'GET', '/cart', env);
    hop(t + 3, frontend, catalog, 'GET', '/catalog/items', env);
    hop(t + 4, cart, catalog, 'GET', '/catalog/prices', env);
    hop(t + 5, frontend, checkout, 'POST', '/checkout', env);
    hop(t + 6, checkout, cart, 'GET', '/cart', env);
    hop(t + 7, checkout, payments, 'POST', '/payments', env);
    hop(t + 8, checkout, ledger, 'POST', '/ledger/entries', env);
    // Registered egress: api.stripe.com has a ServiceEntry, so it has its own cluster.
    emit(base(t + 9, {
      method: null, path: null, protocol: null, response_code: 0, response_code_details: null, bytes_received: 900, bytes_sent: 4200,
      upstream_host: '54.187.174.169:443', upstream_cluster: 'outbound|443||api.stripe.com', upstream_local_address: `${checkout.ip}:${eph()}`,
      downstream_local_address: '54.187.174.169:443', downstream_remote_address: `${checkout.ip}:${eph()}`, requested_server_name: 'api.stripe.com',
      route_name: null, upstream_service_time: null, user_agent: null, request_id: null, upstream_local_uri_san: null,
    }), envOf(checkout));
    if (i % 3 === 0) {
      // PERMISSIVE migration: the legacy reporting job (allow-listed) still calls payments in plaintext.
      inbound(t + 10, null, payments, { method: 'POST', path: '/payments/batch', authority: `${fqdn(payments)}:${PORT}`, user_agent: 'python-requests/2.31.0' }, { ip: REPORTING_IP });
      // Health checks: kubelet probes and Google's load-balancer checks arrive in plaintext.
      inbound(t + 11, null, cart, { path: '/healthz', authority: `${cart.ip}:${PORT}`, user_agent: 'kube-probe/1.29' }, { ip: KUBELET_IP, env: true });
      inbound(t + 12, null, ledger, { path: '/healthz', authority: `${ledger.ip}:${PORT}`, user_agent: 'kube-probe/1.29' }, { ip: KUBELET_IP, env: true });
      inbound(t + 13, null, frontend, { path: '/', authority: `${fqdn(frontend)}:${PORT}`, user_agent: 'GoogleHC/1.0' }, { ip: GOOGLE_HC_IP });
      // Lines that prove nothing: TEXT format (no identity; outbound: no TLS facts).
      textInbound(t + 14, checkout, cart, '/cart');
      textOutbound(t + 15, frontend, catalog, '/catalog/items');
    }
  }

  // ---- incidents -------------------------------------------------------------------------
  const m = (min: number) => start + min * 60_000;
  // Legacy billing (no sidecar) calls catalog (STRICT) and ledger (PERMISSIVE) in plaintext, before and after learning.
  for (const at of [m(2), m(16), m(18)]) {
    inbound(at, null, catalog, { path: '/catalog/items', authority: `${fqdn(catalog)}:${PORT}` }, { ip: BILLING_IP });
  }
  for (const at of [m(3), m(17)]) {
    inbound(at, null, ledger, { method: 'POST', path: '/ledger/entries', authority: `${fqdn(ledger)}:${PORT}` }, { ip: BILLING_IP });
  }
  // One-way TLS (no client certificate) to checkout (STRICT): the handshake is refused, nothing served.
  inbound(m(15), null, checkout, {
    method: null, path: null, protocol: null, response_code: 0, response_flags: 'DC', response_code_details: null, bytes_sent: 0,
    authority: null, requested_server_name: 'checkout.shop.svc.cluster.local', upstream_service_time: null, user_agent: null, request_id: null,
  }, { ip: BILLING_IP, tls: 'oneway', tlsVersion: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', env: true });
  // frontend calls ledger for the first time after learning.
  inbound(m(20), frontend, ledger, { path: '/ledger/balance' });
  // catalog reaches cart although cart's ALLOW policy admits only frontend and checkout.
  inbound(m(19), catalog, cart, { path: '/cart' }, { env: true });
  inbound(m(21), catalog, cart, { path: '/cart' });
  // recommender tries DELETE on cart: Envoy's RBAC refuses it.
  inbound(m(22), recommender, cart, {
    method: 'DELETE', path: '/cart/items', response_code: 403, response_code_details: 'rbac_access_denied_matched_policy[ns[shop]-policy[cart-deny-delete]-rule[0]]',
    bytes_sent: 19, upstream_host: null, upstream_local_address: null, upstream_service_time: null,
  });
  // Egress refused: BlackHoleCluster (TCP, UH), block_all (HTTP 502), egress gateway 403.
  emit(base(m(16), {
    method: null, path: null, protocol: null, response_code: 0, response_flags: 'UH', response_code_details: null, bytes_sent: 0, upstream_service_time: null,
    user_agent: null, request_id: null, upstream_cluster: 'BlackHoleCluster', downstream_local_address: '142.250.74.36:443',
    downstream_remote_address: `${cart.ip}:${eph()}`, requested_server_name: 'www.googleapis.com', route_name: null,
  }), envOf(cart));
  emit(base(m(17), {
    method: 'POST', path: '/upload', response_code: 502, response_code_details: 'direct_response', bytes_sent: 0, upstream_service_time: null,
    authority: 'api.evil.example', upstream_cluster: null, downstream_local_address: '93.184.216.34:80', downstream_remote_address: `${catalog.ip}:${eph()}`,
    route_name: 'block_all',
  }), envOf(catalog));
  emit(base(m(18), {
    method: 'PUT', path: '/files', response_code: 403, response_code_details: 'rbac_access_denied_matched_policy[none]', bytes_sent: 19,
    upstream_service_time: null, authority: 'upload.example.net', upstream_cluster: 'outbound|443||upload.example.net',
    downstream_local_address: `${egress.ip}:8443`, downstream_remote_address: `${checkout.ip}:${eph()}`, requested_server_name: 'upload.example.net',
    route_name: null, downstream_peer_uri_san: spiffe(checkout), downstream_tls_version: 'TLSv1.3', downstream_tls_cipher: 'TLS_AES_128_GCM_SHA256',
  }), { pod: egress.pod, ns: egress.ns, labels: { app: egress.app, istio: 'egressgateway' } });
  // Unregistered egress through PassthroughCluster (ALLOW_ANY).
  emit(base(m(19), {
    method: null, path: null, protocol: null, response_code: 0, response_code_details: null, bytes_received: 4000, bytes_sent: 800, upstream_service_time: null,
    user_agent: null, request_id: null, upstream_host: '104.20.0.1:443', upstream_cluster: 'PassthroughCluster', upstream_local_address: `${checkout.ip}:${eph()}`,
    downstream_local_address: '104.20.0.1:443', downstream_remote_address: `${checkout.ip}:${eph()}`, requested_server_name: 'pastebin.com', route_name: null,
  }), envOf(checkout));
  // Weak TLS: an old client at the ingress gateway; a 3DES cipher between checkout and ledger (during learning).
  emit(base(m(23), {
    path: '/', authority: 'shop.example.com', upstream_host: `${frontend.ip}:${PORT}`, upstream_cluster: `outbound|${PORT}||${fqdn(frontend)}`,
    upstream_local_address: `${ingress.ip}:${eph()}`, downstream_local_address: `${ingress.ip}:8443`, downstream_remote_address: `198.51.100.7:${eph()}`,
    requested_server_name: 'shop.example.com', user_agent: 'Java/1.7.0', downstream_tls_version: 'TLSv1.1', downstream_tls_cipher: 'ECDHE-RSA-AES128-SHA',
    upstream_peer_uri_san: spiffe(frontend), upstream_local_uri_san: spiffe(ingress), upstream_tls_version: 'TLSv1.3',
  }), { pod: ingress.pod, ns: ingress.ns, labels: { app: ingress.app, istio: 'ingressgateway' } });
  inbound(m(5), checkout, ledger, { method: 'POST', path: '/ledger/entries' }, { tlsVersion: 'TLSv1.2', cipher: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA' });

  const S = spiffe;
  const incidents: ExpectedIncident[] = [
    { detector: 'plaintext', severity: 'critical', key: `plaintext|ip:${BILLING_IP}|shop/catalog|${PORT}`, what: 'plaintext served at a STRICT workload' },
    { detector: 'plaintext', severity: 'high', key: `plaintext|ip:${BILLING_IP}|shop/checkout|${PORT}`, what: 'one-way TLS refused at a STRICT workload' },
    { detector: 'plaintext', severity: 'medium', key: `plaintext|ip:${BILLING_IP}|payments/ledger|${PORT}`, what: 'plaintext at a PERMISSIVE workload' },
    { detector: 'policy-pitfall', severity: 'high', key: `policy-pitfall|policy:payments/ledger-deny-legacy|payments/ledger|${PORT}`, what: 'DENY on namespaces never matches plaintext' },
    { detector: 'unexpected-principal', severity: 'medium', key: `unexpected-principal|${S(frontend)}|payments/ledger|${PORT}`, what: 'edge outside the learned baseline' },
    { detector: 'unexpected-principal', severity: 'medium', key: `unexpected-principal|no-identity|shop/checkout|${PORT}`, what: 'caller without identity, outside the baseline' },
    { detector: 'unexpected-principal', severity: 'high', key: `unexpected-principal|${S(catalog)}|shop/cart|${PORT}`, what: 'answered although the ALLOW policy denies it' },
    { detector: 'unexpected-principal', severity: 'medium', key: `unexpected-principal|${S(recommender)}|shop/cart|${PORT}`, what: 'blocked attempt (RBAC 403)' },
    { detector: 'denied-egress', severity: 'medium', key: 'denied-egress|shop/cart|www.googleapis.com|443', what: 'BlackHoleCluster' },
    { detector: 'denied-egress', severity: 'medium', key: 'denied-egress|shop/catalog|api.evil.example|80', what: 'block_all 502' },
    { detector: 'denied-egress', severity: 'medium', key: `denied-egress|${S(checkout)}|upload.example.net|8443`, what: 'egress gateway 403' },
    { detector: 'unregistered-egress', severity: 'info', key: 'unregistered-egress|shop/checkout|pastebin.com|443', what: 'PassthroughCluster to an unregistered host' },
    { detector: 'weak-tls', severity: 'medium', key: 'weak-tls|external-clients|istio-ingressgateway|8443', what: 'TLSv1.1 client at the ingress gateway' },
    { detector: 'weak-tls', severity: 'medium', key: `weak-tls|${S(checkout)}|payments/ledger|${PORT}`, what: '3DES cipher' },
  ];

  const policyFiles: Record<string, string> = {
    'peer-authentication.yaml': `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: payments }
spec: { mtls: { mode: PERMISSIVE } }
`,
    'authorization.yaml': `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: cart-allow, namespace: shop }
spec:
  selector: { matchLabels: { app: cart } }
  action: ALLOW
  rules:
  - from:
    - source: { principals: ["${TD}/ns/shop/sa/frontend", "${TD}/ns/shop/sa/checkout"] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: cart-deny-delete, namespace: shop }
spec:
  selector: { matchLabels: { app: cart } }
  action: DENY
  rules:
  - to:
    - operation: { methods: ["DELETE"] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ledger-deny-legacy, namespace: payments }
spec:
  selector: { matchLabels: { app: ledger } }
  action: DENY
  rules:
  - from:
    - source: { namespaces: ["legacy"] }
`,
    'service-entries.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: stripe, namespace: shop }
spec:
  hosts: ["api.stripe.com"]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
`,
  };

  const allow = (name: string, ns: string, app: string, callers: W[]) => `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${app} } }
  action: ALLOW
  rules:
  - from:
    - source: { principals: [${callers.map((c) => `"${TD}/ns/${c.ns}/sa/${c.sa}"`).join(', ')}] }
`;
  const candidateFiles = {
    'candidate.yaml': `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: istio-system }
spec: {}
${allow('allow-frontend', 'shop', 'frontend', [ingress])}${allow('allow-cart', 'shop', 'cart', [frontend, checkout, recommender])}${allow('allow-catalog', 'shop', 'catalog', [frontend, cart])}${allow('allow-checkout', 'shop', 'checkout', [frontend])}${allow('allow-payments', 'payments', 'payments', [checkout])}${allow('allow-ledger', 'payments', 'ledger', [checkout])}`,
  };
  const wouldDeny: ExpectedReplayGroup[] = [
    { caller: 'no-identity', destination: 'shop/catalog', method: 'GET', path: '/catalog/items', port: PORT },
    { caller: 'no-identity', destination: 'payments/ledger', method: 'POST', path: '/ledger/entries', port: PORT },
    { caller: 'no-identity', destination: 'shop/checkout', method: null, path: null, port: PORT },
    { caller: S(frontend), destination: 'payments/ledger', method: 'GET', path: '/ledger/balance', port: PORT },
    { caller: S(catalog), destination: 'shop/cart', method: 'GET', path: '/cart', port: PORT },
    { caller: 'no-identity', destination: 'payments/payments', method: 'POST', path: '/payments/batch', port: PORT },
    { caller: 'no-identity', destination: 'shop/cart', method: 'GET', path: '/healthz', port: PORT },
    { caller: 'no-identity', destination: 'payments/ledger', method: 'GET', path: '/healthz', port: PORT },
    { caller: 'no-identity', destination: 'shop/frontend', method: 'GET', path: '/', port: PORT },
  ];
  const wouldAllow: ExpectedReplayGroup[] = [
    { caller: S(recommender), destination: 'shop/cart', method: 'DELETE', path: '/cart/items', port: PORT },
  ];

  const config: DetectorsConfigInput = {
    baseline: { learning_window_ms: learningWindowMs },
    allow: { plaintext_sources: [`${REPORTING_IP}/32`] },
    service_labels: { [fqdn(ledger)]: { app: 'ledger', tier: 'db' } },
  };
  return { lines, policyFiles, config, incidents, replay: { candidateFiles, wouldDeny, wouldAllow }, start, end: start + minutes * 60_000, learningWindowMs };
}
