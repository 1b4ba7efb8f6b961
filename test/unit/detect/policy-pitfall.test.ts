import t from 'tap';
import { mtlsOnlyFields, policyPitfallDetector } from '../../../src/detect/policy-pitfall.detector.js';
import { batch, CART_ALLOW_FRONTEND, context, inboundFlow, plaintextFlow } from './fixtures.js';
import { policiesFromYaml } from '../../helpers/policy-fixtures.js';

const DENY_LEGACY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-legacy, namespace: shop }
spec:
  selector: { matchLabels: { app: cart } }
  action: DENY
  rules:
  - from:
    - source: { namespaces: ["legacy"] }
`;

t.test('lists the mTLS-only fields a policy uses', (t) => {
  const [p] = policiesFromYaml(DENY_LEGACY).authorizationPolicies;
  t.same(mtlsOnlyFields(p!), { positive: ['namespaces'], negative: [] });
  const [q] = policiesFromYaml(CART_ALLOW_FRONTEND.replace('principals', 'notPrincipals')).authorizationPolicies;
  t.same(mtlsOnlyFields(q!), { positive: [], negative: ['notPrincipals'] });
  t.end();
});

t.test('a DENY on namespaces at a workload receiving plaintext is high; an ALLOW on principals is low', (t) => {
  const r = policyPitfallDetector(batch(plaintextFlow()), context(`${DENY_LEGACY}---\n${CART_ALLOW_FRONTEND}`));
  t.equal(r.observations.length, 2);
  const bySource = Object.fromEntries(r.observations.map((o) => [o.key_source, o]));
  t.equal(bySource['policy:shop/deny-legacy']!.severity, 'high');
  t.equal(bySource['policy:shop/deny-legacy']!.evidence.advisory, 'ISTIO-SECURITY-2021-004');
  t.equal(bySource['policy:shop/cart-allow']!.severity, 'low');
  t.equal(bySource['policy:shop/deny-legacy']!.key_destination, 'shop/cart');
  t.end();
});

t.test('an ALLOW with notPrincipals lets plaintext in: high', (t) => {
  const r = policyPitfallDetector(batch(plaintextFlow()), context(CART_ALLOW_FRONTEND.replace('principals', 'notPrincipals')));
  t.equal(r.observations[0]!.severity, 'high');
  t.end();
});

t.test('no finding for mTLS traffic, other workloads, or health checks', (t) => {
  const ctx = context(DENY_LEGACY);
  t.equal(policyPitfallDetector(batch(inboundFlow()), ctx).observations.length, 0);
  t.equal(policyPitfallDetector(batch(plaintextFlow({ authority: 'catalog.shop.svc.cluster.local:8080' })), ctx).observations.length, 0, 'selector does not select catalog');
  t.equal(policyPitfallDetector(batch(plaintextFlow({ user_agent: 'kube-probe/1.29' })), ctx).observations.length, 0);
  t.equal(policyPitfallDetector(batch(plaintextFlow()), context(null)).observations.length, 0);
  t.end();
});
