import t from 'tap';
import { evaluateAuthorization, type Workload } from '../../../src/policy/authorization.js';
import { compilePolicySet } from '../../../src/policy/compile.js';
import { httpFacts, policiesFromYaml } from '../../helpers/policy-fixtures.js';

const httpbin: Workload = { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' } };

t.test('no policies: allow', async (t) => {
  const d = evaluateAuthorization(policiesFromYaml(''), httpbin, httpFacts());
  t.equal(d.decision, 'allow');
  t.match(d.reason, /no ALLOW policy/);
  t.equal(d.matched, undefined);
});

t.test('allow-nothing (spec: {}) denies everything in its namespace only', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: foo }
spec: {}
`);
  const d = evaluateAuthorization(set, httpbin, httpFacts());
  t.equal(d.decision, 'deny');
  t.match(d.reason, /foo\/allow-nothing/);
  t.equal(evaluateAuthorization(set, { namespace: 'bar', labels: {} }, httpFacts()).decision, 'allow');
});

t.test('allow-all (rules: [{}]) allows, also next to allow-nothing', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-all, namespace: foo }
spec:
  rules:
  - {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: foo }
spec: {}
`);
  const d = evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: null, peerAuthenticated: null, method: null }));
  t.equal(d.decision, 'allow');
  t.same(d.matched, { policy: 'foo/allow-all', action: 'ALLOW', ruleIndex: 0 });
});

t.test('deny-all (DENY, rules: [{}]) wins over allow-all; DENY without rules denies nothing', async (t) => {
  const denyAll = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-all, namespace: foo }
spec: { rules: [ {} ] }
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: foo }
spec: { action: DENY, rules: [ {} ] }
`);
  const d = evaluateAuthorization(denyAll, httpbin, httpFacts());
  t.equal(d.decision, 'deny');
  t.same(d.matched, { policy: 'foo/deny-all', action: 'DENY', ruleIndex: 0 });

  const denyNoRules = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-nothing, namespace: foo }
spec: { action: DENY }
`);
  t.equal(evaluateAuthorization(denyNoRules, httpbin, httpFacts()).decision, 'allow');
});

const referenceAllow = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
    - source:
        namespaces: ["test"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/info*"]
    - operation:
        methods: ["POST"]
        paths: ["/data"]
`;

t.test('reference ALLOW example: sources ORed, operations ORed, fields ANDed', async (t) => {
  const set = policiesFromYaml(referenceAllow);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ path: '/info/x' })).decision, 'allow');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ method: 'POST', path: '/data' })).decision, 'allow');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ method: 'POST', path: '/info' })).decision, 'deny', 'method and path are ANDed');
  t.equal(
    evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: 'spiffe://cluster.local/ns/test/sa/any' })).decision,
    'allow',
    'namespace source',
  );
  const other = evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: 'cluster.local/ns/prod/sa/x' }));
  t.equal(other.decision, 'deny');
  t.match(other.reason, /foo\/httpbin/);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ peerAuthenticated: false, sourcePrincipal: null })).decision, 'deny', 'plaintext has no principal');
});

t.test('reference ALLOW example with a JWT claim condition: the claim is never in a log', async (t) => {
  const set = policiesFromYaml(`${referenceAllow}
    when:
    - key: request.auth.claims[iss]
      values: ["https://accounts.google.com"]
`);
  const d = evaluateAuthorization(set, httpbin, httpFacts());
  t.equal(d.decision, 'unknown');
  t.same(d.undecided, [{ policy: 'foo/httpbin', action: 'ALLOW', ruleIndex: 0, missing: ['request.auth.claims[iss]'] }]);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ method: 'DELETE' })).decision, 'deny', 'a certainly failing operation decides anyway');
});

const denyDevPost = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source:
        namespaces: ["dev"]
    to:
    - operation:
        methods: ["POST"]
`;

t.test('reference DENY example: dev may not POST', async (t) => {
  const set = policiesFromYaml(denyDevPost);
  const dev = 'spiffe://cluster.local/ns/dev/sa/client';
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: dev, method: 'POST' })).decision, 'deny');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: dev, method: 'GET' })).decision, 'allow');
  t.equal(evaluateAuthorization(set, { namespace: 'bar', labels: {} }, httpFacts({ sourcePrincipal: dev, method: 'POST' })).decision, 'allow', 'other namespace');
});

