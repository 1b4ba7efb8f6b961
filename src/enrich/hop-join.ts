/**
 * The hop join: links the client proxy's outbound line and the server proxy's inbound line of
 * one call, so both halves of the identity picture sit side by side (the client proves who
 * answered and over which TLS, the server who called and whether mTLS was used). Pure.
 *
 * Two lines are candidates when nothing contradicts it and something links them:
 * - request id: equal x-request-id (different ids rule the pair out);
 * - server address: the client's `upstream_host` equals the server's `downstream_local_address`
 *   (a different address rules it out: another replica or another hop of the chain);
 * - client address: the client's `upstream_local_address` equals the server's
 *   `downstream_remote_address` (the same TCP connection; a mismatch rules the pair out unless
 *   the server address agrees, since proxies in between may re-originate the connection);
 * - time: the server line starts no earlier than `maxSkewMs` before the client line and no later
 *   than `maxSkewMs` after the client line ended.
 * Candidates are ranked by how much links them (request id 4, client address 2, server address 1,
 * equal response code 0.5), then by how close the two lines end (a retried request's client line
 * records only its last attempt, which ends just before the client's), then by start time.
 * Pairs are taken greedily from the best; each line is used once per role.
 *
 * Roles: outbound lines are clients, inbound lines servers; a gateway's line is both (server of
 * the hop into the gateway, client of the hop out of it). ztunnel lines describe connections, not
 * requests, and lines without a direction cannot be placed: both come back as `unplaced`.
 * Unmatched lines come back as half-hops with the reason the other side is missing.
 */
import type { Hop, HopClient, HopServer } from '../../schemas/hop.js';
import type { StoredFlow } from '../store/flows.repository.js';

/** Options for {@link joinHops}. */
export interface HopJoinOptions {
  /** Clock skew tolerated between proxies, in ms; default 5000. */
  maxSkewMs?: number;
}

type Link = 'request_id' | 'server_address' | 'client_address';

interface Pair {
  client: StoredFlow;
  server: StoredFlow;
  links: Link[];
  score: number;
  distance: number;
}

const time = (f: StoredFlow): number => (f.start_time === null ? Number.NaN : Date.parse(f.start_time));

const isClient = (f: StoredFlow) => f.reporter.kind !== 'ztunnel' && (f.reporter.kind === 'gateway' || f.direction === 'outbound');
const isServer = (f: StoredFlow) => f.reporter.kind !== 'ztunnel' && (f.reporter.kind === 'gateway' || f.direction === 'inbound');

function clientView(f: StoredFlow): HopClient {
  return {
    flow_id: f.id, reporter: f.reporter, start_time: f.start_time,
    source_principal: f.source_principal, destination_principal: f.destination_principal,
    destination_principal_from: f.destination_principal_from, destination_service: f.destination_service,
    upstream_host: f.upstream_host, upstream_local_address: f.upstream_local_address,
    mtls: f.mtls, mtls_evidence: f.mtls_evidence, tls_version: f.tls_version, tls_cipher: f.tls_cipher,
    response_code: f.response_code, response_flags: f.response_flags, duration: f.duration,
  };
}

function serverView(f: StoredFlow): HopServer {
  return {
    flow_id: f.id, reporter: f.reporter, start_time: f.start_time,
    source_principal: f.source_principal, source_principal_from: f.source_principal_from,
    destination_principal: f.destination_principal,
    downstream_local_address: f.downstream_local_address, downstream_remote_address: f.downstream_remote_address,
    requested_server_name: f.requested_server_name,
    mtls: f.mtls, mtls_evidence: f.mtls_evidence, tls_version: f.tls_version, tls_cipher: f.tls_cipher,
    response_code: f.response_code, response_flags: f.response_flags, duration: f.duration,
  };
}

/** How `c` (client) and `s` (server) are linked, or null when they cannot be one hop. */
function pairOf(c: StoredFlow, s: StoredFlow, skew: number): Pair | null {
  if (c === s) return null;
  const sameRid = c.request_id !== null && s.request_id !== null ? c.request_id === s.request_id : null;
  if (sameRid === false) return null;
  const serverAddr = c.upstream_host !== null && s.downstream_local_address !== null ? c.upstream_host === s.downstream_local_address : null;
  if (serverAddr === false) return null;
  const clientAddr = c.upstream_local_address !== null && s.downstream_remote_address !== null ? c.upstream_local_address === s.downstream_remote_address : null;
  if (clientAddr === false && serverAddr !== true) return null;
  if (!sameRid && !serverAddr && !clientAddr) return null;

  const tc = time(c);
  const ts = time(s);
  let distance = Number.MAX_SAFE_INTEGER;
  if (Number.isFinite(tc) && Number.isFinite(ts)) {
    const clientEnd = tc + (c.duration ?? 0);
    if (ts < tc - skew || ts > clientEnd + skew) return null;
    distance = c.duration !== null && s.duration !== null ? Math.abs(clientEnd - (ts + s.duration)) : Math.abs(ts - tc);
  } else if (!sameRid) {
    // Without times, addresses alone (reused by every request on a connection) prove too little.
    return null;
  }
  const links: Link[] = [];
  if (sameRid) links.push('request_id');
  if (serverAddr) links.push('server_address');
  if (clientAddr) links.push('client_address');
  const score = (sameRid ? 4 : 0) + (clientAddr ? 2 : 0) + (serverAddr ? 1 : 0) + (c.response_code !== null && c.response_code === s.response_code ? 0.5 : 0);
  return { client: c, server: s, links, score, distance };
}

