import t from 'tap';
import { applyDirection, deriveDirection, parseIstioCluster, parseIstioSni, splitHostPort } from '../../../src/enrich/direction.js';
import { emptyFlow } from '../../../schemas/flow.js';

type In = Parameters<typeof deriveDirection>[0];
const none: In = { upstream_cluster: null, requested_server_name: null, route_name: null, authority: null, upstream_host: null, downstream_local_address: null };

const table: [string, Partial<In>, ReturnType<typeof deriveDirection>][] = [
  ['outbound cluster', { upstream_cluster: 'outbound|9080||reviews.default.svc.cluster.local' },
    { direction: 'outbound', destination_service: 'reviews.default.svc.cluster.local', destination_port: 9080 }],
  ['outbound cluster with subset', { upstream_cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local' },
    { direction: 'outbound', destination_service: 'reviews.default.svc.cluster.local', destination_port: 9080 }],
  ['outbound, ;-delimited observability name', { upstream_cluster: 'outbound;9080;;reviews.default.svc.cluster.local;' },
    { direction: 'outbound', destination_service: 'reviews.default.svc.cluster.local', destination_port: 9080 }],
  ['outbound, | name with trailing ;', { upstream_cluster: 'outbound|443||api.example.com;' },
    { direction: 'outbound', destination_service: 'api.example.com', destination_port: 443 }],
  ['inbound with mTLS SNI', { upstream_cluster: 'inbound|8080||', requested_server_name: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' },
    { direction: 'inbound', destination_service: 'httpbin.foo.svc.cluster.local', destination_port: 8080 }],
  ['inbound, SNI with subset', { upstream_cluster: 'inbound|9080||', requested_server_name: 'outbound_.9080_.v1_.reviews.default.svc.cluster.local' },
    { direction: 'inbound', destination_service: 'reviews.default.svc.cluster.local', destination_port: 9080 }],
  ['inbound plaintext (no SNI)', { upstream_cluster: 'inbound|8080||', requested_server_name: null },
    { direction: 'inbound', destination_service: null, destination_port: 8080 }],
  ['old inbound cluster name, no SNI', { upstream_cluster: 'inbound|8000|http|httpbin.default.svc.cluster.local' },
    { direction: 'inbound', destination_service: 'httpbin.default.svc.cluster.local', destination_port: 8000 }],
  ['inbound passthrough', { upstream_cluster: 'InboundPassthroughClusterIpv4', downstream_local_address: '10.0.0.5:7070' },
    { direction: 'inbound', destination_service: null, destination_port: 7070 }],
  ['inbound passthrough IPv6 with SNI', { upstream_cluster: 'InboundPassthroughClusterIpv6', downstream_local_address: '[fd00::5]:7070', requested_server_name: 'outbound_.7070_._.x.y.svc.cluster.local' },
    { direction: 'inbound', destination_service: 'x.y.svc.cluster.local', destination_port: 7070 }],
  ['passthrough egress via authority', { upstream_cluster: 'PassthroughCluster', authority: 'api.example.com', upstream_host: '93.184.216.34:80' },
    { direction: 'outbound', destination_service: 'api.example.com', destination_port: 80 }],
  ['passthrough egress TLS: SNI wins', { upstream_cluster: 'PassthroughCluster', requested_server_name: 'www.example.org', upstream_host: '93.184.216.34:443' },
    { direction: 'outbound', destination_service: 'www.example.org', destination_port: 443 }],
  ['passthrough TCP: only the IP', { upstream_cluster: 'PassthroughCluster', upstream_host: '[2001:db8::1]:5432' },
    { direction: 'outbound', destination_service: '2001:db8::1', destination_port: 5432 }],
  ['blackhole: original destination', { upstream_cluster: 'BlackHoleCluster', downstream_local_address: '203.0.113.7:443', authority: 'evil.example' },
    { direction: 'outbound', destination_service: 'evil.example', destination_port: 443 }],
  ['no cluster, route allow_any', { route_name: 'allow_any', upstream_host: '198.51.100.2:8443' },
    { direction: 'outbound', destination_service: '198.51.100.2', destination_port: 8443 }],
  ['no cluster, route block_all', { route_name: 'block_all', downstream_local_address: '198.51.100.2:25', authority: 'smtp.example:25' },
    { direction: 'outbound', destination_service: 'smtp.example', destination_port: 25 }],
  ['no cluster but mesh SNI: inbound', { requested_server_name: 'outbound_.443_._.istio-egressgateway.istio-system.svc.cluster.local' },
    { direction: 'inbound', destination_service: 'istio-egressgateway.istio-system.svc.cluster.local', destination_port: 443 }],
  ['plain Envoy cluster', { upstream_cluster: 'service_backend' }, { direction: null, destination_service: null, destination_port: null }],
  ['nothing', {}, { direction: null, destination_service: null, destination_port: null }],
  ['bad port in cluster', { upstream_cluster: 'outbound|99999||a.b' }, { direction: 'outbound', destination_service: 'a.b', destination_port: null }],
];

for (const [name, input, want] of table) {
  t.same(deriveDirection({ ...none, ...input }), want, name);
}

t.test('helpers', async (t) => {
  t.same(parseIstioSni('outbound_.8000_._.httpbin.foo.svc.cluster.local'), { port: 8000, subset: null, host: 'httpbin.foo.svc.cluster.local' });
  t.equal(parseIstioSni('www.example.com'), null);
  t.equal(parseIstioSni('outbound_.8000'), null);
  t.equal(parseIstioCluster('PassthroughCluster'), null);
  t.same(splitHostPort('[::1]:80'), { host: '::1', port: 80 });
  t.same(splitHostPort('fd00::1'), { host: 'fd00::1', port: null });
  t.same(splitHostPort('host'), { host: 'host', port: null });
});

t.test('applyDirection keeps values a parser already set', async (t) => {
  const f = emptyFlow('ztunnel-plain');
  f.direction = 'inbound';
  f.upstream_cluster = 'outbound|80||a.b';
  applyDirection(f);
  t.equal(f.direction, 'inbound');
  t.equal(f.destination_service, 'a.b');
  t.equal(f.destination_port, 80);
});
