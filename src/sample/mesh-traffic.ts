/**
 * Generates realistic, deterministic access-log traffic for a small mesh (a Bookinfo-like
 * application behind an ingress gateway, plus a legacy namespace and some egress): for every
 * request, the gateway line and both sidecar lines of each hop, with failures mixed in. Used by
 * the embedded demo (`npm start`), the tests and the benchmark.
 *
 * Lines come in the envelopes and encodings meshtrail meets in production: bare Istio TEXT,
 * Istio JSON with identity operators, container-runtime (CRI) prefixes and Fluent Bit records.
 */

/** Options for {@link generateMeshTraffic}. */
export interface TrafficOptions {
  /** Number of user requests entering at the gateway. */
  requests: number;
  /** PRNG seed: the same seed gives the same lines. */
  seed?: number;
  /** Time of the last request (epoch ms); requests are spread over the hour before it. */
  end?: number;
  /** Share of hops written as Istio JSON (with identity fields) instead of TEXT. */
  jsonShare?: number;
  /** Share of lines wrapped in an envelope (CRI prefix or Fluent Bit record). */
  envelopeShare?: number;
  /** Add a few lines that are not access logs, to exercise the quarantine. */
  malformed?: boolean;
}

/** One hop's facts, rendered into a line by the writers below. */
interface Hop {
  time: number;
  method: string;
  path: string;
  protocol: string;
  code: number;
  flags: string;
  details: string;
  received: number;
  sent: number;
  duration: number;
  upstreamTime: number | null;
  xff: string | null;
  userAgent: string;
  requestId: string;
  authority: string;
  upstreamHost: string | null;
  cluster: string;
  upstreamLocal: string | null;
  downstreamLocal: string;
  downstreamRemote: string;
  sni: string | null;
  route: string | null;
  pod: string;
  namespace: string;
  /** Caller and callee SPIFFE IDs, rendered only by the JSON writer (identity operators). */
  peer: string | null;
  local: string | null;
  tls: string | null;
}

interface Workload { app: string; ns: string; ip: string; port: number; sa: string; pod: string }

const TD = 'cluster.local';
const W = {
  gateway: { app: 'istio-ingressgateway', ns: 'istio-system', ip: '10.44.0.5', port: 8080, sa: 'istio-ingressgateway-service-account', pod: 'istio-ingressgateway-7d4f8b9c6-x2x7q' },
  productpage: { app: 'productpage', ns: 'bookinfo', ip: '10.44.1.10', port: 9080, sa: 'bookinfo-productpage', pod: 'productpage-v1-5d9b4c9849-abcde' },
  reviews: { app: 'reviews', ns: 'bookinfo', ip: '10.44.1.11', port: 9080, sa: 'bookinfo-reviews', pod: 'reviews-v2-7bf8c9648f-fghij' },
  ratings: { app: 'ratings', ns: 'bookinfo', ip: '10.44.1.12', port: 9080, sa: 'bookinfo-ratings', pod: 'ratings-v1-6c9dbf6b45-klmno' },
  details: { app: 'details', ns: 'bookinfo', ip: '10.44.1.13', port: 9080, sa: 'bookinfo-details', pod: 'details-v1-65599dcf68-pqrst' },
  billing: { app: 'billing', ns: 'legacy', ip: '10.44.2.20', port: 8080, sa: 'default', pod: 'billing-6f7d8c9b5-uvwxy' },
} satisfies Record<string, Workload>;

const fqdn = (w: Workload) => `${w.app}.${w.ns}.svc.cluster.local`;
const spiffe = (w: Workload) => `spiffe://${TD}/ns/${w.ns}/sa/${w.sa}`;

