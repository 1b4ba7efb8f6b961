import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalPolicySetJson, loadPolicies, parsePolicyDocuments, policySetDigest } from '../../../src/policy/load.js';
import { PolicySetSchema } from '../../../schemas/istio-policy.js';
import { evaluateAuthorization } from '../../../src/policy/authorization.js';
import { httpFacts } from '../../helpers/policy-fixtures.js';
import { policiesFromYaml } from '../../helpers/policy-fixtures.js';

const good = `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: allow-get, namespace: foo }
spec:
  rules:
  - to: [ { operation: { methods: ["GET"] } } ]
`;

t.test('loads a directory recursively: multi-document files, problems and ignored kinds', async (t) => {
  const dir = t.testdir({
    'a.yaml': `${good}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: typo, namespace: foo }
spec:
  rules:
  - from:
    - source: { principalz: ["x"] }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
`,
    nested: {
      'deploy.yml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n',
      'se.yml': `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: { name: api, namespace: foo }
spec:
  hosts: ["api.example.com"]
  ports: [ { number: 443, name: https, protocol: TLS } ]
  resolution: DNS
`,
    },
    'notes.txt': 'not yaml: {',
  });
  const { policies, problems } = loadPolicies(dir);
  t.equal(policies.authorizationPolicies.length, 1);
  t.equal(policies.authorizationPolicies[0]?.metadata.name, 'allow-get');
  t.equal(policies.authorizationPolicies[0]?.spec.action, 'ALLOW', 'default action filled');
  t.equal(policies.peerAuthentications.length, 1, 'document after the broken one still loads');
  t.equal(policies.serviceEntries.length, 1);
  const typo = problems.find((p) => p.severity === 'error');
  t.match(typo, {
    file: join(dir, 'a.yaml'),
    document: 2,
    kind: 'AuthorizationPolicy',
    resource: 'foo/typo',
    path: 'spec.rules[0].from[0].source.principalz',
    message: 'unknown field',
  });
  const ignored = problems.filter((p) => p.severity === 'ignored');
  t.equal(ignored.length, 1);
  t.match(ignored[0], { file: join(dir, 'nested', 'deploy.yml'), document: 1, kind: 'Deployment' });
  t.equal(problems.length, 2);
});

t.test('an unreadable directory throws with context', async (t) => {
  t.throws(() => loadPolicies('/nonexistent/policies'), /Cannot read the policy directory \/nonexistent\/policies/);
});

