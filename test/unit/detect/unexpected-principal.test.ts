import t from 'tap';
import { edgeKey, parseRbacDenied, unexpectedPrincipalDetector } from '../../../src/detect/unexpected-principal.detector.js';
import { memoryBaseline } from '../../../src/detect/context.js';
import { batch, CART_ALLOW_FRONTEND, context, FRONTEND, inboundFlow, plaintextFlow, T0 } from './fixtures.js';

const CATALOG = 'spiffe://cluster.local/ns/shop/sa/catalog';

t.test('parses the policy out of Envoy RBAC denial details', (t) => {
  t.same(parseRbacDenied('rbac_access_denied_matched_policy[ns[shop]-policy[cart-deny-delete]-rule[2]]'), { policy: 'shop/cart-deny-delete', rule: 2 });
  t.same(parseRbacDenied('rbac_access_denied_matched_policy[none]'), { policy: 'none', rule: null });
  t.same(parseRbacDenied('rbac_access_denied'), { policy: 'unknown', rule: null });
  t.equal(parseRbacDenied('via_upstream'), null);
  t.equal(parseRbacDenied(null), null);
  t.end();
});

t.test('answered although the policy denies it: high; RBAC 403: blocked attempt, medium', (t) => {
  const ctx = context(CART_ALLOW_FRONTEND);
  const answered = unexpectedPrincipalDetector(batch(inboundFlow({ source_principal: CATALOG })), ctx).observations;
  t.equal(answered.length, 1);
  t.equal(answered[0]!.severity, 'high');
  t.equal(answered[0]!.key_source, CATALOG);
  t.equal(answered[0]!.key_destination, 'shop/cart');
  t.equal(answered[0]!.evidence.kind, 'policy_not_enforced');
  const blocked = unexpectedPrincipalDetector(batch(inboundFlow({
    source_principal: CATALOG, response_code: 403, response_code_details: 'rbac_access_denied_matched_policy[ns[shop]-policy[cart-allow]-rule[0]]',
  })), ctx).observations;
  t.equal(blocked[0]!.severity, 'medium');
  t.equal(blocked[0]!.evidence.matched_policy, 'shop/cart-allow');
  // Denied and not answered 2xx/3xx (e.g. a 503): counted, not a finding.
  const r = unexpectedPrincipalDetector(batch(inboundFlow({ source_principal: CATALOG, response_code: 503 })), ctx);
  t.equal(r.observations.length, 0);
  t.equal(r.counters.denied_not_answered, 1);
  t.end();
});

t.test('an allowed caller is not a finding; an unknown evaluation is counted, not reported', (t) => {
  const ctx = context(CART_ALLOW_FRONTEND);
  const ok = unexpectedPrincipalDetector(batch(inboundFlow()), ctx);
  t.equal(ok.observations.length, 0);
  t.equal(ok.counters.allowed_by_rule, 1);
  // mTLS proven by the SNI heuristic, principal not logged: the principals rule cannot be decided.
  const unknown = unexpectedPrincipalDetector(batch(inboundFlow({ source_principal: null, source_principal_from: null })), ctx);
  t.equal(unknown.observations.length, 0);
  t.equal(unknown.counters.undecided, 1);
  t.end();
});

t.test('plaintext callers are denied by principal rules (no identity)', (t) => {
  const r = unexpectedPrincipalDetector(batch(plaintextFlow()), context(CART_ALLOW_FRONTEND));
  t.equal(r.observations.length, 1);
  t.equal(r.observations[0]!.key_source, 'no-identity');
  t.equal(r.observations[0]!.severity, 'high');
  t.end();
});

t.test('baseline: edges seen while learning are expected, new ones after it are medium findings', (t) => {
  const baseline = memoryBaseline(T0, 600_000);
  const ctx = context(null, { baseline: { learning_window_ms: 600_000 } }, baseline);
  const at = (min: number, o = {}) => inboundFlow({ start_time: new Date(T0 + min * 60_000).toISOString(), ...o });
  const learning = unexpectedPrincipalDetector(batch(at(1)), ctx);
  t.equal(learning.observations.length, 0);
  t.same(learning.learned, [edgeKey(FRONTEND, 'shop', 'cart', 8080)]);
  for (const e of learning.learned!) baseline.edges.add(e);
  const later = unexpectedPrincipalDetector(batch(at(20), at(21, { source_principal: CATALOG })), ctx);
  t.equal(later.observations.length, 1, 'only the new edge');
  t.equal(later.observations[0]!.key_source, CATALOG);
  t.equal(later.observations[0]!.severity, 'medium');
  t.equal(later.observations[0]!.evidence.kind, 'outside_baseline');
  // Within one batch, an edge learned earlier in the batch counts.
  const mixed = unexpectedPrincipalDetector(batch(at(5, { source_principal: 'spiffe://cluster.local/ns/shop/sa/x' }), at(30, { source_principal: 'spiffe://cluster.local/ns/shop/sa/x' })), ctx);
  t.equal(mixed.observations.length, 0);
  // Disabled baseline: nothing to compare with.
  t.equal(unexpectedPrincipalDetector(batch(at(30, { source_principal: CATALOG })), context(null)).observations.length, 0);
  t.end();
});

t.test('health checks and allow-listed principals are skipped; outbound lines are not judged', (t) => {
  const ctx = context(CART_ALLOW_FRONTEND, { allow: { principals: ['spiffe://cluster.local/ns/shop/*'] } });
  const r = unexpectedPrincipalDetector(batch(plaintextFlow({ user_agent: 'GoogleHC/1.0' }), inboundFlow({ source_principal: CATALOG })), ctx);
  t.equal(r.observations.length, 0);
  t.equal(r.counters.health_check, 1);
  t.equal(r.counters.allow_listed, 1);
  const out = inboundFlow({ source_principal: CATALOG, direction: 'outbound', upstream_cluster: 'outbound|8080||cart.shop.svc.cluster.local' });
  t.equal(unexpectedPrincipalDetector(batch(out), context(CART_ALLOW_FRONTEND)).observations.length, 0);
  t.end();
});
