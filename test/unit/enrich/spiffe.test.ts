import t from 'tap';
import { fromIstioPrincipal, parseSpiffeId, toIstioPrincipal } from '../../../src/enrich/spiffe.js';

t.test('Kubernetes-form SPIFFE IDs are split into trust domain, namespace and service account', async (t) => {
  const r = parseSpiffeId('spiffe://mesh.example.org/ns/payments/sa/ledger-writer');
  t.same(r, {
    valid: true,
    id: 'spiffe://mesh.example.org/ns/payments/sa/ledger-writer',
    trust_domain: 'mesh.example.org',
    path: '/ns/payments/sa/ledger-writer',
    namespace: 'payments',
    service_account: 'ledger-writer',
    san_count: 1,
  });
});

t.test('valid non-Kubernetes paths have no namespace or service account', async (t) => {
  for (const id of ['spiffe://td.internal/workload/api_v2', 'spiffe://td.internal', 'spiffe://td.internal/ns/a/sa/b/extra', 'spiffe://td.internal/ns/a']) {
    const r = parseSpiffeId(id);
    t.ok(r.valid, id);
    if (r.valid) {
      t.equal(r.namespace, null, id);
      t.equal(r.service_account, null, id);
    }
  }
  const bare = parseSpiffeId('spiffe://td.internal');
  t.equal(bare.valid && bare.path, '');
});

t.test('malformed IDs are kept raw with a reason code', async (t) => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['-', 'empty'],
    ['SPIFFE://td/ns/a/sa/b', 'scheme_not_lowercase'],
    ['https://td/ns/a/sa/b', 'bad_scheme'],
    ['spiffe:///ns/a/sa/b', 'missing_trust_domain'],
    ['spiffe://Cluster.Local/ns/a/sa/b', 'bad_trust_domain'],
    ['spiffe://td$x/ns/a', 'bad_trust_domain'],
    ['spiffe://user@td/ns/a', 'has_userinfo'],
    ['spiffe://td:8443/ns/a', 'has_port'],
    ['spiffe://td/ns/a?x=1', 'has_query'],
    ['spiffe://td/ns/a#frag', 'has_fragment'],
    ['spiffe://td/ns//sa/b', 'empty_segment'],
    ['spiffe://td/ns/./sa', 'dot_segment'],
    ['spiffe://td/ns/../sa', 'dot_segment'],
    ['spiffe://td/ns/a/', 'trailing_slash'],
    ['spiffe://td/ns/a%20b', 'bad_path_char'],
    ['spiffe://td/ns/ä', 'bad_path_char'],
    [`spiffe://td/${'a'.repeat(2100)}`, 'too_long'],
  ];
  for (const [text, reason] of cases) {
    const r = parseSpiffeId(text);
    t.equal(r.valid, false, text.slice(0, 40));
    if (!r.valid) {
      t.equal(r.reason, reason, text.slice(0, 40));
      t.equal(r.raw, text);
    }
  }
});

t.test('a path at exactly the 2048-byte limit is still valid', async (t) => {
  const prefix = 'spiffe://td/';
  const id = prefix + 'x'.repeat(2048 - prefix.length);
  t.equal(Buffer.byteLength(id), 2048);
  t.ok(parseSpiffeId(id).valid);
  t.notOk(parseSpiffeId(id + 'x').valid);
});

t.test('a comma-separated SAN list yields its SPIFFE ID and the SAN count', async (t) => {
  const r = parseSpiffeId('https://portal.example.com/x,spiffe://td.local/ns/web/sa/frontend, urn:example:other');
  t.ok(r.valid);
  if (r.valid) {
    t.equal(r.id, 'spiffe://td.local/ns/web/sa/frontend');
    t.equal(r.san_count, 3);
    t.equal(r.namespace, 'web');
  }
  const none = parseSpiffeId('https://a.example,urn:x:y');
  t.same(none, { valid: false, raw: 'https://a.example,urn:x:y', reason: 'no_spiffe_san' });
  const badOnly = parseSpiffeId('urn:x,spiffe://td/ns/a/');
  t.equal(!badOnly.valid && badOnly.reason, 'trailing_slash');
});

t.test('Istio policy principals omit the scheme and convert both ways', async (t) => {
  const r = parseSpiffeId('spiffe://cluster.local/ns/shop/sa/cart');
  t.ok(r.valid);
  if (r.valid) t.equal(toIstioPrincipal(r), 'cluster.local/ns/shop/sa/cart');
  const back = fromIstioPrincipal('cluster.local/ns/shop/sa/cart');
  t.equal(back.valid && back.id, 'spiffe://cluster.local/ns/shop/sa/cart');
  t.notOk(fromIstioPrincipal('cluster.local/ns/shop/sa/').valid);
});
