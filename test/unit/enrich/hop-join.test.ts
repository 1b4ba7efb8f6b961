import t from 'tap';
import { emptyFlow, type Flow } from '../../../schemas/flow.js';
import { HopsSchema } from '../../../schemas/hop.js';
import { joinHops } from '../../../src/enrich/hop-join.js';
import type { StoredFlow } from '../../../src/store/flows.repository.js';

const FRONT = 'spiffe://cluster.local/ns/web/sa/frontend';
const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const DB = 'spiffe://cluster.local/ns/shop/sa/db';
const GW = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway';

let nextId = 1;
function stored(over: Partial<Flow>): StoredFlow {
  const id = nextId++;
  return { ...emptyFlow('istio-json'), reporter: { kind: 'sidecar', pod: null, namespace: null, container: null, labels: null }, ...over, id, source: { key: 'test', pos: id, line: id } };
}
const at = (ms: number) => new Date(Date.parse('2026-03-01T10:00:00.000Z') + ms).toISOString();

/** Client (outbound) line of a call from `from` (ip) to `to` (ip:port). */
function client(rid: string | null, from: string, port: number, to: string, ms: number, over: Partial<Flow> = {}): StoredFlow {
  return stored({
    direction: 'outbound', request_id: rid, start_time: at(ms), duration: 20, response_code: 200,
    upstream_host: to, upstream_local_address: `${from}:${port}`, upstream_cluster: 'outbound|8080||svc.ns.svc.cluster.local',
    destination_principal: CART, mtls: true, mtls_evidence: 'upstream_peer_uri_san: ...', tls_version: 'TLSv1.3', ...over,
  });
}
/** Server (inbound) line of the same call. */
function server(rid: string | null, from: string, port: number, local: string, ms: number, over: Partial<Flow> = {}): StoredFlow {
  return stored({
    direction: 'inbound', request_id: rid, start_time: at(ms), duration: 15, response_code: 200,
    downstream_local_address: local, downstream_remote_address: `${from}:${port}`, upstream_cluster: 'inbound|8080||',
    source_principal: FRONT, mtls: true, mtls_evidence: 'downstream_peer_uri_san: ...', ...over,
  });
}

t.test('a matched pair: both sides, linked by request id and both addresses', async (t) => {
  const c = client('r1', '10.0.0.5', 41000, '10.0.0.7:8080', 0);
  const s = server('r1', '10.0.0.5', 41000, '10.0.0.7:8080', 2);
  const hops = joinHops([s, c]);
  HopsSchema.parse(hops);
  t.equal(hops.length, 1);
  const h = hops[0]!;
  t.equal(h.status, 'matched');
  t.equal(h.hop, 1);
  t.same(h.matched_by, ['request_id', 'server_address', 'client_address']);
  t.equal(h.client!.flow_id, c.id);
  t.equal(h.server!.flow_id, s.id);
  t.equal(h.client!.destination_principal, CART, 'client view: who answered');
  t.equal(h.server!.source_principal, FRONT, 'server view: who called');
  t.equal(h.server!.mtls, true);
  t.equal(h.client!.tls_version, 'TLSv1.3');
  t.same(h.flow_ids, [c.id, s.id]);
  t.equal(h.reason, null);
  t.equal(h.start_time, c.start_time);
});

t.test('gateway -> sidecar -> sidecar chain: hops in order, the gateway on both sides', async (t) => {
  const gwReporter = { kind: 'gateway' as const, pod: 'istio-ingressgateway-1', namespace: 'istio-system', container: null, labels: null };
  // The gateway's line: downstream from the internet, upstream to frontend.
  const gw = stored({
    reporter: gwReporter, direction: 'outbound', request_id: 'chain', start_time: at(0), duration: 50, response_code: 200,
    downstream_local_address: '10.0.0.2:8443', downstream_remote_address: '203.0.113.9:55000', x_forwarded_for: '198.51.100.1',
    upstream_host: '10.0.0.5:8080', upstream_local_address: '10.0.0.2:33000', source_principal: GW, destination_principal: FRONT,
  });
  const frontIn = server('chain', '10.0.0.2', 33000, '10.0.0.5:8080', 2, { source_principal: GW, duration: 45 });
  const frontOut = client('chain', '10.0.0.5', 41000, '10.0.0.7:8080', 5, { source_principal: FRONT, duration: 30 });
  const cartIn = server('chain', '10.0.0.5', 41000, '10.0.0.7:8080', 7, { duration: 25 });
  const hops = joinHops([cartIn, frontOut, frontIn, gw]);
  HopsSchema.parse(hops);
  t.same(hops.map((h) => [h.hop, h.status]), [[1, 'server_only'], [2, 'matched'], [3, 'matched']]);
  t.equal(hops[0]!.server!.flow_id, gw.id, 'the hop into the gateway has no client line');
  t.match(hops[0]!.reason, /outside the mesh/);
  t.same(hops[1]!.flow_ids, [gw.id, frontIn.id], 'gateway -> frontend');
  t.equal(hops[1]!.server!.source_principal, GW);
  t.same(hops[2]!.flow_ids, [frontOut.id, cartIn.id], 'frontend -> cart, not gateway -> cart: addresses disambiguate a shared request id');
});