t.test('unknown identity: a DENY that might match makes the decision unknown', async (t) => {
  const set = policiesFromYaml(denyDevPost);
  const noIdentity = { sourcePrincipal: null, peerAuthenticated: null } as const;
  const post = evaluateAuthorization(set, httpbin, httpFacts({ ...noIdentity, method: 'POST' }));
  t.equal(post.decision, 'unknown');
  t.same(post.undecided, [{ policy: 'foo/httpbin', action: 'DENY', ruleIndex: 0, missing: ['source.namespace'] }]);
  t.match(post.reason, /DENY foo\/httpbin rule 0 might match \(needs source\.namespace\)/);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...noIdentity, method: 'GET' })).decision, 'allow', 'GET certainly misses the rule');
  t.equal(
    evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: null, peerAuthenticated: false, method: 'POST' })).decision,
    'allow',
    'a plaintext caller has no namespace, so the DENY certainly misses',
  );
  t.equal(
    evaluateAuthorization(set, httpbin, httpFacts({ ...noIdentity, sourceNamespace: 'dev', method: 'POST' })).decision,
    'deny',
    'namespace from the peer certificate without the full principal',
  );
});

t.test('Kleene: DENY unknown + ALLOW certainly not matching = deny; + ALLOW matching = unknown', async (t) => {
  const set = policiesFromYaml(`${denyDevPost}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-data, namespace: foo }
spec:
  rules:
  - to:
    - operation: { paths: ["/data"] }
`);
  const facts = { sourcePrincipal: null, peerAuthenticated: null, method: 'POST' } as const;
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...facts, path: '/other' })).decision, 'deny');
  const d = evaluateAuthorization(set, httpbin, httpFacts({ ...facts, path: '/data' }));
  t.equal(d.decision, 'unknown');
  t.equal(d.undecided?.length, 1);
});

t.test('DENY with HTTP-only fields on TCP: missing attributes count as matches; ALLOW rules with them never match', async (t) => {
  const deny = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["POST"]
        ports: ["8080"]
`);
  const tcp = { protocol: 'tcp', method: null, path: null, host: null } as const;
  t.equal(evaluateAuthorization(deny, httpbin, httpFacts({ ...tcp, destinationPort: 8080 })).decision, 'deny');
  t.equal(evaluateAuthorization(deny, httpbin, httpFacts({ ...tcp, destinationPort: 9000 })).decision, 'allow');
  t.equal(evaluateAuthorization(deny, httpbin, httpFacts({ destinationPort: 8080, method: 'GET' })).decision, 'allow', 'HTTP GET');
  const unknownProtocol = evaluateAuthorization(deny, httpbin, httpFacts({ ...tcp, protocol: null, destinationPort: 8080 }));
  t.equal(unknownProtocol.decision, 'unknown');
  t.ok(unknownProtocol.undecided?.[0]?.missing.includes('protocol'));

  const allow = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: tcp, namespace: foo }
spec:
  rules:
  - to:
    - operation: { ports: ["9000"] }
  - to:
    - operation: { ports: ["9001"], methods: ["GET"] }
`);
  t.equal(evaluateAuthorization(allow, httpbin, httpFacts({ ...tcp, destinationPort: 9000 })).decision, 'allow');
  t.equal(evaluateAuthorization(allow, httpbin, httpFacts({ ...tcp, destinationPort: 9001 })).decision, 'deny', 'rule with methods is dropped on TCP');
  t.equal(evaluateAuthorization(allow, httpbin, httpFacts({ destinationPort: 9001, method: 'GET' })).decision, 'allow');
});

t.test('root namespace policies apply mesh-wide; selectors narrow them', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: istio-system }
spec:
  selector:
    matchLabels: { version: v1 }
