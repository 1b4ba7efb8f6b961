import t from 'tap';
import { emptyFlow, FlowSchema, type Flow } from '../../../schemas/flow.js';
import { enrichIdentity } from '../../../src/enrich/identity.js';

type FlowPatch = Omit<Partial<Flow>, 'reporter'> & { reporter?: Partial<Flow['reporter']> };
function flow(patch: FlowPatch, format = 'envoy-template'): Flow {
  const base = emptyFlow(format);
  return { ...base, ...patch, reporter: { ...base.reporter, ...patch.reporter }, extra: { ...patch.extra } };
}

t.test('inbound: source from the downstream peer SAN, destination from the local SAN, with provenance', async (t) => {
  const input = flow({
    direction: 'inbound',
    upstream_cluster: 'inbound|8443||',
    reporter: { kind: 'sidecar' },
    extra: {
      downstream_peer_uri_san: 'spiffe://prod.example/ns/checkout/sa/cart',
      downstream_local_uri_san: 'spiffe://prod.example/ns/billing/sa/invoicer',
      downstream_tls_version: 'TLSv1.3',
      downstream_tls_cipher: 'TLS_CHACHA20_POLY1305_SHA256',
    },
  });
  const out = enrichIdentity(input);
  t.equal(out.source_principal, 'spiffe://prod.example/ns/checkout/sa/cart');
  t.equal(out.source_principal_from, 'downstream_peer_uri_san');
  t.equal(out.source_namespace, 'checkout');
  t.equal(out.source_namespace_from, 'downstream_peer_uri_san');
  t.equal(out.source_service_account, 'cart');
  t.equal(out.destination_principal, 'spiffe://prod.example/ns/billing/sa/invoicer');
  t.equal(out.destination_principal_from, 'downstream_local_uri_san');
  t.equal(out.destination_namespace, 'billing');
  t.equal(out.destination_service_account, 'invoicer');
  t.equal(out.mtls, true);
  t.equal(out.tls_version, 'TLSv1.3');
  t.equal(out.tls_cipher, 'TLS_CHACHA20_POLY1305_SHA256');
  t.ok(FlowSchema.safeParse(out).success);
  t.same(input.extra, { ...input.extra }, 'input untouched');
  t.equal(input.source_principal, null, 'pure: the input flow is not mutated');
});

t.test('outbound: destination from the upstream peer SAN, source from the upstream local SAN', async (t) => {
  const out = enrichIdentity(flow({
    direction: 'outbound',
    upstream_cluster: 'outbound|8443||invoicer.billing.svc.cluster.local',
    destination_service: 'invoicer.billing.svc.cluster.local',
    reporter: { kind: 'sidecar' },
    extra: {
      upstream_peer_uri_san: 'spiffe://prod.example/ns/billing/sa/invoicer',
      upstream_local_uri_san: 'spiffe://prod.example/ns/checkout/sa/cart',
      downstream_local_uri_san: 'spiffe://should/not/be/used',
      upstream_tls_version: 'TLSv1.3',
    },
  }));
  t.equal(out.destination_principal_from, 'upstream_peer_uri_san');
  t.equal(out.destination_namespace_from, 'upstream_peer_uri_san', 'SPIFFE beats the service-name inference');
  t.equal(out.source_principal, 'spiffe://prod.example/ns/checkout/sa/cart');
  t.equal(out.source_principal_from, 'upstream_local_uri_san');
  t.equal(out.mtls, true);
  t.equal(out.tls_version, 'TLSv1.3');
});

t.test('multi-SAN lists: the SPIFFE ID is used and the count recorded', async (t) => {
  const out = enrichIdentity(flow({
    direction: 'inbound', reporter: { kind: 'sidecar' },
    extra: { downstream_peer_uri_san: 'https://legacy.example/id,spiffe://td/ns/ops/sa/runner' },
  }));
  t.equal(out.source_principal, 'spiffe://td/ns/ops/sa/runner');
  t.equal(out.extra.source_principal_san_count, '2');
  t.equal(out.source_namespace, 'ops');
});

