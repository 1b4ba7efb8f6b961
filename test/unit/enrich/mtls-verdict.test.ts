import t from 'tap';
import { emptyFlow, type Flow } from '../../../schemas/flow.js';
import { hopSide, isSidecarInbound, judgeMtls } from '../../../src/enrich/mtls-verdict.js';

type FlowPatch = Omit<Partial<Flow>, 'reporter'> & { reporter?: Partial<Flow['reporter']> };

function flow(patch: FlowPatch, format = 'istio-text-1.24'): Flow {
  const base = emptyFlow(format);
  return { ...base, ...patch, reporter: { ...base.reporter, ...patch.reporter }, extra: { ...patch.extra } };
}
const inboundSidecar: FlowPatch = {
  direction: 'inbound',
  upstream_cluster: 'inbound|9090||',
  downstream_remote_address: '10.8.3.14:51822',
  reporter: { kind: 'sidecar' },
};
const outboundSidecar: FlowPatch = {
  direction: 'outbound',
  upstream_cluster: 'outbound|9090||orders.shop.svc.cluster.local',
  downstream_remote_address: '10.8.3.14:51822',
  reporter: { kind: 'sidecar' },
};

t.test('a1: a downstream peer URI SAN on an inbound line proves mTLS', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, extra: { downstream_peer_uri_san: 'spiffe://td/ns/a/sa/b', downstream_tls_version: 'TLSv1.3', downstream_tls_cipher: 'TLS_AES_128_GCM_SHA256' } }));
  t.equal(v.mtls, true);
  t.match(v.evidence, /^downstream_peer_uri_san/);
  t.equal(v.tls_version, 'TLSv1.3');
  t.equal(v.tls_cipher, 'TLS_AES_128_GCM_SHA256');
});

t.test('a1: an upstream peer URI SAN on an outbound line proves mTLS; the downstream side is ignored', async (t) => {
  const v = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_peer_uri_san: 'spiffe://td/ns/shop/sa/orders', upstream_tls_version: 'TLSv1.2', downstream_tls_version: '-' } }));
  t.equal(v.mtls, true);
  t.match(v.evidence, /^upstream_peer_uri_san/);
  t.equal(v.tls_version, 'TLSv1.2');
});

t.test('a1: a malformed peer SAN still proves a peer certificate, and says it is malformed', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, extra: { downstream_peer_uri_san: 'spiffe://td/ns//sa/x' } }));
  t.equal(v.mtls, true);
  t.match(v.evidence, /not a valid SPIFFE ID: empty_segment/);
});

t.test('a2: another peer-certificate field proves mTLS', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, extra: { downstream_peer_uri_san: '-', downstream_peer_fingerprint_256: 'ab12cd' } }));
  t.equal(v.mtls, true);
  t.match(v.evidence, /downstream_peer_fingerprint_256/);
});

t.test('a2/a6 upstream: our own client certificate proves mTLS, the server certificate alone does not', async (t) => {
  const ours = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_tls_version: 'TLSv1.3', upstream_local_uri_san: 'spiffe://td/ns/a/sa/b' } }));
  t.equal(ours.mtls, true);
  t.match(ours.evidence, /^upstream_local_uri_san/);
  const serverOnly = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_tls_version: 'TLSv1.3', upstream_peer_subject: 'CN=api.partner.example' } }));
  t.equal(serverOnly.mtls, null);
  const oneWay = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_tls_version: 'TLSv1.2', upstream_peer_subject: 'CN=x', upstream_local_subject: '-' } }));
  t.equal(oneWay.mtls, false);
  t.match(oneWay.evidence, /upstream_local_subject is "-": one-way TLS/);
});

t.test('a3: an empty TLS version in the format proves no TLS on the judged side', async (t) => {
  const v = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_tls_version: '-', upstream_peer_uri_san: '-' } }));
  t.equal(v.mtls, false);
  t.match(v.evidence, /upstream_tls_version is "-"/);
});