`);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts()).decision, 'deny');
  t.equal(evaluateAuthorization(set, { namespace: 'bar', labels: { version: 'v1' } }, httpFacts()).decision, 'deny');
  t.equal(evaluateAuthorization(set, { namespace: 'bar', labels: { version: 'v2' } }, httpFacts()).decision, 'allow');

  const custom = policiesFromYaml(`
kind: MeshConfig
rootNamespace: mesh-root
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: istio-system }
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: mesh-root }
spec: { action: DENY, rules: [{}] }
`);
  t.equal(evaluateAuthorization(custom, httpbin, httpFacts()).decision, 'deny');
  t.same(evaluateAuthorization(custom, httpbin, httpFacts()).matched?.policy, 'mesh-root/deny-all');
  t.equal(evaluateAuthorization(custom, { namespace: 'istio-system', labels: {} }, httpFacts()).matched?.policy, 'mesh-root/deny-all');
});

t.test('selector: only workloads carrying every label; unknown labels give unknown', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-httpbin, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin, version: v1 } }
  action: DENY
  rules: [{}]
`);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts()).decision, 'deny');
  t.equal(evaluateAuthorization(set, { namespace: 'foo', labels: { app: 'httpbin' } }, httpFacts()).decision, 'allow');
  const d = evaluateAuthorization(set, { namespace: 'foo', labels: null }, httpFacts());
  t.equal(d.decision, 'unknown');
  t.same(d.undecided?.[0]?.missing, ['workload.labels']);
  t.match(d.notes.join(' '), /labels are unknown/);
});

t.test('not- fields', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source:
        notPrincipals: ["cluster.local/ns/default/sa/sleep"]
        notNamespaces: ["trusted"]
        notIpBlocks: ["192.168.0.0/16"]
    to:
    - operation:
        notPaths: ["/healthz"]
        notMethods: ["HEAD"]
        notHosts: ["*.internal"]
        notPorts: ["15020"]
`);
  const evil = 'spiffe://cluster.local/ns/evil/sa/x';
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: evil })).decision, 'deny');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts()).decision, 'allow', 'notPrincipals excludes sleep');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: 'spiffe://cluster.local/ns/trusted/sa/a' })).decision, 'allow', 'notNamespaces');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: evil, sourceIp: '192.168.3.4' })).decision, 'allow', 'notIpBlocks');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: evil, path: '/healthz?probe=1' })).decision, 'allow', 'notPaths ignores the query');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: evil, method: 'HEAD' })).decision, 'allow', 'notMethods');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: evil, host: 'api.INTERNAL' })).decision, 'allow', 'notHosts, case-insensitive');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: evil, destinationPort: 15020 })).decision, 'allow', 'notPorts');
  t.equal(
    evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: null, peerAuthenticated: false })).decision,
    'deny',
    'a plaintext caller is "not" any principal',
  );
});

t.test('string matching: prefix, suffix, presence, hosts case-insensitive and port-exact', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: foo }
spec:
  rules:
  - from: [ { source: { principals: ["cluster.local/ns/shop/*"] } } ]
  - from: [ { source: { principals: ["*/sa/admin"] } } ]
  - from: [ { source: { principals: ["*"] } } ]
    to: [ { operation: { paths: ["/public/*"] } } ]
  - to: [ { operation: { hosts: ["HTTPBIN.example.com"] } } ]
  - to: [ { operation: { paths: ["*.css"] } } ]
`);
  const allow = (o: Parameters<typeof httpFacts>[0]) => evaluateAuthorization(set, httpbin, httpFacts({ path: '/x', host: 'other', ...o }));
  t.equal(allow({ sourcePrincipal: 'spiffe://cluster.local/ns/shop/sa/cart' }).matched?.ruleIndex, 0, 'prefix');
  t.equal(allow({ sourcePrincipal: 'spiffe://td/ns/x/sa/admin' }).matched?.ruleIndex, 1, 'suffix');
  t.equal(allow({ path: '/public/a' }).matched?.ruleIndex, 2, 'presence with a principal');
  t.equal(allow({ path: '/public/a', sourcePrincipal: null, peerAuthenticated: true }).matched?.ruleIndex, 2, 'presence: mTLS known, principal not logged');
  t.equal(allow({ path: '/public/a', sourcePrincipal: null, peerAuthenticated: false }).decision, 'deny', 'presence fails on plaintext');
  t.equal(allow({ host: 'httpbin.EXAMPLE.com' }).matched?.ruleIndex, 3, 'hosts ignore case');
  t.equal(allow({ host: 'httpbin.example.com:80' }).decision, 'deny', 'hosts do not strip the port');
  t.equal(allow({ path: '/s/site.css' }).matched?.ruleIndex, 4, 'suffix path');
});

