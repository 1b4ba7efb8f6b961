import t from 'tap';
import { effectiveMtlsMode } from '../../../src/policy/peer-authentication.js';
import { policiesFromYaml } from '../../helpers/policy-fixtures.js';

const finance = { namespace: 'foo', labels: { app: 'finance' } };
const other = { namespace: 'foo', labels: { app: 'other' } };

const pa = (name: string, ns: string, spec: string, extraMeta = '') => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${ns}
${extraMeta}
spec:
${spec}
---`;

t.test('no policy: PERMISSIVE from the default', async (t) => {
  const r = effectiveMtlsMode(policiesFromYaml(''), finance, 8080);
  t.same(r, { mode: 'PERMISSIVE', source: 'default', level: 'default', certain: true, possibleModes: ['PERMISSIVE'], overridden: [] });
});

t.test('mesh-wide, namespace-wide and workload policies: the most specific wins', async (t) => {
  const mesh = pa('default', 'istio-system', '  mtls: { mode: STRICT }');
  const ns = pa('default', 'foo', '  mtls: { mode: PERMISSIVE }');
  const wl = pa('finance', 'foo', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: DISABLE }');
  t.match(effectiveMtlsMode(policiesFromYaml(mesh), finance, null), { mode: 'STRICT', source: 'istio-system/default', level: 'mesh' });
  t.match(effectiveMtlsMode(policiesFromYaml(mesh + ns), finance, null), { mode: 'PERMISSIVE', source: 'foo/default', level: 'namespace' });
  t.match(effectiveMtlsMode(policiesFromYaml(mesh + ns + wl), finance, null), { mode: 'DISABLE', source: 'foo/finance', level: 'workload' });
  t.match(effectiveMtlsMode(policiesFromYaml(mesh + ns + wl), other, null), { mode: 'PERMISSIVE', source: 'foo/default' });
  t.match(effectiveMtlsMode(policiesFromYaml(mesh + ns + wl), { namespace: 'bar', labels: { app: 'finance' } }, null), {
    mode: 'STRICT',
    source: 'istio-system/default',
  }, 'a selector only matches in its own namespace');
});

t.test('reference: PERMISSIVE namespace, STRICT for finance', async (t) => {
  const set = policiesFromYaml(
    pa('default', 'foo', '  mtls: { mode: PERMISSIVE }') + pa('finance', 'foo', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: STRICT }'),
  );
  t.equal(effectiveMtlsMode(set, finance, 8080).mode, 'STRICT');
  t.equal(effectiveMtlsMode(set, other, 8080).mode, 'PERMISSIVE');
});

t.test('reference: STRICT for finance but port 8080 plaintext', async (t) => {
  const set = policiesFromYaml(
    pa('default', 'foo', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: STRICT }\n  portLevelMtls:\n    8080: { mode: DISABLE }'),
  );
  t.match(effectiveMtlsMode(set, finance, 8080), { mode: 'DISABLE', level: 'port', source: 'foo/default', certain: true });
  t.match(effectiveMtlsMode(set, finance, 9090), { mode: 'STRICT', level: 'workload', certain: true });
  const unknownPort = effectiveMtlsMode(set, finance, null);
  t.equal(unknownPort.certain, false);
  t.same(unknownPort.possibleModes, ['DISABLE', 'STRICT']);
  t.equal(unknownPort.mode, 'STRICT', 'the port-independent part');
});

t.test('reference: UNSET inherits from namespace/mesh and port 8080 overrides', async (t) => {
  const base = pa('default', 'istio-system', '  mtls: { mode: STRICT }');
  const wl = pa('finance', 'foo', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: UNSET }\n  portLevelMtls:\n    8080: { mode: DISABLE }\n    9000: { mode: UNSET }');
  const set = policiesFromYaml(base + wl);
  t.match(effectiveMtlsMode(set, finance, 443), { mode: 'STRICT', source: 'istio-system/default', level: 'mesh' });
  t.match(effectiveMtlsMode(set, finance, 8080), { mode: 'DISABLE', source: 'foo/finance', level: 'port' });
  t.match(effectiveMtlsMode(set, finance, 9000), { mode: 'STRICT', source: 'istio-system/default' }, 'UNSET port inherits the workload result');
  const nsUnset = policiesFromYaml(base + pa('default', 'foo', '  mtls: { mode: UNSET }'));
  t.match(effectiveMtlsMode(nsUnset, other, 1), { mode: 'STRICT', level: 'mesh' }, 'UNSET namespace policy inherits mesh');
  const noMode = policiesFromYaml(pa('default', 'foo', '  mtls: {}'));
  t.match(effectiveMtlsMode(noMode, other, 1), { mode: 'PERMISSIVE', source: 'default' }, 'UNSET everywhere: PERMISSIVE');
});

t.test('portLevelMtls on a namespace-wide policy is ignored', async (t) => {
  const set = policiesFromYaml(pa('default', 'foo', '  mtls: { mode: STRICT }\n  portLevelMtls:\n    8080: { mode: DISABLE }'));
  t.match(effectiveMtlsMode(set, finance, 8080), { mode: 'STRICT', level: 'namespace' });
});

t.test('selector policies in the root namespace are ignored', async (t) => {
  const set = policiesFromYaml(pa('finance', 'istio-system', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: STRICT }'));
  t.match(effectiveMtlsMode(set, finance, 8080), { mode: 'PERMISSIVE', source: 'default' });
});

t.test('root namespace from the mesh config', async (t) => {
  const set = policiesFromYaml(`kind: MeshConfig\nrootNamespace: mesh-root\n---` + pa('default', 'mesh-root', '  mtls: { mode: STRICT }') + pa('default', 'istio-system', '  mtls: { mode: DISABLE }'));
  t.match(effectiveMtlsMode(set, finance, 1), { mode: 'STRICT', source: 'mesh-root/default', level: 'mesh' });
  t.match(effectiveMtlsMode(set, { namespace: 'istio-system', labels: {} }, 1), { mode: 'DISABLE', level: 'namespace' });
});

t.test('conflicts: the oldest policy wins, then the name', async (t) => {
  const older = pa('zeta', 'foo', '  mtls: { mode: STRICT }', '  creationTimestamp: "2024-01-01T00:00:00Z"');
  const newer = pa('alpha', 'foo', '  mtls: { mode: DISABLE }', '  creationTimestamp: "2025-01-01T00:00:00Z"');
  const r = effectiveMtlsMode(policiesFromYaml(newer + older), other, 1);
  t.match(r, { mode: 'STRICT', source: 'foo/zeta' });
  t.same(r.overridden, ['foo/alpha']);
  const sameTime = effectiveMtlsMode(policiesFromYaml(pa('b', 'foo', '  mtls: { mode: STRICT }') + pa('a', 'foo', '  mtls: { mode: DISABLE }')), other, 1);
  t.match(sameTime, { mode: 'DISABLE', source: 'foo/a' }, 'no timestamps: name order');
  const wl = (name: string, mode: string, ts: string) =>
    pa(name, 'foo', `  selector: { matchLabels: { app: finance } }\n  mtls: { mode: ${mode} }`, `  creationTimestamp: "${ts}"`);
  const w = effectiveMtlsMode(policiesFromYaml(wl('a', 'DISABLE', '2025-02-01T00:00:00Z') + wl('b', 'STRICT', '2025-01-01T00:00:00Z')), finance, 1);
  t.match(w, { mode: 'STRICT', source: 'foo/b' });
  t.same(w.overridden, ['foo/a']);
});

t.test('unknown labels: every mode a selector policy could give is possible', async (t) => {
  const set = policiesFromYaml(
    pa('default', 'foo', '  mtls: { mode: PERMISSIVE }') + pa('finance', 'foo', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: STRICT }'),
  );
  const r = effectiveMtlsMode(set, { namespace: 'foo', labels: null }, 8080);
  t.equal(r.certain, false);
  t.same(r.possibleModes, ['PERMISSIVE', 'STRICT']);
  t.match(r, { mode: 'PERMISSIVE', source: 'foo/default' });
  const agree = policiesFromYaml(
    pa('default', 'foo', '  mtls: { mode: STRICT }') + pa('finance', 'foo', '  selector: { matchLabels: { app: finance } }\n  mtls: { mode: STRICT }'),
  );
  t.match(effectiveMtlsMode(agree, { namespace: 'foo', labels: null }, 8080), { mode: 'STRICT', certain: true });
});
