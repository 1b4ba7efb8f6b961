import t from 'tap';
import { deniedEgressDetector } from '../../../src/detect/denied-egress.detector.js';
import { unregisteredEgressDetector } from '../../../src/detect/unregistered-egress.detector.js';
import { batch, context, outboundFlow } from './fixtures.js';

const blackhole = outboundFlow('cart', { upstream_cluster: 'BlackHoleCluster', response_flags: ['UH'], downstream_local_address: '142.250.74.36:443', requested_server_name: 'www.googleapis.com' });
const blockAll = outboundFlow('catalog', { method: 'POST', path: '/x', response_code: 502, route_name: 'block_all', authority: 'api.evil.example', downstream_local_address: '93.184.216.34:80' });
const egressGw = outboundFlow('x', {
  response_code: 403, method: 'PUT', authority: 'upload.example.net', requested_server_name: 'upload.example.net', downstream_local_address: '10.0.5.6:8443',
  source_principal: 'spiffe://cluster.local/ns/shop/sa/checkout', direction: 'outbound',
  reporter: { kind: 'gateway', pod: 'istio-egressgateway-5c9d7f6b8-k3j9z', namespace: 'istio-system', container: null, labels: { app: 'istio-egressgateway', istio: 'egressgateway' } },
});
const passthrough = outboundFlow('checkout', { upstream_cluster: 'PassthroughCluster', downstream_local_address: '104.20.0.1:443', requested_server_name: 'pastebin.com', bytes_sent: 10 });

t.test('denied-egress: BlackHoleCluster, block_all 502, 403 at an egress gateway', (t) => {
  const r = deniedEgressDetector(batch(blackhole, blockAll, egressGw, passthrough), context(null));
  t.equal(r.observations.length, 3);
  const [a, b, c] = r.observations;
  t.match(a, { severity: 'medium', key_source: 'shop/cart', key_destination: 'www.googleapis.com', destination_port: 443, source_workload: 'cart' });
  t.match(a!.evidence, { host_from: 'requested_server_name', ip: '142.250.74.36' });
  t.match(b, { key_source: 'shop/catalog', key_destination: 'api.evil.example', destination_port: 80 });
  t.match(c, { key_source: 'spiffe://cluster.local/ns/shop/sa/checkout', key_destination: 'upload.example.net' });
  // A 403 at an ordinary sidecar is not denied egress.
  t.equal(deniedEgressDetector(batch(outboundFlow('x', { response_code: 403, authority: 'a.b' })), context(null)).observations.length, 0);
  t.end();
});

const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: paste, namespace: shop }
spec: { hosts: ["pastebin.com"], location: MESH_EXTERNAL, resolution: DNS, ports: [{ number: 443, name: tls, protocol: TLS }] }
`;

t.test('unregistered-egress: passthrough to a host no ServiceEntry covers is info', (t) => {
  const r = unregisteredEgressDetector(batch(passthrough, blackhole), context(null));
  t.equal(r.observations.length, 1);
  t.match(r.observations[0], { severity: 'info', key_source: 'shop/checkout', key_destination: 'pastebin.com', destination_port: 443 });
  const covered = unregisteredEgressDetector(batch(passthrough), context(SE));
  t.equal(covered.observations.length, 0);
  t.equal(covered.counters.covered, 1);
  const other = unregisteredEgressDetector(batch(passthrough), context(SE.replace('pastebin.com', 'example.org')));
  t.equal(other.observations[0]!.evidence.service_entry, 'no ServiceEntry covers it');
  const allowed = unregisteredEgressDetector(batch(passthrough), context(null, { allow: { egress_hosts: ['*.com'] } }));
  t.equal(allowed.observations.length, 0);
  t.end();
});