t.test('principal values omit spiffe://; a value that includes it never matches, as in Istio', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: foo }
spec:
  rules:
  - from: [ { source: { principals: ["spiffe://cluster.local/ns/default/sa/sleep"] } } ]
`);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts()).decision, 'deny');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourcePrincipal: 'cluster.local/ns/default/sa/sleep' })).decision, 'deny');
});

t.test('path templates {*} and {**}', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: foo }
spec:
  rules:
  - to: [ { operation: { paths: ["/users/{*}/profile", "/static/{**}"] } } ]
`);
  const d = (path: string) => evaluateAuthorization(set, httpbin, httpFacts({ path })).decision;
  t.equal(d('/users/42/profile'), 'allow');
  t.equal(d('/users/42/7/profile'), 'deny', '{*} is one segment');
  t.equal(d('/static/a/b/c.js'), 'allow');
  t.equal(d('/staticx'), 'deny');
});

t.test('ipBlocks, remoteIpBlocks and serviceAccounts', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: foo }
spec:
  rules:
  - from: [ { source: { ipBlocks: ["10.1.0.0/16", "2001:db8::/32"] } } ]
  - from: [ { source: { serviceAccounts: ["default/sleep"] } } ]
  - from: [ { source: { remoteIpBlocks: ["203.0.113.0/24"] } } ]
  - from: [ { source: { serviceAccounts: ["local-sa"] } } ]
  - from: [ { source: { namespaces: ["team-*"] } } ]
`);
  const base = { sourcePrincipal: 'spiffe://cluster.local/ns/other/sa/x', sourceIp: '10.2.0.1' };
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...base, sourceIp: '10.1.2.3:5555' })).matched?.ruleIndex, 0);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...base, sourceIp: '2001:db8::1' })).matched?.ruleIndex, 0);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ sourceIp: '10.2.0.1' })).matched?.ruleIndex, 1);
  const d = evaluateAuthorization(set, httpbin, httpFacts(base));
  t.equal(d.decision, 'unknown', 'remote.ip is not known');
  t.same(d.undecided?.[0]?.missing, ['remote.ip']);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...base, remoteIp: '198.51.100.1' })).decision, 'deny');
  const known = { ...base, remoteIp: '198.51.100.1' };
  t.equal(
    evaluateAuthorization(set, httpbin, httpFacts({ ...known, sourcePrincipal: 'spiffe://cluster.local/ns/foo/sa/local-sa' })).matched?.ruleIndex,
    3,
    'a bare service account is in the policy namespace',
  );
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...known, sourcePrincipal: 'spiffe://cluster.local/ns/bar/sa/local-sa' })).decision, 'deny');
  t.equal(
    evaluateAuthorization(set, httpbin, httpFacts({ ...known, sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/sleepy' })).decision,
    'deny',
    'service account match is not a prefix match',
  );
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...known, sourcePrincipal: 'spiffe://cluster.local/ns/team-a/sa/x' })).matched?.ruleIndex, 4, 'namespace wildcard');
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ ...known, sourcePrincipal: null, peerAuthenticated: null, sourceNamespace: 'team-b' })).matched?.ruleIndex, 4);
});

t.test('when conditions: headers, source.ip, destination.port, connection.sni', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny, namespace: foo }
spec:
  action: DENY
  rules:
  - when:
    - key: request.headers[User-Agent]
      values: ["curl/*"]
  - when:
    - key: source.ip
      values: ["10.9.0.0/16"]
    - key: destination.port
      notValues: ["8000"]
  - when:
    - key: connection.sni
      values: ["*.evil.example"]
`);
  const d = (o: Parameters<typeof httpFacts>[0]) => evaluateAuthorization(set, httpbin, httpFacts({ sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local', ...o }));
  t.equal(d({ headers: { 'user-agent': 'curl/8.0' } }).matched?.ruleIndex, 0);
  t.equal(d({ headers: { 'user-agent': 'Mozilla' } }).decision, 'allow');
  t.equal(d({ headers: {}, headersComplete: true }).decision, 'allow', 'absent header, known absent');
  const u = d({ headers: {}, headersComplete: false });
  t.equal(u.decision, 'unknown', 'header not in the log');
  t.same(u.undecided?.[0]?.missing, ['request.headers[user-agent]']);
  t.equal(d({ sourceIp: '10.9.1.1', destinationPort: 9090 }).matched?.ruleIndex, 1);
  t.equal(d({ sourceIp: '10.9.1.1', destinationPort: 8000 }).decision, 'allow');
  t.equal(d({ sni: 'x.evil.example' }).matched?.ruleIndex, 2);
  t.equal(d({ protocol: 'tcp', method: null, headers: {}, headersComplete: false }).matched?.ruleIndex, 0, 'header condition on TCP DENY counts as matching');
});

t.test('CUSTOM policies are listed, not evaluated; AUDIT is ignored', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: istio-system }
spec:
  action: CUSTOM
  provider: { name: my-custom-authz }
  rules:
  - to: [ { operation: { paths: ["/admin/*"] } } ]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: audit, namespace: foo }