t.test('malformed SPIFFE IDs are kept raw and flagged, not guessed', async (t) => {
  const out = enrichIdentity(flow({
    direction: 'inbound', reporter: { kind: 'sidecar' },
    extra: { downstream_peer_uri_san: 'spiffe://TD/ns/ops/sa/runner' },
  }));
  t.equal(out.source_principal, 'spiffe://TD/ns/ops/sa/runner');
  t.equal(out.source_principal_from, 'downstream_peer_uri_san');
  t.equal(out.extra.source_principal_invalid, 'bad_trust_domain');
  t.equal(out.source_namespace, null, 'no namespace guessed from a malformed ID');
  t.equal(out.source_service_account, null);
  t.match(out.mtls_evidence, /not a valid SPIFFE ID/);
});

t.test('namespace inference is labelled and only fills gaps', async (t) => {
  const out = enrichIdentity(flow({
    direction: 'outbound',
    destination_service: 'ledger.finance.svc.cluster.local',
    reporter: { kind: 'sidecar', namespace: 'storefront' },
  }));
  t.equal(out.destination_namespace, 'finance');
  t.equal(out.destination_namespace_from, 'inferred:destination_service');
  t.equal(out.source_namespace, 'storefront');
  t.equal(out.source_namespace_from, 'inferred:reporter');
  t.equal(out.source_principal, null);

  const external = enrichIdentity(flow({ direction: 'outbound', destination_service: 'api.stripe.com', reporter: { kind: 'gateway', namespace: 'istio-egress' } }));
  t.equal(external.destination_namespace, null, 'an external host is not a namespace');
  t.equal(external.source_namespace, null, "a gateway's namespace is not its caller's");
});

t.test('principals a parser set (ztunnel) are kept; SPIFFE namespace wins over the reported one', async (t) => {
  const out = enrichIdentity(flow({
    direction: 'outbound',
    reporter: { kind: 'ztunnel' },
    source_principal: 'spiffe://cluster.local/ns/tools/sa/debug',
    source_principal_from: 'ztunnel src.identity',
    source_namespace: 'tools',
    source_namespace_from: 'ztunnel src.namespace',
    destination_principal: 'spiffe://cluster.local/ns/api/sa/gateway-svc',
    destination_principal_from: 'ztunnel dst.identity',
    destination_namespace: 'api-v2',
    destination_namespace_from: 'ztunnel dst.namespace',
    extra: { message: 'connection complete' },
  }, 'ztunnel-plain'));
  t.equal(out.source_principal_from, 'ztunnel src.identity');
  t.equal(out.source_namespace_from, 'ztunnel src.identity');
  t.equal(out.extra.source_namespace_reported, undefined, 'same namespace: nothing to report');
  t.equal(out.destination_namespace, 'api');
  t.equal(out.extra.destination_namespace_reported, 'api-v2 (ztunnel dst.namespace)');
  t.equal(out.mtls, true);
});

t.test('enrichIdentity is idempotent', async (t) => {
  const once = enrichIdentity(flow({
    direction: 'inbound', reporter: { kind: 'sidecar', namespace: 'x' }, requested_server_name: 'outbound_.80_._.a.x.svc.cluster.local',
    downstream_remote_address: '10.0.0.2:1', extra: { downstream_peer_uri_san: 'urn:a,spiffe://td/ns/y/sa/z' },
  }));
  t.same(enrichIdentity(once), once);
});

t.test('no identity operators and an outbound default line: everything stays null', async (t) => {
  const out = enrichIdentity(flow({ direction: 'outbound', upstream_cluster: 'outbound|80||web.shop.svc.cluster.local' }, 'istio-text-1.24'));
  t.equal(out.source_principal, null);
  t.equal(out.destination_principal, null);
  t.equal(out.mtls, null);
  t.type(out.mtls_evidence, 'string');
});