/** mulberry32: small, fast, deterministic (also seeds the bench's and tests' choices). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates the lines; deterministic for a given seed and end time. */
export function generateMeshTraffic(options: TrafficOptions): string[] {
  const rnd = prng(options.seed ?? 42);
  const end = options.end ?? Date.parse('2026-01-15T03:00:00Z');
  const jsonShare = options.jsonShare ?? 0.25;
  const envelopeShare = options.envelopeShare ?? 0.2;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const uuid = (): string => {
    const h = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
    return `${h(8)}-${h(4)}-4${h(3)}-${pick(['8', '9', 'a', 'b'])}${h(3)}-${h(12)}`;
  };
  const port = () => 30000 + Math.floor(rnd() * 30000);
  const lines: string[] = [];
  const emit = (hop: Hop) => {
    const json = rnd() < jsonShare;
    const line = json ? jsonLine(hop) : textLine(hop);
    const r = rnd();
    if (r < envelopeShare / 2) lines.push(`${new Date(hop.time + hop.duration).toISOString().replace('Z', '123456Z')} stdout F ${line}`);
    else if (r < envelopeShare) {
      lines.push(JSON.stringify({
        date: (hop.time + hop.duration) / 1000, log: line, stream: 'stdout',
        kubernetes: { pod_name: hop.pod, namespace_name: hop.namespace, container_name: 'istio-proxy', labels: { app: hop.pod.split('-')[0] } },
      }));
    } else lines.push(line);
  };
  const agents = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'curl/8.5.0', 'python-requests/2.31.0'];

  /** A client sidecar's outbound line and the server sidecar's inbound line for one hop. */
  const hop = (t: number, from: Workload, to: Workload, path: string, rid: string, ua: string, code: number, mtls = true): number => {
    const d = 2 + Math.floor(rnd() * 40);
    const cport = port();
    const failed = code === 503;
    const outbound: Hop = {
      time: t, method: 'GET', path, protocol: 'HTTP/1.1', code, flags: failed ? 'UF,URX' : '-',
      details: failed ? 'upstream_reset_before_response_started{connection_failure}' : 'via_upstream',
      received: 0, sent: failed ? 91 : 200 + Math.floor(rnd() * 4000), duration: d + 1, upstreamTime: failed ? null : d,
      xff: null, userAgent: ua, requestId: rid, authority: `${to.app}:${to.port}`,
      upstreamHost: `${to.ip}:${to.port}`, cluster: `outbound|${to.port}||${fqdn(to)}`, upstreamLocal: `${from.ip}:${cport}`,
      downstreamLocal: `10.96.${to.app.length}.${to.port % 250}:${to.port}`, downstreamRemote: `${from.ip}:${port()}`, sni: null,
      route: 'default', pod: from.pod, namespace: from.ns, peer: mtls ? spiffe(to) : null, local: spiffe(from), tls: mtls ? 'TLSv1.3' : null,
    };
    emit(outbound);
    if (failed) return d + 1;
    emit({
      ...outbound, time: t + 1, duration: d, upstreamHost: `${to.ip}:${to.port}`, cluster: `inbound|${to.port}||`,
      upstreamLocal: '127.0.0.6:' + port(), downstreamLocal: `${to.ip}:${to.port}`, downstreamRemote: `${from.ip}:${cport}`,
      sni: mtls ? `outbound_.${to.port}_._.${fqdn(to)}` : null, route: 'default', pod: to.pod, namespace: to.ns,
      peer: mtls ? spiffe(from) : null, local: spiffe(to), tls: mtls ? 'TLSv1.3' : null,
    });
    return d + 1;
  };

  const span = 3600_000;
  for (let i = 0; i < options.requests; i++) {
    const t = end - span + Math.floor((i / Math.max(1, options.requests)) * span);
    const rid = uuid();
    const ua = pick(agents);
    const client = `203.0.113.${1 + Math.floor(rnd() * 250)}`;
    const roll = rnd();
    const gw = W.gateway;
    if (roll < 0.04) {
      // Unknown route at the gateway: 404 NR, no upstream.
      emit({
        time: t, method: 'GET', path: '/wp-login.php', protocol: 'HTTP/1.1', code: 404, flags: 'NR', details: 'route_not_found',
        received: 0, sent: 0, duration: 0, upstreamTime: null, xff: client, userAgent: ua, requestId: rid, authority: 'shop.example.com',
        upstreamHost: null, cluster: '-', upstreamLocal: null, downstreamLocal: `${gw.ip}:8080`, downstreamRemote: `${client}:${port()}`,
        sni: null, route: null, pod: gw.pod, namespace: gw.ns, peer: null, local: null, tls: null,
      });
      continue;
    }
    const pp = W.productpage;
    const ppCode = roll < 0.08 ? 503 : 200;
    // Gateway -> productpage (the gateway's line is outbound).
    emit({
      time: t, method: 'GET', path: '/productpage', protocol: 'HTTP/1.1', code: ppCode, flags: ppCode === 503 ? 'UH' : '-',
      details: ppCode === 503 ? 'no_healthy_upstream' : 'via_upstream', received: 0, sent: ppCode === 503 ? 19 : 5293,
      duration: 40, upstreamTime: ppCode === 503 ? null : 38, xff: client, userAgent: ua, requestId: rid, authority: 'shop.example.com',
      upstreamHost: ppCode === 503 ? null : `${pp.ip}:${pp.port}`, cluster: `outbound|${pp.port}||${fqdn(pp)}`,
      upstreamLocal: ppCode === 503 ? null : `${gw.ip}:${port()}`, downstreamLocal: `${gw.ip}:8080`, downstreamRemote: `${client}:${port()}`,
      sni: null, route: null, pod: gw.pod, namespace: gw.ns, peer: ppCode === 503 ? null : spiffe(pp), local: spiffe(gw), tls: ppCode === 503 ? null : 'TLSv1.3',
    });
    if (ppCode === 503) continue;
    hop(t + 1, gw, pp, '/productpage', rid, ua, 200);
    hop(t + 3, pp, W.details, '/details/0', rid, ua, 200);
    const reviewsCode = rnd() < 0.05 ? 503 : 200;
    hop(t + 6, pp, W.reviews, '/reviews/0', rid, ua, reviewsCode);
    if (reviewsCode === 200) hop(t + 9, W.reviews, W.ratings, '/ratings/0', rid, ua, 200);
    if (rnd() < 0.03) {
      // The legacy billing service calls ratings without a sidecar: plaintext inbound.
      const b = W.billing;
      const r = W.ratings;
      emit({
        time: t + 12, method: 'POST', path: '/ratings/0', protocol: 'HTTP/1.1', code: 200, flags: '-', details: 'via_upstream',
        received: 52, sent: 31, duration: 4, upstreamTime: 3, xff: null, userAgent: 'Go-http-client/1.1', requestId: uuid(),
        authority: `ratings.bookinfo:9080`, upstreamHost: `${r.ip}:${r.port}`, cluster: `inbound|${r.port}||`, upstreamLocal: '127.0.0.6:' + port(),
        downstreamLocal: `${r.ip}:${r.port}`, downstreamRemote: `${b.ip}:${port()}`, sni: null, route: 'default', pod: r.pod, namespace: r.ns,
        peer: null, local: spiffe(r), tls: null,
      });
    }
    if (rnd() < 0.03) {
      // Egress: allowed passthrough, or blocked by REGISTRY_ONLY.
      const blocked = rnd() < 0.5;
      emit({
        time: t + 15, method: '-', path: '-', protocol: '-', code: 0, flags: blocked ? 'UH' : '-', details: '-',
        received: blocked ? 0 : 517, sent: blocked ? 0 : 3829, duration: blocked ? 0 : 112, upstreamTime: null, xff: null, userAgent: '-',
        requestId: '-', authority: '-', upstreamHost: blocked ? null : '142.250.74.36:443', cluster: blocked ? 'BlackHoleCluster' : 'PassthroughCluster',
        upstreamLocal: blocked ? null : `${W.reviews.ip}:${port()}`, downstreamLocal: '142.250.74.36:443', downstreamRemote: `${W.reviews.ip}:${port()}`,
        sni: 'www.googleapis.com', route: null, pod: W.reviews.pod, namespace: W.reviews.ns, peer: null, local: null, tls: null,
      });
    }
  }
  if (options.malformed ?? true) {
    lines.push('[2026-01-15 02:59:59.001][14][warning][config] [source/common/config/grpc_stream.h:201] StreamAggregatedResources gRPC config stream closed');
    lines.push('{"log": 42, "stream": "stdout"}');
    lines.push('[2026-01-15T02:59:59.002Z] "GET /truncated HTTP/1.1" 200');
  }
  return lines;
}

