/**
 * Test flows with identities, mTLS verdicts, flags and hostile text, written straight through
 * Store.writeBatch (the sample generator does not fill identities yet). Deterministic.
 */
import { emptyFlow, type Flow } from '../../../schemas/flow.js';
import type { BatchRecord, Store } from '../../../src/store/store.js';

export const P = {
  cart: 'spiffe://cluster.local/ns/shop/sa/cart',
  payments: 'spiffe://cluster.local/ns/shop/sa/payments',
  legacy: 'spiffe://cluster.local/ns/legacy/sa/default',
  other: 'spiffe://other.domain/ns/shopping/sa/x',
  globby: 'spiffe://cluster.local/ns/shop/sa/we[i]rd?',
} as const;

export const SVC = {
  payments: 'payments.shop.svc.cluster.local',
  db: 'db.legacy.svc.cluster.local',
} as const;

/** Text a spreadsheet would run, or that breaks naive CSV. */
export const HOSTILE = ['=HYPERLINK("http://x","y")', '+1+2', '-2+3', '@SUM(A1)', '\tTAB', 'a,b', 'quote " inside', 'line\nbreak'];

/** 2026-03-01T10:00:00Z */
export const T0 = Date.parse('2026-03-01T10:00:00Z');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` flows over two hours from T0: requests of two hops (outbound at the caller, inbound at the server). */
export function makeFlows(n: number, seed = 1): Flow[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const flows: Flow[] = [];
  let req = 0;
  while (flows.length < n) {
    req++;
    const ts = T0 + Math.floor(r() * 2 * 3_600_000);
    const caller = pick([P.cart, P.payments, P.legacy, P.other, P.globby, null] as const);
    const callerNs = caller === null ? null : /\/ns\/([^/]+)\//.exec(caller)![1]!;
    const [svc, port, serverNs, server] = r() < 0.7 ? [SVC.payments, 8080, 'shop', P.payments] as const : [SVC.db, 5432, 'legacy', P.legacy] as const;
    const mtls = pick([true, true, false, null] as const);
    const code = pick([200, 200, 200, 404, 503, 0, 0] as const);
    const flags = code === 0 ? pick([[], ['UH'], ['UF', 'URX'], ['URX']] as const) : code === 503 ? pick([[], ['UO']] as const) : [];
    const requestId = `req-${seed}-${req}`;
    for (const direction of ['outbound', 'inbound'] as const) {
      if (flows.length >= n) break;
      const f = emptyFlow('istio-json');
      f.start_time = new Date(ts + (direction === 'inbound' ? 3 : 0)).toISOString();
      f.method = 'GET';
      f.path = r() < 0.15 ? `/x?${pick(HOSTILE)}` : '/api/pay';
      f.user_agent = r() < 0.15 ? pick(HOSTILE) : 'curl/8.0';
      f.response_code = code;
      f.response_flags = [...flags];
      f.bytes_received = Math.floor(r() * 1000);
      f.bytes_sent = Math.floor(r() * 5000);
      f.duration = Math.floor(r() * 50);
      f.request_id = requestId;
      f.direction = direction;
      f.destination_service = svc;
      f.destination_port = port;
      f.reporter = direction === 'outbound'
        ? { kind: caller === null ? 'gateway' : 'sidecar', pod: caller === null ? 'istio-ingressgateway-1' : `${callerNs}-client-1`, namespace: callerNs, container: 'istio-proxy', labels: null }
        : { kind: 'sidecar', pod: `${serverNs}-server-1`, namespace: serverNs, container: 'istio-proxy', labels: { app: 'server' } };
      f.source_principal = caller;
      f.source_namespace = callerNs;
      f.destination_principal = server;
      f.destination_namespace = serverNs;
      f.mtls = mtls;
      f.mtls_evidence = mtls === null ? 'no tls fields' : 'downstream_peer_uri_san';
      f.tls_version = mtls ? 'TLSv1.3' : null;
      flows.push(f);
    }
  }
  return flows;
}

/** Writes `flows` in batches as stream `source` starting at position `start`; returns the number written. */
export function writeFlows(store: Store, flows: Flow[], source = 'test:fixture', start = 0, batch = 100): number {
  let written = 0;
  for (let i = 0; i < flows.length; i += batch) {
    const records: BatchRecord[] = flows.slice(i, i + batch).map((flow, j) => ({
      position: { source, pos: start + i + j, line: start + i + j + 1 }, raw: '', outcome: { ok: true, flow },
    }));
    written += store.writeBatch(records, [{ source, position: start + i + records.length }]).flows;
  }
  return written;
}

/** Whether a flow counts as an error (the rollup definition). */
export const isError = (f: Flow): boolean => (f.response_code ?? 0) >= 500 || (f.response_code === 0 && f.response_flags.length > 0);
