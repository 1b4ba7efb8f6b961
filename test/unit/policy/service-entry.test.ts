import t from 'tap';
import { coveredByServiceEntry, egressAllowedByMesh, outboundTrafficMode } from '../../../src/policy/service-entry.js';
import { policiesFromYaml } from '../../helpers/policy-fixtures.js';

const entries = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: shop }
spec:
  hosts: ["api.example.com"]
  ports: [ { number: 443, name: https, protocol: TLS } ]
  resolution: DNS
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: wildcard, namespace: shop }
spec:
  hosts: ["*.googleapis.com"]
  ports: [ { number: 443, name: https, protocol: TLS } ]
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: { name: db, namespace: data }
spec:
  hosts: ["db.internal"]
  addresses: ["192.0.2.0/24"]
  ports: [ { number: 5432, name: pg, protocol: TCP } ]
  exportTo: ["data", "shop"]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [ { address: 192.0.2.10 } ]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: hidden, namespace: shop }
spec:
  hosts: ["hidden.example.com"]
  ports: [ { number: 443, name: https } ]
  exportTo: ["~"]
`;

t.test('exact and wildcard hosts, ports, case and authority ports', async (t) => {
  const set = policiesFromYaml(entries);
  t.same(coveredByServiceEntry(set, 'api.example.com', 443, 'shop'), { covered: true, entries: ['shop/api'], mode: 'ALLOW_ANY' });
  t.equal(coveredByServiceEntry(set, 'API.Example.COM.', 443, 'shop').covered, true, 'case and trailing dot');
  t.equal(coveredByServiceEntry(set, 'api.example.com:443', null, 'shop').covered, true, 'port from the authority');
  t.equal(coveredByServiceEntry(set, 'api.example.com', 80, 'shop').covered, false, 'undeclared port');
  const unknownPort = coveredByServiceEntry(set, 'api.example.com', null, 'shop');
  t.same([unknownPort.covered, unknownPort.entries], [null, ['shop/api']]);
  t.equal(coveredByServiceEntry(set, 'storage.googleapis.com', 443, 'shop').covered, true);
  t.equal(coveredByServiceEntry(set, 'a.b.googleapis.com', 443, 'shop').covered, true, 'wildcard covers deeper subdomains');
  t.equal(coveredByServiceEntry(set, 'googleapis.com', 443, 'shop').covered, false, 'wildcard needs a subdomain');
  t.equal(coveredByServiceEntry(set, 'example.org', 443, 'shop').covered, false);
});

t.test('exportTo: ".", named namespaces, "~", unknown caller namespace', async (t) => {
  const set = policiesFromYaml(entries);
  t.equal(coveredByServiceEntry(set, 'storage.googleapis.com', 443, 'web').covered, false, '"." hides it from other namespaces');
  t.equal(coveredByServiceEntry(set, 'storage.googleapis.com', 443, null).covered, null);
  t.equal(coveredByServiceEntry(set, 'db.internal', 5432, 'shop').covered, true);
  t.equal(coveredByServiceEntry(set, 'db.internal', 5432, 'web').covered, false);
  t.equal(coveredByServiceEntry(set, '192.0.2.55', 5432, 'data').covered, true, 'address block');
  t.equal(coveredByServiceEntry(set, 'hidden.example.com', 443, 'shop').covered, false, '"~" exports nowhere');
  t.equal(coveredByServiceEntry(set, 'api.example.com', 443, 'anywhere').covered, true, 'default exportTo is everywhere');
});

t.test('outbound traffic mode and egress under REGISTRY_ONLY', async (t) => {
  const allowAny = policiesFromYaml(entries);
  t.equal(outboundTrafficMode(allowAny), 'ALLOW_ANY');
  t.equal(egressAllowedByMesh(allowAny, 'example.org', 443, 'shop'), true);
  const registryOnly = policiesFromYaml(`${entries}---\nkind: MeshConfig\noutboundTrafficPolicy: { mode: REGISTRY_ONLY }\n`);
  t.equal(outboundTrafficMode(registryOnly), 'REGISTRY_ONLY');
  t.equal(egressAllowedByMesh(registryOnly, 'api.example.com', 443, 'shop'), true);
  t.equal(egressAllowedByMesh(registryOnly, 'example.org', 443, 'shop'), false);
  t.equal(egressAllowedByMesh(registryOnly, 'api.example.com', null, 'shop'), null);
  t.equal(egressAllowedByMesh(registryOnly, 'reviews.bookinfo.svc.cluster.local', 9080, 'shop'), null, 'k8s services are not loaded');
  t.equal(egressAllowedByMesh(registryOnly, 'reviews', 9080, 'shop'), null);
});
