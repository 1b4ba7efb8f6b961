/**
 * Test helpers: build a PolicySet from YAML text, and request facts with defaults.
 */
import { buildPolicySet, parsePolicyDocuments } from '../../src/policy/load.js';
import { unknownRequestFacts, type RequestFacts } from '../../src/policy/request-facts.js';
import type { PolicySet } from '../../schemas/istio-policy.js';

/** Parses YAML documents into a policy set; throws if any document is refused, so tests notice. */
export function policiesFromYaml(yaml: string): PolicySet {
  const parsed = parsePolicyDocuments(yaml, 'inline.yaml');
  const built = buildPolicySet(parsed.resources);
  const errors = [...parsed.problems, ...built.problems].filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(`fixture refused: ${JSON.stringify(errors)}`);
  return built.policies;
}

/** A fully known HTTP request over mTLS from sleep in default to port 8000; override what a test needs. */
export function httpFacts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    ...unknownRequestFacts(),
    protocol: 'http',
    peerAuthenticated: true,
    sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/sleep',
    sourceIp: '10.0.0.5',
    destinationIp: '10.0.1.7',
    destinationPort: 8000,
    host: 'httpbin.foo:8000',
    method: 'GET',
    path: '/info',
    headers: {},
    headersComplete: true,
    ...overrides,
  };
}