function pushTo<K, V>(map: Map<K, V[]>, key: K | null, value: V): void {
  if (key === null) return;
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const flagsText = (f: StoredFlow) => (f.response_flags.length ? ` (response flags ${f.response_flags.join(',')})` : '');

function clientReason(c: StoredFlow): string {
  if (c.upstream_host === null) return `the request reached no server${flagsText(c)}, so no server line exists`;
  const cluster = c.upstream_cluster ?? '';
  if (cluster.startsWith('PassthroughCluster') || cluster === 'BlackHoleCluster') {
    return `the destination is outside the mesh (${cluster}): it writes no proxy line`;
  }
  return 'no inbound line matched (request id, addresses, time): the server has no sidecar, its proxy\'s logs were not collected, or its line is outside the flows given';
}

function serverReason(s: StoredFlow, matched: readonly Pair[], clients: readonly StoredFlow[]): string {
  const retried = matched.find((p) => s.request_id !== null && p.client.request_id === s.request_id && p.server !== s &&
    (p.server.downstream_local_address === s.downstream_local_address || (p.server.destination_service !== null && p.server.destination_service === s.destination_service)));
  if (retried) {
    return `an earlier attempt of a retried request: the client's line (flow ${retried.client.id}) records only its final attempt, joined with flow ${retried.server.id}`;
  }
  if (s.reporter.kind === 'gateway') return 'the caller reached the gateway from outside the mesh (or through a proxy whose lines were not given): no client line';
  if (s.request_id !== null && !clients.some((c) => c.request_id === s.request_id)) {
    return 'no outbound line carries this request id: the caller has no sidecar (outside the mesh), or its proxy\'s logs were not collected';
  }
  return 'no outbound line matched (request id, addresses, time): the caller\'s line is missing or outside the flows given';
}

/**
 * Joins flows (typically all flows of one request id, or of a short window) into hops in time
 * order; every flow appears in at least one hop, a gateway's in up to two.
 */
export function joinHops(flows: readonly StoredFlow[], options: HopJoinOptions = {}): Hop[] {
  const skew = options.maxSkewMs ?? 5000;
  const clients = flows.filter(isClient);
  const servers = flows.filter(isServer);

  const byRid = new Map<string, StoredFlow[]>();
  const byRemote = new Map<string, StoredFlow[]>();
  const byLocal = new Map<string, StoredFlow[]>();
  for (const s of servers) {
    pushTo(byRid, s.request_id, s);
    pushTo(byRemote, s.downstream_remote_address, s);
    pushTo(byLocal, s.downstream_local_address, s);
  }
  const pairs: Pair[] = [];
  for (const c of clients) {
    const seen = new Set<StoredFlow>();
    const candidates = [
      ...(c.request_id !== null ? byRid.get(c.request_id) ?? [] : []),
      ...(c.upstream_local_address !== null ? byRemote.get(c.upstream_local_address) ?? [] : []),
      ...(c.upstream_host !== null ? byLocal.get(c.upstream_host) ?? [] : []),
    ];
    for (const s of candidates) {
      if (seen.has(s)) continue;
      seen.add(s);
      const p = pairOf(c, s, skew);
      if (p) pairs.push(p);
    }
  }
  pairs.sort((a, b) => b.score - a.score || a.distance - b.distance || a.client.id - b.client.id || a.server.id - b.server.id);

  const usedClient = new Set<StoredFlow>();
  const usedServer = new Set<StoredFlow>();
  const matched: Pair[] = [];
  for (const p of pairs) {
    if (usedClient.has(p.client) || usedServer.has(p.server)) continue;
    usedClient.add(p.client);
    usedServer.add(p.server);
    matched.push(p);
  }

  type Draft = Omit<Hop, 'hop'> & { at: number; firstId: number };
  const drafts: Draft[] = [];
  const draft = (h: Omit<Hop, 'hop' | 'start_time'>, lead: StoredFlow): void => {
    drafts.push({ ...h, start_time: lead.start_time, at: time(lead), firstId: lead.id });
  };
  for (const p of matched) {
    draft({ request_id: p.client.request_id ?? p.server.request_id, status: 'matched', flow_ids: [p.client.id, p.server.id], matched_by: p.links, reason: null,
      client: clientView(p.client), server: serverView(p.server) }, p.client);
  }
  for (const c of clients) {
    if (usedClient.has(c)) continue;
    draft({ request_id: c.request_id, status: 'client_only', flow_ids: [c.id], matched_by: [], reason: clientReason(c), client: clientView(c), server: null }, c);
  }
  for (const s of servers) {
    if (usedServer.has(s)) continue;
    draft({ request_id: s.request_id, status: 'server_only', flow_ids: [s.id], matched_by: [], reason: serverReason(s, matched, clients), client: null, server: serverView(s) }, s);
  }
  for (const f of flows) {
    if (isClient(f) || isServer(f)) continue;
    const reason = f.reporter.kind === 'ztunnel'
      ? 'ztunnel lines describe TCP connections, not requests: not joined with request lines'
      : 'the line\'s direction is unknown, so which side of a hop it describes cannot be told';
    draft({ request_id: f.request_id, status: 'unplaced', flow_ids: [f.id], matched_by: [], reason, client: null, server: null }, f);
  }
  // Time order; a gateway's inbound half sorts before its outbound hop at the same instant.
  drafts.sort((a, b) => {
    const ta = Number.isFinite(a.at) ? a.at : Number.POSITIVE_INFINITY;
    const tb = Number.isFinite(b.at) ? b.at : Number.POSITIVE_INFINITY;
    if (ta !== tb) return ta - tb;
    const sa = a.status === 'server_only' ? 0 : 1;
    const sb = b.status === 'server_only' ? 0 : 1;
    return sa - sb || a.firstId - b.firstId;
  });
  return drafts.map(({ at: _at, firstId: _f, ...h }, i) => ({ hop: i + 1, ...h }));
}