t.test('a4: TLS without a client certificate is one-way TLS, not mTLS', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, extra: { downstream_tls_version: 'TLSv1.3', downstream_peer_fingerprint_256: '-' } }));
  t.equal(v.mtls, false);
  t.match(v.evidence, /one-way TLS/);
});

t.test('a5: TLS version alone on a sidecar inbound line is a labelled heuristic', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, extra: { downstream_tls_version: 'TLSv1.3' } }));
  t.equal(v.mtls, true);
  t.match(v.evidence, /^heuristic: downstream_tls_version TLSv1.3/);
});

t.test('a6: TLS version alone on an outbound line, or with an empty URI SAN, is not proof either way', async (t) => {
  const out = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_tls_version: 'TLSv1.3' } }));
  t.equal(out.mtls, null);
  t.match(out.evidence, /not proven/);
  const noSan = judgeMtls(flow({ ...inboundSidecar, extra: { downstream_tls_version: 'TLSv1.3', downstream_peer_uri_san: '-' } }));
  t.equal(noSan.mtls, null);
});

t.test('b: ztunnel identities prove mTLS; only inbound non-HBONE lines without them prove plaintext', async (t) => {
  const zt = (patch: FlowPatch) => flow({ reporter: { kind: 'ztunnel' }, ...patch }, 'ztunnel-plain');
  const withId = judgeMtls(zt({ direction: 'outbound', source_principal: 'spiffe://td/ns/a/sa/b', source_principal_from: 'ztunnel src.identity', extra: { message: 'connection complete' } }));
  t.equal(withId.mtls, true);
  t.match(withId.evidence, /src\.identity/);
  const plainIn = judgeMtls(zt({ direction: 'inbound', extra: { message: 'connection complete' } }));
  t.equal(plainIn.mtls, false);
  t.match(plainIn.evidence, /hbone/i);
  const hboneIn = judgeMtls(zt({ direction: 'inbound', extra: { message: 'connection complete', 'dst.hbone_addr': '10.1.1.1:80' } }));
  t.equal(hboneIn.mtls, null);
  const outNoId = judgeMtls(zt({ direction: 'outbound', extra: { message: 'connection complete' } }));
  t.equal(outNoId.mtls, null);
  const opened = judgeMtls(zt({ direction: 'inbound', extra: { message: 'connection opened' } }));
  t.equal(opened.mtls, null);
});

t.test('c: Istio mTLS SNI on a sidecar inbound line is a labelled heuristic', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, requested_server_name: 'outbound_.9090_.v2_.orders.shop.svc.cluster.local' }));
  t.equal(v.mtls, true);
  t.match(v.evidence, /^heuristic: .*ISTIO_MUTUAL to orders\.shop\.svc\.cluster\.local:9090/);
  t.equal(v.tls_version, null);
  const unknownReporter = judgeMtls(flow({ ...inboundSidecar, reporter: { kind: 'unknown' }, requested_server_name: 'outbound_.80_._.a.b.svc.cluster.local' }));
  t.equal(unknownReporter.mtls, true, 'an inbound| cluster identifies a sidecar');
  const noCluster = judgeMtls(flow({ direction: 'inbound', requested_server_name: 'outbound_.80_._.a.b.svc.cluster.local' }));
  t.equal(noCluster.mtls, true, 'Istio SNI on any inbound line: the caller spoke Istio mTLS');
  const outboundSni = judgeMtls(flow({ ...outboundSidecar, requested_server_name: 'outbound_.80_._.a.b.svc.cluster.local' }));
  t.equal(outboundSni.mtls, null, 'the SNI heuristic is about the inbound side only');
});

t.test('c: a foreign SNI on a sidecar inbound line stays unknown', async (t) => {
  const v = judgeMtls(flow({ ...inboundSidecar, requested_server_name: 'api.partner.example' }));
  t.equal(v.mtls, null);
});

t.test('d: no SNI on a sidecar inbound line from a non-loopback peer is plaintext', async (t) => {
  const v = judgeMtls(flow(inboundSidecar));
  t.equal(v.mtls, false);
  t.match(v.evidence, /no SNI from 10\.8\.3\.14:51822/);
});

