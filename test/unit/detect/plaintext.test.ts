import t from 'tap';
import { plaintextDetector } from '../../../src/detect/plaintext.detector.js';
import { batch, context, inboundFlow, plaintextFlow, PERMISSIVE_SHOP, STRICT_SHOP } from './fixtures.js';

t.test('plaintext served at a STRICT workload is critical; refused is high', (t) => {
  const ctx = context(STRICT_SHOP);
  const served = plaintextDetector(batch(plaintextFlow()), ctx);
  t.equal(served.observations.length, 1);
  const o = served.observations[0]!;
  t.equal(o.severity, 'critical');
  t.equal(o.key_source, 'ip:10.3.0.20');
  t.equal(o.key_destination, 'shop/cart');
  t.equal(o.destination_port, 8080);
  t.equal(o.evidence.mode, 'STRICT');
  t.equal(o.evidence.mode_source, 'shop/default');
  t.equal(o.evidence.workload_labels_from, 'inferred', 'labels inferred from the service name, and said so');
  t.match(String(o.evidence.workload_inference), /app=cart/);
  const refused = plaintextDetector(batch(plaintextFlow({ response_code: 0, bytes_sent: 0, method: null, protocol: null, response_flags: ['DC'] })), ctx);
  t.equal(refused.observations[0]!.severity, 'high');
  t.end();
});

t.test('PERMISSIVE is medium, no policies is low, DISABLE is low', (t) => {
  t.equal(plaintextDetector(batch(plaintextFlow()), context(PERMISSIVE_SHOP)).observations[0]!.severity, 'medium');
  const none = plaintextDetector(batch(plaintextFlow()), context(null)).observations[0]!;
  t.equal(none.severity, 'low');
  t.equal(none.evidence.mode, 'unknown');
  t.equal(plaintextDetector(batch(plaintextFlow()), context(STRICT_SHOP.replace('STRICT', 'DISABLE'))).observations[0]!.severity, 'low');
  t.end();
});

t.test('an uncertain mode (selector policy, labels unknown) is medium and lists the possible modes', (t) => {
  const yaml = `${PERMISSIVE_SHOP}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: cart-strict, namespace: shop }
spec: { selector: { matchLabels: { app: cart } }, mtls: { mode: STRICT } }
`;
  // No service, no authority host, no pod, no service account: nothing to infer labels from.
  const f = plaintextFlow({ authority: '10.1.0.11:8080', destination_service_account: null });
  const o = plaintextDetector(batch(f), context(yaml)).observations[0]!;
  t.equal(o.severity, 'medium');
  t.equal(o.evidence.mode, 'uncertain');
  t.same(o.evidence.possible_modes, ['PERMISSIVE', 'STRICT']);
  // With labels from the envelope the answer is certain again.
  const labelled = plaintextFlow({ authority: '10.1.0.11:8080', reporter: { kind: 'sidecar', pod: 'cart-1', namespace: 'shop', container: null, labels: { app: 'cart' } } });
  const o2 = plaintextDetector(batch(labelled), context(yaml)).observations[0]!;
  t.equal(o2.severity, 'critical');
  t.equal(o2.evidence.workload_labels_from, 'envelope');
  t.end();
});

t.test('unknown verdicts are counted, not reported; mTLS is not a finding', (t) => {
  const r = plaintextDetector(batch(inboundFlow({ mtls: null, mtls_evidence: 'no TLS fields' }), inboundFlow(), inboundFlow({ mtls: null })), context(STRICT_SHOP));
  t.equal(r.observations.length, 0);
  t.equal(r.counters.unknown_verdict, 2);
  t.equal(r.counters.mtls, 1);
  t.end();
});

t.test('one-way TLS is said so in the title and the evidence', (t) => {
  const f = plaintextFlow({ mtls_evidence: 'downstream_tls_version TLSv1.2 but downstream_peer_fingerprint_256 is "-": one-way TLS, no client certificate', tls_version: 'TLSv1.2' });
  const o = plaintextDetector(batch(f), context(STRICT_SHOP)).observations[0]!;
  t.equal(o.evidence.one_way_tls, true);
  t.match(o.title, /One-way TLS/);
  t.equal(plaintextDetector(batch(plaintextFlow()), context(STRICT_SHOP)).observations[0]!.evidence.one_way_tls, false);
  t.end();
});

t.test('health checks and allow-listed callers are counted, not reported', (t) => {
  const probe = plaintextFlow({ user_agent: 'kube-probe/1.29' }, '10.0.0.1');
  const legacy = plaintextFlow({}, '10.3.0.30');
  const r = plaintextDetector(batch(probe, legacy), context(STRICT_SHOP, { allow: { plaintext_sources: ['10.3.0.0/24'] } }));
  t.equal(r.observations.length, 0);
  t.equal(r.counters.health_check, 1);
  t.equal(r.counters.allow_listed, 1);
  // Outside the CIDR it is reported.
  t.equal(plaintextDetector(batch(plaintextFlow({}, '10.4.0.1')), context(STRICT_SHOP, { allow: { plaintext_sources: ['10.3.0.0/24'] } })).observations.length, 1);
  t.end();
});

t.test('outbound lines to external hosts are not mesh hops', (t) => {
  const f = plaintextFlow({ direction: 'outbound', upstream_cluster: 'PassthroughCluster', downstream_local_address: '1.2.3.4:443' });
  t.equal(plaintextDetector(batch(f), context(STRICT_SHOP)).observations.length, 0);
  t.end();
});