const dash = (v: string | number | null) => (v === null || v === '' ? '-' : String(v));

/** Renders a hop in Istio's default TEXT format (1.24+). */
function textLine(h: Hop): string {
  return `[${new Date(h.time).toISOString()}] "${h.method} ${h.path} ${h.protocol}" ${h.code} ${h.flags} ${h.details} - "-" ` +
    `${h.received} ${h.sent} ${h.duration} ${dash(h.upstreamTime)} "${dash(h.xff)}" "${h.userAgent}" "${dash(h.requestId)}" ` +
    `"${dash(h.authority)}" "${dash(h.upstreamHost)}" ${h.cluster} ${dash(h.upstreamLocal)} ${h.downstreamLocal} ${h.downstreamRemote} ` +
    `${dash(h.sni)} ${dash(h.route)}`;
}

/** Renders a hop in Istio's JSON encoding, plus the identity operators a Telemetry provider adds. */
function jsonLine(h: Hop): string {
  const inbound = h.cluster.startsWith('inbound|');
  const v = (x: string | number | null) => (x === null || x === '-' ? null : x);
  return JSON.stringify({
    start_time: new Date(h.time).toISOString(), method: v(h.method), path: v(h.path), protocol: v(h.protocol), response_code: h.code,
    response_flags: h.flags, response_code_details: v(h.details), connection_termination_details: null, upstream_transport_failure_reason: null,
    bytes_received: h.received, bytes_sent: h.sent, duration: h.duration, upstream_service_time: h.upstreamTime === null ? null : String(h.upstreamTime),
    x_forwarded_for: v(h.xff), user_agent: v(h.userAgent), request_id: v(h.requestId), authority: v(h.authority), upstream_host: v(h.upstreamHost),
    upstream_cluster: v(h.cluster), upstream_local_address: v(h.upstreamLocal), downstream_local_address: h.downstreamLocal,
    downstream_remote_address: h.downstreamRemote, requested_server_name: v(h.sni), route_name: v(h.route),
    downstream_peer_uri_san: inbound ? h.peer : null, downstream_local_uri_san: inbound ? h.local : null,
    upstream_peer_uri_san: inbound ? null : h.peer, downstream_tls_version: inbound ? h.tls : null, upstream_tls_version: inbound ? null : h.tls,
  });
}