t.test('d does not fire for loopback callers, unknown peers, or formats without SNI', async (t) => {
  t.equal(judgeMtls(flow({ ...inboundSidecar, downstream_remote_address: '127.0.0.6:41000' })).mtls, null);
  t.equal(judgeMtls(flow({ ...inboundSidecar, downstream_remote_address: '[::1]:41000' })).mtls, null);
  t.equal(judgeMtls(flow({ ...inboundSidecar, downstream_remote_address: null })).mtls, null);
  t.equal(judgeMtls(flow(inboundSidecar, 'envoy-template')).mtls, null, 'unknown format: SNI may simply not be logged');
  t.equal(judgeMtls(flow(inboundSidecar, 'envoy-template'), { carries: (op) => op === 'REQUESTED_SERVER_NAME' }).mtls, false, 'a template that carries SNI');
  t.equal(judgeMtls(flow(inboundSidecar, 'istio-text-1.24'), { carries: () => false }).mtls, null, 'carries overrides the format name');
});

t.test('stays null: outbound default-format lines, gateways, unknown direction', async (t) => {
  const out = judgeMtls(flow(outboundSidecar));
  t.equal(out.mtls, null);
  t.match(out.evidence, /outbound line/);
  const gw = judgeMtls(flow({ direction: 'inbound', reporter: { kind: 'gateway' }, downstream_remote_address: '203.0.113.9:5000', upstream_cluster: 'outbound|80||web.shop.svc.cluster.local' }));
  t.equal(gw.mtls, null, "a gateway's downstream is the outside world, never judged plaintext");
  t.match(gw.evidence, /gateway/);
  const unknown = judgeMtls(flow({ downstream_remote_address: '10.0.0.1:1234' }));
  t.equal(unknown.mtls, null);
});

t.test('a gateway is judged on its upstream even when the downstream shows a client certificate', async (t) => {
  const v = judgeMtls(flow({ reporter: { kind: 'gateway' }, direction: 'outbound', extra: { downstream_peer_uri_san: 'spiffe://partner/x', upstream_tls_version: '-' } }));
  t.equal(v.mtls, false);
  t.match(v.evidence, /^upstream_tls_version/);
});

t.test('hopSide and isSidecarInbound follow reporter and direction', async (t) => {
  t.equal(hopSide(flow(inboundSidecar)), 'downstream');
  t.equal(hopSide(flow(outboundSidecar)), 'upstream');
  t.equal(hopSide(flow({ reporter: { kind: 'gateway' }, direction: 'inbound' })), 'upstream');
  t.equal(hopSide(flow({ upstream_cluster: 'inbound|80||' })), 'downstream', 'direction from the cluster when not set');
  t.equal(hopSide(flow({})), null);
  t.notOk(isSidecarInbound(flow({ direction: 'inbound', reporter: { kind: 'gateway' } })));
  t.ok(isSidecarInbound(flow({ direction: 'inbound', upstream_cluster: 'InboundPassthroughClusterIpv4' })));
  t.notOk(isSidecarInbound(flow({ direction: 'inbound', upstream_cluster: 'outbound|1||x', reporter: { kind: 'unknown' } })));
});

t.test('egress through PassthroughCluster/BlackHoleCluster is not judged as plaintext even when the format carries upstream TLS fields', async (t) => {
  for (const cluster of ['PassthroughCluster', 'BlackHoleCluster']) {
    const v = judgeMtls(flow({ ...outboundSidecar, upstream_cluster: cluster, requested_server_name: 'www.googleapis.com', extra: { upstream_tls_version: '-', upstream_peer_uri_san: '-' } }, 'istio-json'));
    t.equal(v.mtls, null, cluster);
    t.match(v.evidence, /outside the mesh/);
  }
  // The same empty upstream TLS field on a mesh destination is plaintext as far as the proxy can see.
  const mesh = judgeMtls(flow({ ...outboundSidecar, extra: { upstream_tls_version: '-' } }, 'istio-json'));
  t.equal(mesh.mtls, false);
});