t.test('retries: the client line joins the final attempt; earlier attempts are half-hops saying so', async (t) => {
  const c = client('retry', '10.0.0.5', 41000, '10.0.0.7:8080', 0, { duration: 120, response_code: 200, response_flags: [] });
  // Attempt 1 went to another replica, attempt 2 to the same replica on the same connection.
  const a1 = server('retry', '10.0.0.5', 40999, '10.0.0.8:8080', 2, { duration: 30, response_code: 503, destination_service: 'cart.shop.svc.cluster.local' });
  const a2 = server('retry', '10.0.0.5', 41000, '10.0.0.7:8080', 40, { duration: 30, response_code: 503, destination_service: 'cart.shop.svc.cluster.local' });
  const a3 = server('retry', '10.0.0.5', 41000, '10.0.0.7:8080', 90, { duration: 28, response_code: 200, destination_service: 'cart.shop.svc.cluster.local' });
  const hops = joinHops([a2, c, a3, a1]);
  HopsSchema.parse(hops);
  const matched = hops.filter((h) => h.status === 'matched');
  t.equal(matched.length, 1);
  t.equal(matched[0]!.server!.flow_id, a3.id, 'joined with the final attempt (same response, ends with the client)');
  const halves = hops.filter((h) => h.status === 'server_only');
  t.same(halves.map((h) => h.server!.flow_id).sort(), [a1.id, a2.id].sort());
  for (const h of halves) t.match(h.reason, /earlier attempt of a retried request/);
  t.same(hops.map((h) => h.hop), [1, 2, 3], 'one matched hop and two half-hops, numbered in time order');
});

t.test('unmatched lines are kept as half-hops with a reason', async (t) => {
  const noServer = client('lonely', '10.0.0.5', 41001, '10.0.0.9:8080', 0);
  const passthrough = client('ext', '10.0.0.5', 41002, '93.184.216.34:443', 1, { upstream_cluster: 'PassthroughCluster' });
  const failed = client('uh', '10.0.0.5', 41003, '10.0.0.9:8080', 2, { upstream_host: null, response_code: 503, response_flags: ['UH'] });
  const noClient = server('from-outside', '10.9.9.9', 5000, '10.0.0.7:8080', 3);
  const differentRid = server('other', '10.0.0.5', 41001, '10.0.0.9:8080', 1);
  const zt = stored({ reporter: { kind: 'ztunnel', pod: null, namespace: null, container: null, labels: null }, direction: 'inbound', start_time: at(4) });
  const unknown = stored({ direction: null, start_time: at(5) });
  const hops = joinHops([noServer, passthrough, failed, noClient, differentRid, zt, unknown]);
  HopsSchema.parse(hops);
  const byFlow = (id: number) => hops.find((h) => h.flow_ids.includes(id))!;
  t.equal(byFlow(noServer.id).status, 'client_only', 'a different request id on the same addresses does not match');
  t.match(byFlow(noServer.id).reason, /no inbound line matched/);
  t.equal(byFlow(differentRid.id).status, 'server_only');
  t.match(byFlow(differentRid.id).reason, /no outbound line carries this request id/);
  t.match(byFlow(passthrough.id).reason, /outside the mesh \(PassthroughCluster\)/);
  t.match(byFlow(failed.id).reason, /reached no server \(response flags UH\)/);
  t.match(byFlow(noClient.id).reason, /caller has no sidecar/);
  t.equal(byFlow(zt.id).status, 'unplaced');
  t.match(byFlow(zt.id).reason, /ztunnel/);
  t.equal(byFlow(unknown.id).status, 'unplaced');
  t.match(byFlow(unknown.id).reason, /direction is unknown/);
  t.equal(hops.length, 7, 'every flow kept');
});

t.test('without request ids: the connection and time decide', async (t) => {
  const c1 = client(null, '10.0.0.5', 42000, '10.0.0.7:5432', 0, { destination_principal: DB });
  const c2 = client(null, '10.0.0.5', 42001, '10.0.0.7:5432', 1000);
  const s2 = server(null, '10.0.0.5', 42001, '10.0.0.7:5432', 1001);
  const s1 = server(null, '10.0.0.5', 42000, '10.0.0.7:5432', 1);
  const late = server(null, '10.0.0.5', 42000, '10.0.0.7:5432', 60_000);
  const hops = joinHops([c1, c2, s1, s2, late]);
  const pairs = hops.filter((h) => h.status === 'matched').map((h) => h.flow_ids);
  t.same(pairs, [[c1.id, s1.id], [c2.id, s2.id]]);
  t.same(hops.find((h) => h.flow_ids.includes(late.id))!.status, 'server_only', 'a line a minute later is not the same call');
  t.same(joinHops([]), []);
});
