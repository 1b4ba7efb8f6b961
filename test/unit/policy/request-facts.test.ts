import t from 'tap';
import { emptyFlow } from '../../../schemas/flow.js';
import { RequestFactsSchema, requestFactsFromFlow, unknownRequestFacts } from '../../../src/policy/request-facts.js';
import { evaluateAuthorization } from '../../../src/policy/authorization.js';
import { policiesFromYaml } from '../../helpers/policy-fixtures.js';

t.test('an inbound HTTP flow with identity maps to known facts', async (t) => {
  const flow = {
    ...emptyFlow('istio-json'),
    method: 'POST',
    path: '/orders?id=1',
    protocol: 'HTTP/1.1',
    authority: 'orders.shop:8080',
    downstream_remote_address: '10.1.2.3:51234',
    downstream_local_address: '10.1.9.9:8080',
    user_agent: 'curl/8.5.0',
    mtls: true,
    source_principal: 'spiffe://cluster.local/ns/web/sa/frontend',
    source_namespace: 'web',
    source_namespace_from: 'source_principal',
    requested_server_name: 'outbound_.8080_._.orders.shop.svc.cluster.local',
  };
  const f = requestFactsFromFlow(flow);
  t.same(f, {
    protocol: 'http',
    peerAuthenticated: true,
    sourcePrincipal: 'spiffe://cluster.local/ns/web/sa/frontend',
    sourceNamespace: 'web',
    sourceIp: '10.1.2.3',
    remoteIp: null,
    destinationIp: '10.1.9.9',
    destinationPort: 8080,
    host: 'orders.shop:8080',
    method: 'POST',
    path: '/orders?id=1',
    headers: { 'user-agent': 'curl/8.5.0' },
    headersComplete: false,
    requestPrincipal: null,
    sni: 'outbound_.8080_._.orders.shop.svc.cluster.local',
  });
  t.ok(RequestFactsSchema.safeParse(f).success);
});

t.test('TCP, plaintext and unknown cases never invent facts', async (t) => {
  const tcp = requestFactsFromFlow({ ...emptyFlow('istio-text-1.24'), mtls: false, source_principal: 'leftover', destination_port: 9000 });
  t.equal(tcp.protocol, 'tcp');
  t.equal(tcp.peerAuthenticated, false);
  t.equal(tcp.sourcePrincipal, null, 'plaintext: no peer identity');
  t.equal(tcp.destinationPort, 9000);
  const custom = requestFactsFromFlow({ ...emptyFlow('custom-template'), source_namespace: 'web', source_namespace_from: 'reporter' });
  t.equal(custom.protocol, null, 'a custom template without method may simply not log it');
  t.equal(custom.peerAuthenticated, null);
  t.equal(custom.sourceNamespace, null, 'namespace not from the peer identity is not used');
  t.equal(requestFactsFromFlow({ ...emptyFlow('istio-json'), downstream_local_address: '[fd00::1]:8443' }).destinationPort, 8443);
});

t.test('schema refuses a principal on a plaintext peer', async (t) => {
  t.notOk(RequestFactsSchema.safeParse({ ...unknownRequestFacts(), peerAuthenticated: false, sourcePrincipal: 'x' }).success);
  t.ok(RequestFactsSchema.safeParse(unknownRequestFacts()).success);
});

t.test('end to end: a flow judged against a DENY policy', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-web-posts, namespace: shop }
spec:
  action: DENY
  rules:
  - from: [ { source: { namespaces: ["web"] } } ]
    to: [ { operation: { methods: ["POST"], paths: ["/orders"] } } ]
`);
  const flow = {
    ...emptyFlow('istio-json'),
    method: 'POST',
    path: '/orders?id=1',
    mtls: true,
    source_principal: 'spiffe://cluster.local/ns/web/sa/frontend',
  };
  const shop = { namespace: 'shop', labels: null };
  t.equal(evaluateAuthorization(set, shop, requestFactsFromFlow(flow)).decision, 'deny');
  t.equal(evaluateAuthorization(set, shop, requestFactsFromFlow({ ...flow, mtls: null, source_principal: null })).decision, 'unknown');
});