spec:
  action: AUDIT
  rules: [{}]
`);
  const admin = evaluateAuthorization(set, httpbin, httpFacts({ path: '/admin/users' }));
  t.equal(admin.decision, 'allow');
  t.same(admin.custom, ['istio-system/ext-authz']);
  t.match(admin.notes.join(' '), /external authorizer \(my-custom-authz\)/);
  t.equal(evaluateAuthorization(set, httpbin, httpFacts({ path: '/public' })).custom, undefined, 'CUSTOM rule does not match');
});

t.test('dry-run policies and non-Gateway targetRefs are not enforced; Gateway targetRefs select the gateway pods', async (t) => {
  const set = policiesFromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry
  namespace: foo
  annotations: { istio.io/dry-run: "true" }
spec: { action: DENY, rules: [{}] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: waypoint, namespace: foo }
spec:
  targetRefs: [ { kind: Service, group: "", name: httpbin } ]
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: gw, namespace: foo }
spec:
  targetRefs: [ { kind: Gateway, group: gateway.networking.k8s.io, name: ingress } ]
  action: DENY
  rules: [{}]
`);
  const d = evaluateAuthorization(set, httpbin, httpFacts());
  t.equal(d.decision, 'allow');
  t.match(d.notes.join(' '), /dry-run/);
  t.match(d.notes.join(' '), /Service httpbin/);
  const gw = evaluateAuthorization(set, { namespace: 'foo', labels: { 'gateway.networking.k8s.io/gateway-name': 'ingress' } }, httpFacts());
  t.equal(gw.matched?.policy, 'foo/gw');
});

t.test('a compiled set gives the same decisions and is reusable', async (t) => {
  const set = policiesFromYaml(denyDevPost);
  const compiled = compilePolicySet(set);
  const facts = httpFacts({ sourcePrincipal: 'spiffe://cluster.local/ns/dev/sa/c', method: 'POST' });
  t.same(evaluateAuthorization(compiled, httpbin, facts), evaluateAuthorization(set, httpbin, facts));
  const start = process.hrtime.bigint();
  for (let i = 0; i < 20000; i++) evaluateAuthorization(compiled, httpbin, facts);
  const perCallUs = Number(process.hrtime.bigint() - start) / 20000 / 1000;
  t.ok(perCallUs < 50, `per-call cost ${perCallUs.toFixed(2)}µs`);
});