t.test('validation refuses what Istio refuses, with the path', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['spec: { action: MAYBE }', 'spec.action', /./],
    ['spec: { rules: [ { from: [ { source: {} } ] } ] }', 'spec.rules[0].from[0].source', /must not be empty/],
    ['spec: { rules: [ { to: [ { operation: { ports: ["http"] } } ] } ] }', 'spec.rules[0].to[0].operation.ports[0]', /port/],
    ['spec: { rules: [ { to: [ { operation: { ports: [8080] } } ] } ] }', 'spec.rules[0].to[0].operation.ports[0]', /string/],
    ['spec: { rules: [ { from: [ { source: { ipBlocks: ["10.0.0.0/33"] } } ] } ] }', 'spec.rules[0].from[0].source.ipBlocks[0]', /CIDR/],
    ['spec: { rules: [ { when: [ { key: "request.headers[x]" } ] } ] }', 'spec.rules[0].when[0]', /values or notValues/],
    ['spec: { rules: [ { when: [ { key: source.color, values: [red] } ] } ] }', 'spec.rules[0].when[0].key', /unknown condition key/],
    ['spec: { action: CUSTOM }', 'spec.provider', /provider/],
    ['spec: { provider: { name: x } }', 'spec.provider', /only allowed with action CUSTOM/],
    ['spec: { selector: { matchLabels: { a: b } }, targetRef: { kind: Gateway, name: g } }', 'spec', /at most one/],
    ['spec: {}\nextra: 1', 'extra', /unknown field/],
  ];
  for (const [spec, path, message] of cases) {
    const yaml = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: p, namespace: foo }\n${spec}\n`;
    const { resources, problems } = parsePolicyDocuments(yaml, 'x.yaml');
    t.equal(resources.length, 0, `refused: ${spec}`);
    t.ok(
      problems.some((p) => p.path === path && message.test(p.message)),
      `${spec} -> ${path}: ${JSON.stringify(problems.map((p) => [p.path, p.message]))}`,
    );
  }
  const pa = parsePolicyDocuments('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: p, namespace: foo }\nspec: { mtls: { mode: LOOSE } }\n', 'p.yaml');
  t.equal(pa.problems[0]?.path, 'spec.mtls.mode');
  const v = parsePolicyDocuments('apiVersion: security.istio.io/v2\nkind: PeerAuthentication\nmetadata: { name: p }\n', 'p.yaml');
  t.equal(v.problems[0]?.path, 'apiVersion');
  const se = parsePolicyDocuments('apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: s }\nspec: { hosts: [a.com], ports: [ { number: 0 } ] }\n', 's.yaml');
  t.equal(se.problems[0]?.path, 'spec.ports[0].number');
});

t.test('YAML syntax errors are problems of their document', async (t) => {
  const { resources, problems } = parsePolicyDocuments(`${good}---\nkind: [unclosed\n`, 'bad.yaml');
  t.equal(resources.length, 1);
  t.equal(problems[0]?.document, 2);
  t.match(problems[0]?.message, /^YAML:/);
});

t.test('kubectl output loads: List, bookkeeping metadata and status are dropped', async (t) => {
  const { resources, problems } = parsePolicyDocuments(`
apiVersion: v1
kind: List
items:
- apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata:
    name: default
    namespace: foo
    uid: 1234
    resourceVersion: "99"
    creationTimestamp: "2024-05-01T10:00:00Z"
  spec: { mtls: { mode: STRICT } }
  status: {}
- apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata: { name: broken, namespace: foo }
  spec: { mtls: { mode: NOPE } }
`, 'list.yaml');
  t.equal(resources.length, 1);
  const r = resources[0];
  t.same(r?.resource, {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'default', namespace: 'foo', creationTimestamp: '2024-05-01T10:00:00Z' },
    spec: { mtls: { mode: 'STRICT' } },
  });
  t.equal(problems[0]?.path, 'items[1].spec.mtls.mode');
});

t.test('mesh config: MeshConfig document, IstioOperator, istio ConfigMap; first one wins', async (t) => {
  t.same(policiesFromYaml('').mesh, { outboundTrafficPolicy: { mode: 'ALLOW_ANY' }, rootNamespace: 'istio-system' });
  t.same(policiesFromYaml('kind: MeshConfig\noutboundTrafficPolicy: { mode: REGISTRY_ONLY }\naccessLogFile: /dev/stdout\n').mesh, {
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    rootNamespace: 'istio-system',
  });
  t.same(
    policiesFromYaml('apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: default\n  meshConfig: { rootNamespace: mesh-root }\n').mesh,
    { outboundTrafficPolicy: { mode: 'ALLOW_ANY' }, rootNamespace: 'mesh-root' },
  );
  t.same(
    policiesFromYaml('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n    enableTracing: true\n').mesh.outboundTrafficPolicy,
    { mode: 'REGISTRY_ONLY' },
  );
  const dir = t.testdir({
    '1.yaml': 'kind: MeshConfig\nrootNamespace: first\n',
    '2.yaml': 'kind: MeshConfig\nrootNamespace: second\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app-settings }\ndata: { a: b }\n',
  });
  const { policies, problems } = loadPolicies(dir);
  t.equal(policies.mesh.rootNamespace, 'first');
  t.match(problems.find((p) => p.severity === 'error')?.message, /already loaded/);
  t.equal(problems.find((p) => p.severity === 'ignored')?.kind, 'ConfigMap');
  t.equal(parsePolicyDocuments('kind: MeshConfig\noutboundTrafficPolicy: { mode: SOMETIMES }\n', 'm.yaml').problems[0]?.path, 'outboundTrafficPolicy.mode');
});

t.test('duplicates, missing namespaces and policies Istio ignores are reported', async (t) => {
  const dir = t.testdir({
    'a.yaml': good,
    'b.yaml': `${good}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: nons }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: rootsel, namespace: istio-system }
