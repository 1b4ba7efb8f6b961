import t from 'tap';
import { aggregate, findingKey } from '../../../src/detect/aggregate.js';
import type { Observation } from '../../../src/detect/context.js';
import { matchesAllowEntry } from '../../../src/detect/context.js';
import { destinationWorkload, shortName } from '../../../src/detect/workload.js';
import { inboundFlow, plaintextFlow } from './fixtures.js';

t.test('workload labels: envelope, then configured mapping, then inferred (and said so)', (t) => {
  const env = destinationWorkload(inboundFlow({ reporter: { kind: 'sidecar', pod: 'cart-1', namespace: 'shop', container: null, labels: { app: 'cart', v: '2' } } }), {});
  t.match(env, { labels: { app: 'cart', v: '2' }, labels_from: 'envelope', namespace: 'shop', name: 'cart' });
  const cfg = destinationWorkload(inboundFlow(), { 'cart.shop.svc.cluster.local': { app: 'cart', tier: 'web' } });
  t.match(cfg, { labels: { app: 'cart', tier: 'web' }, labels_from: 'config' });
  t.match(destinationWorkload(inboundFlow(), { cart: { app: 'kart' } }), { labels: { app: 'kart' }, labels_from: 'config' }, 'short names work too');
  const inferred = destinationWorkload(plaintextFlow(), {});
  t.match(inferred, { labels: { app: 'cart' }, labels_from: 'inferred', namespace: 'shop', service: 'cart.shop.svc.cluster.local' });
  t.match(inferred.inference, /inferred from the destination service/);
  // Outbound lines: the envelope describes the caller, never the destination.
  const out = destinationWorkload(inboundFlow({ direction: 'outbound', upstream_cluster: 'outbound|8080||cart.shop.svc.cluster.local', reporter: { kind: 'sidecar', pod: 'frontend-1', namespace: 'shop', container: null, labels: { app: 'frontend' } } }), {});
  t.equal(out.labels_from, 'inferred');
  t.equal(out.name, 'cart');
  t.equal(shortName('10.0.0.1:80'), null);
  t.end();
});

t.test('allow-list entries: principal, prefix, IP, CIDR', (t) => {
  t.ok(matchesAllowEntry('spiffe://td/ns/a/sa/b', 'spiffe://td/ns/a/sa/b', null));
  t.ok(matchesAllowEntry('spiffe://td/ns/a/*', 'spiffe://td/ns/a/sa/c', null));
  t.notOk(matchesAllowEntry('spiffe://td/ns/a/*', null, '10.0.0.1'));
  t.ok(matchesAllowEntry('10.3.0.0/24', null, '10.3.0.99'));
  t.notOk(matchesAllowEntry('10.3.0.0/24', null, '10.3.1.1'));
  t.ok(matchesAllowEntry('10.3.0.7', null, '10.3.0.7'));
  t.ok(matchesAllowEntry('0.0.0.0/0', null, '8.8.8.8'));
  t.end();
});

const obs = (o: Partial<Observation>): Observation => ({
  detector: 'plaintext', severity: 'medium', title: 't', key_source: 's', key_destination: 'd', source_principal: null, source_workload: null,
  source_namespace: null, destination_service: null, destination_namespace: null, destination: null, destination_port: 80, evidence: {},
  flow_id: 1, ts: 1000, request_id: null, ...o,
});

t.test('aggregation: one aggregate per key, max severity, bounded recent samples', (t) => {
  const list = [
    obs({ flow_id: 1, ts: 1000 }), obs({ flow_id: 2, ts: 3000, severity: 'critical', title: 'worst', evidence: { n: 2 } }), obs({ flow_id: 3, ts: 2000 }),
    obs({ flow_id: 4, ts: 4000, title: 'latest medium' }), obs({ flow_id: 5, key_source: 'other' }),
  ];
  const a = aggregate(list, 3);
  t.equal(a.length, 2);
  const first = a.find((x) => x.key === findingKey(list[0]!))!;
  t.equal(first.key, 'plaintext|s|d|80');
  t.match(first, { count: 4, severity: 'critical', title: 'worst', evidence: { n: 2 }, first_seen: 1000, last_seen: 4000 });
  t.same(first.sample_flow_ids, [2, 3, 4]);
  t.end();
});
