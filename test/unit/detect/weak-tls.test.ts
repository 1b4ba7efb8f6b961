import t from 'tap';
import { weakTlsDetector } from '../../../src/detect/weak-tls.detector.js';
import { batch, context, inboundFlow } from './fixtures.js';

const tls = (version: string, cipher = 'TLS_AES_128_GCM_SHA256') => inboundFlow({ extra: { downstream_tls_version: version, downstream_tls_cipher: cipher } });

t.test('versions below the minimum and weak ciphers are findings; modern TLS is not', (t) => {
  const r = weakTlsDetector(batch(tls('TLSv1.3'), tls('TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256'), tls('TLSv1.1'), tls('SSLv3'), tls('TLSv1.2', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA')), context(null));
  t.same(r.observations.map((o) => o.severity), ['medium', 'high', 'medium']);
  t.match(r.observations[0]!.evidence.problems, [/TLSv1.1 is below TLSv1.2/]);
  t.match(r.observations[2]!.evidence.problems, [/3DES/]);
  t.equal(r.observations[0]!.key_source, 'spiffe://cluster.local/ns/shop/sa/frontend');
  t.equal(r.observations[0]!.key_destination, 'shop/cart');
  t.end();
});

t.test('the minimum is configurable; lines without TLS facts are ignored', (t) => {
  t.equal(weakTlsDetector(batch(tls('TLSv1.2')), context(null, { weak_tls: { min_version: 'TLSv1.3' } })).observations.length, 1);
  t.equal(weakTlsDetector(batch(inboundFlow({ tls_version: null })), context(null)).observations.length, 0);
  t.equal(weakTlsDetector(batch(inboundFlow({ tls_version: 'TLSv1' })), context(null)).observations.length, 1, 'the tls_version column alone is enough');
  t.end();
});

t.test('at a gateway the downstream caller is the outside world, not the gateway identity', (t) => {
  const gw = inboundFlow({
    direction: 'outbound', upstream_cluster: 'outbound|8080||frontend.shop.svc.cluster.local', downstream_local_address: '10.0.5.5:8443',
    source_principal: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
    reporter: { kind: 'gateway', pod: 'istio-ingressgateway-1', namespace: 'istio-system', container: null, labels: { app: 'istio-ingressgateway' } },
    extra: { downstream_tls_version: 'TLSv1.1' },
  });
  const o = weakTlsDetector(batch(gw), context(null)).observations[0]!;
  t.equal(o.key_source, 'external-clients');
  t.equal(o.key_destination, 'istio-ingressgateway');
  t.equal(o.destination_port, 8443);
  t.end();
});