spec: { selector: { matchLabels: { app: x } }, mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: nsport, namespace: foo }
spec: { mtls: { mode: STRICT }, portLevelMtls: { "8080": { mode: DISABLE } } }
`,
  });
  const { policies, problems } = loadPolicies(dir);
  t.equal(policies.authorizationPolicies.length, 1);
  t.match(problems.find((p) => p.severity === 'error'), { file: join(dir, 'b.yaml'), document: 1, message: /duplicate of .*a\.yaml/ });
  t.equal(policies.peerAuthentications.find((p) => p.metadata.name === 'nons')?.metadata.namespace, 'default');
  const warnings = problems.filter((p) => p.severity === 'warning').map((p) => `${p.resource} ${p.path}`).sort();
  t.same(warnings, ['default/nons metadata.namespace', 'foo/nsport spec.portLevelMtls', 'istio-system/rootsel spec.selector']);
});

t.test('policySetDigest: stable over file order, key order and comments; changes with content', async (t) => {
  const a = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: a, namespace: foo }
spec: { action: DENY, rules: [ { to: [ { operation: { methods: [POST], paths: ["/x"] } } ] } ] }
`;
  const aReordered = `# a comment
kind: AuthorizationPolicy
spec:
  rules:
  - to:
    - operation: { paths: ["/x"], methods: [POST] }
  action: DENY
metadata: { namespace: foo, name: a, uid: "ignored" }
apiVersion: security.istio.io/v1
`;
  const b = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: b, namespace: foo }\nspec: { mtls: { mode: STRICT } }\n';
  const d1 = policySetDigest(policiesFromYaml(`${a}---\n${b}`));
  const d2 = policySetDigest(policiesFromYaml(`${b}---\n${aReordered}`));
  t.match(d1, /^[0-9a-f]{64}$/);
  t.equal(d1, d2);
  t.not(policySetDigest(policiesFromYaml(`${a.replace('POST', 'PUT')}---\n${b}`)), d1);
  t.not(policySetDigest(policiesFromYaml(`${a}---\n${b}---\nkind: MeshConfig\noutboundTrafficPolicy: { mode: REGISTRY_ONLY }\n`)), d1);
  t.match(canonicalPolicySetJson(policiesFromYaml(b)), /^\{"authorizationPolicies":\[\],"mesh":\{"outboundTrafficPolicy":\{"mode":"ALLOW_ANY"\},"rootNamespace":"istio-system"\}/);
  const dir = t.testdir({ 'z.yaml': a, sub: { 'a.yaml': b } });
  mkdirSync(join(dir, 'more'));
  writeFileSync(join(dir, 'more', 'empty.yml'), '');
  t.equal(policySetDigest(loadPolicies(dir).policies), d1, 'same digest from a directory');
});

t.test('a null spec is an absent spec: an AuthorizationPolicy without spec allows nothing', async (t) => {
  const set = policiesFromYaml('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-all, namespace: foo }\nspec:\n');
  t.equal(set.authorizationPolicies[0]?.spec.action, 'ALLOW');
  t.equal(evaluateAuthorization(set, { namespace: 'foo', labels: {} }, httpFacts()).decision, 'deny');
});

t.test('a loaded set satisfies PolicySetSchema unchanged', async (t) => {
  const set = policiesFromYaml(`${good}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s, namespace: foo }
spec: { hosts: [a.example.com], ports: [ { number: 443, name: https } ] }
`);
  t.same(PolicySetSchema.parse(set), set);
});
