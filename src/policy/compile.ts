/**
 * Precompiles a `PolicySet` into matchers and per-namespace indexes, once, so that evaluating a
 * flow costs a map lookup and a few predicate calls.
 *
 * Compilation is pure and deterministic: policies are ordered by namespace then name, and
 * PeerAuthentications additionally oldest first (creationTimestamp, then name, then namespace:
 * the order Istio sorts configs in, so "oldest wins" ties break the way istiod breaks them).
 * `compiledPolicySet(set)` memoises by object identity, so evaluators accept either form.
 */
import type {
  AuthorizationAction,
  AuthorizationCondition,
  AuthorizationOperation,
  AuthorizationPolicy,
  AuthorizationRule,
  AuthorizationSource,
  PeerAuthentication,
  PolicySet,
  ServiceEntry,
} from '../../schemas/istio-policy.js';
import {
  and3, anyOf, compileIpBlocks, compilePathValue, compileStringValue, not3, or3,
  type IpPredicate, type StringPredicate, type Tri,
} from './match.js';
import type { RequestFacts } from './request-facts.js';

/** Request facts after the per-request normalisation the matchers rely on. */
export interface NormalisedFacts {
  readonly facts: RequestFacts;
  /** Peer principal with `spiffe://` prepended, as Envoy sees the URI SAN; null if unknown/none. */
  readonly principal: string | null;
  /** true / false (plaintext) / null, with a known principal implying true. */
  readonly authenticated: boolean | null;
  /** Path without query string and fragment. */
  readonly path: string | null;
}

/** Normalises facts once per evaluation. */
export function normaliseFacts(facts: RequestFacts): NormalisedFacts {
  const raw = facts.sourcePrincipal;
  const principal = raw === null ? null : raw.startsWith('spiffe://') ? raw : `spiffe://${raw}`;
  const path = facts.path === null ? null : facts.path.replace(/[?#].*$/s, '');
  return {
    facts,
    principal,
    authenticated: principal !== null ? true : facts.peerAuthenticated,
    path,
  };
}

/** One compiled field test. `missing` collects the names of the facts an unknown result lacked. */
interface FieldMatcher {
  readonly httpOnly: boolean;
  readonly test: (f: NormalisedFacts, missing: Set<string>) => Tri;
}

/** One compiled rule. */
export interface CompiledRule {
  /** The rule uses a field Istio only evaluates on HTTP (hosts, methods, paths, requestPrincipals, headers, JWT claims). */
  readonly httpOnly: boolean;
  readonly from: FieldMatcher[][];
  readonly to: FieldMatcher[][];
  readonly when: FieldMatcher[];
}

/** A compiled AuthorizationPolicy. */
export interface CompiledAuthorizationPolicy {
  /** `<namespace>/<name>`. */
  readonly id: string;
  readonly namespace: string;
  readonly action: AuthorizationAction;
  readonly provider: string | null;
  /** matchLabels, or null when the policy has no (or an empty) selector. */
  readonly selector: Readonly<Record<string, string>> | null;
  /** targetRef/targetRefs, or null when neither is set. */
  readonly targets: readonly { group?: string | undefined; kind: string; name: string; namespace?: string | undefined }[] | null;
  readonly dryRun: boolean;
  readonly rules: readonly CompiledRule[];
}

/** A compiled ServiceEntry. */
export interface CompiledServiceEntry {
  readonly id: string;
  readonly namespace: string;
  readonly hostTest: (host: string) => boolean;
  readonly addressTest: IpPredicate | null;
  readonly ports: ReadonlySet<number> | null;
  /** Namespaces that see it; `all` for "*". */
  readonly exportTo: { readonly all: boolean; readonly none: boolean; readonly namespaces: ReadonlySet<string> };
}

/** A policy set ready for per-flow evaluation. */
export interface CompiledPolicySet {
  readonly source: PolicySet;
  readonly rootNamespace: string;
  readonly authorizationByNamespace: ReadonlyMap<string, readonly CompiledAuthorizationPolicy[]>;
  /** PeerAuthentications by namespace, oldest first. */
  readonly peerByNamespace: ReadonlyMap<string, readonly PeerAuthentication[]>;
  readonly serviceEntries: readonly CompiledServiceEntry[];
}

const cache = new WeakMap<PolicySet, CompiledPolicySet>();

/** Returns the compiled form of `set`, compiling it on first use (memoised by identity). */
export function compiledPolicySet(set: PolicySet | CompiledPolicySet): CompiledPolicySet {
  if (isCompiled(set)) return set;
  let c = cache.get(set);
  if (c === undefined) {
    c = compilePolicySet(set);
    cache.set(set, c);
  }
  return c;
}

function isCompiled(set: PolicySet | CompiledPolicySet): set is CompiledPolicySet {
  return 'authorizationByNamespace' in set;
}

/** Compiles every policy of a set into matchers and per-namespace indexes. */
export function compilePolicySet(set: PolicySet): CompiledPolicySet {
  const authz = new Map<string, CompiledAuthorizationPolicy[]>();
  const sortedAuthz = [...set.authorizationPolicies].sort((a, b) => cmpIdentity(a.metadata, b.metadata));
  for (const p of sortedAuthz) {
    if (p.spec.action === 'AUDIT') continue; // AUDIT never changes a decision
    const c = compileAuthorizationPolicy(p);
    pushTo(authz, c.namespace, c);
  }
  const peer = new Map<string, PeerAuthentication[]>();
  for (const p of [...set.peerAuthentications].sort(oldestFirst)) pushTo(peer, namespaceOf(p.metadata), p);
  const serviceEntries = [...set.serviceEntries].sort((a, b) => cmpIdentity(a.metadata, b.metadata)).map(compileServiceEntry);
  return { source: set, rootNamespace: set.mesh.rootNamespace, authorizationByNamespace: authz, peerByNamespace: peer, serviceEntries };
}

/** The namespace of a loaded resource ("default" when the YAML had none, as kubectl assumes). */
export function namespaceOf(meta: { namespace?: string | undefined }): string {
  return meta.namespace ?? 'default';
}

/** `<namespace>/<name>` of a resource. */
export function idOf(meta: { name: string; namespace?: string | undefined }): string {
  return `${namespaceOf(meta)}/${meta.name}`;
}

/** Istio's config order: creationTimestamp, then name, then namespace. Missing timestamps sort last. */
export function oldestFirst(a: PeerAuthentication, b: PeerAuthentication): number {
  const ta = timestamp(a.metadata.creationTimestamp);
  const tb = timestamp(b.metadata.creationTimestamp);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : cmp(namespaceOf(a.metadata), namespaceOf(b.metadata));
}

function timestamp(ts: string | null | undefined): number {
  if (ts === undefined || ts === null) return Number.POSITIVE_INFINITY;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpIdentity(a: { name: string; namespace?: string | undefined }, b: { name: string; namespace?: string | undefined }): number {
  return cmp(namespaceOf(a), namespaceOf(b)) || cmp(a.name, b.name);
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

// ---------------------------------------------------------------------------------------------
// AuthorizationPolicy
// ---------------------------------------------------------------------------------------------

function compileAuthorizationPolicy(p: AuthorizationPolicy): CompiledAuthorizationPolicy {
  const labels = p.spec.selector?.matchLabels;
  const refs = [...(p.spec.targetRefs ?? []), ...(p.spec.targetRef !== undefined ? [p.spec.targetRef] : [])];
  const targets = refs.length > 0 ? refs : null; // an empty targetRefs is the same as none
  return {
    id: idOf(p.metadata),
    namespace: namespaceOf(p.metadata),
    action: p.spec.action,
    provider: p.spec.provider?.name ?? null,
    selector: labels !== undefined && Object.keys(labels).length > 0 ? labels : null,
    targets,
    dryRun: p.metadata.annotations?.['istio.io/dry-run'] === 'true',
    rules: (p.spec.rules ?? []).map((r) => compileRule(r, namespaceOf(p.metadata))),
  };
}

function compileRule(rule: AuthorizationRule, policyNamespace: string): CompiledRule {
  const from = (rule.from ?? []).map(({ source }) => compileSource(source, policyNamespace));
  const to = (rule.to ?? []).map(({ operation }) => compileOperation(operation));
  const when = (rule.when ?? []).map(compileCondition);
  const httpOnly = [...from.flat(), ...to.flat(), ...when].some((m) => m.httpOnly);
  return { httpOnly, from, to, when };
}

/** Adds the positive (`values`) and negative (`notValues`) form of one field to `out`. */
function both(
  out: FieldMatcher[],
  values: readonly string[] | undefined,
  notValues: readonly string[] | undefined,
  httpOnly: boolean,
  make: (values: readonly string[]) => (f: NormalisedFacts, missing: Set<string>) => Tri,
): void {
  if (values !== undefined && values.length > 0) out.push({ httpOnly, test: make(values) });
  if (notValues !== undefined && notValues.length > 0) {
    const positive = make(notValues);
    out.push({ httpOnly, test: (f, missing) => not3(positive(f, missing)) });
  }
}

/**
 * Peer principal test. Istio prepends `spiffe://` to exact and prefix values and leaves suffix
 * and presence values alone; a plaintext peer has no principal, so nothing matches it.
 */
function principalTest(values: readonly string[]) {
  const presence = values.includes('*');
  const pred = anyOf(values, (v) => compileStringValue(v === '*' || v.startsWith('*') ? v : `spiffe://${v}`));
  return (f: NormalisedFacts, missing: Set<string>): Tri => {
    if (f.authenticated === false) return false;
    if (f.principal !== null) return pred(f.principal);
    if (f.authenticated === true && presence) return true;
    missing.add('source.principal');
    return null;
  };
}

/**
 * Peer namespace test. Istio matches the principal against `.*\/ns/<value>/.*` with `*` widened to
 * `.*`; when only the namespace is known (from the certificate, without the full principal) the
 * value is matched against the namespace alone.
 */
function namespaceTest(values: readonly string[]) {
  const onPrincipal = values.map((v) => new RegExp(`^.*/ns/${v.split('*').map(escapeRegex).join('.*')}/.*$`));
  const onNamespace = values.map((v) => new RegExp(`^${v.split('*').map(escapeRegex).join('.*')}$`));
  return (f: NormalisedFacts, missing: Set<string>): Tri => {
    if (f.authenticated === false) return false;
    const principal = f.principal;
    if (principal !== null) return onPrincipal.some((re) => re.test(principal));
    const ns = f.facts.sourceNamespace;
    if (ns !== null) return onNamespace.some((re) => re.test(ns));
    missing.add('source.namespace');
    return null;
  };
}

/**
 * Peer service account test: `<ns>/<sa>` (or `<sa>` in the policy's namespace) against the
 * principal, with Istio's pattern `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`.
 */
function serviceAccountTest(policyNamespace: string) {
  return (values: readonly string[]) => {
    const res = values.map((v) => {
      const [ns, sa] = v.includes('/') ? (v.split('/', 2) as [string, string]) : [policyNamespace, v];
      return new RegExp(`^spiffe://.+/ns/${escapeRegex(ns)}/(.+/|)sa/${escapeRegex(sa)}(/.+)?$`);
    });
    return (f: NormalisedFacts, missing: Set<string>): Tri => {
      if (f.authenticated === false) return false;
      const principal = f.principal;
      if (principal !== null) return res.some((re) => re.test(principal));
      missing.add('source.principal');
      return null;
    };
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A test of one nullable string fact. */
function stringFactTest(
  name: string,
  get: (f: NormalisedFacts) => string | null,
  compile: (v: string) => StringPredicate = (v) => compileStringValue(v),
) {
  return (values: readonly string[]) => {
    const pred = anyOf(values, compile);
    return (f: NormalisedFacts, missing: Set<string>): Tri => {
      const v = get(f);
      if (v === null) {
        missing.add(name);
        return null;
      }
      return pred(v);
    };
  };
}

function ipFactTest(name: string, get: (f: NormalisedFacts) => string | null) {
  return (values: readonly string[]) => {
    const pred = compileIpBlocks(values);
    return (f: NormalisedFacts, missing: Set<string>): Tri => {
      const v = get(f);
      const r = v === null ? null : pred(v);
      if (r === null) missing.add(name);
      return r;
    };
  };
}

function portTest(values: readonly string[]) {
  const ports = new Set(values.map(Number));
  return (f: NormalisedFacts, missing: Set<string>): Tri => {
    const p = f.facts.destinationPort;
    if (p === null) {
      missing.add('destination.port');
      return null;
    }
    return ports.has(p);
  };
}

function headerTest(header: string) {
  const name = header.toLowerCase();
  return (values: readonly string[]) => {
    // "*" is Envoy's present_match: any value, even empty, as long as the header is there
    const pred = anyOf(values, (v) => (v === '*' ? () => true : compileStringValue(v)));
    return (f: NormalisedFacts, missing: Set<string>): Tri => {
      const v = f.facts.headers[name];
      if (v !== undefined) return pred(v);
      if (f.facts.headersComplete) return false; // absent header: no value matches
      missing.add(`request.headers[${name}]`);
      return null;
    };
  };
}

/** Facts no access log carries (JWT claims, filter metadata): always unknown. */
function alwaysUnknown(name: string) {
  return () => (_f: NormalisedFacts, missing: Set<string>): Tri => {
    missing.add(name);
    return null;
  };
}

const sourceIpTest = ipFactTest('source.ip', (f) => f.facts.sourceIp);
const remoteIpTest = ipFactTest('remote.ip', (f) => f.facts.remoteIp);
const destinationIpTest = ipFactTest('destination.ip', (f) => f.facts.destinationIp);
const requestPrincipalTest = stringFactTest('request.auth.principal', (f) => f.facts.requestPrincipal);
const hostTest = stringFactTest('request.host', (f) => f.facts.host, (v) => compileStringValue(v, true));
const methodTest = stringFactTest('request.method', (f) => f.facts.method);
const pathTest = stringFactTest('request.path', (f) => f.path, compilePathValue);
const sniTest = stringFactTest('connection.sni', (f) => f.facts.sni);

function compileSource(s: AuthorizationSource, policyNamespace: string): FieldMatcher[] {
  const out: FieldMatcher[] = [];
  both(out, s.principals, s.notPrincipals, false, principalTest);
  both(out, s.requestPrincipals, s.notRequestPrincipals, true, requestPrincipalTest);
  both(out, s.namespaces, s.notNamespaces, false, namespaceTest);
  both(out, s.serviceAccounts, s.notServiceAccounts, false, serviceAccountTest(policyNamespace));
  both(out, s.ipBlocks, s.notIpBlocks, false, sourceIpTest);
  both(out, s.remoteIpBlocks, s.notRemoteIpBlocks, false, remoteIpTest);
  return out;
}

function compileOperation(o: AuthorizationOperation): FieldMatcher[] {
  const out: FieldMatcher[] = [];
  both(out, o.hosts, o.notHosts, true, hostTest);
  both(out, o.ports, o.notPorts, false, portTest);
  both(out, o.methods, o.notMethods, true, methodTest);
  both(out, o.paths, o.notPaths, true, pathTest);
  return out;
}

/** Compiles a `when` condition: `values` ORed, `notValues` negated, both ANDed. */
function compileCondition(c: AuthorizationCondition): FieldMatcher {
  const [make, httpOnly] = conditionMaker(c.key);
  const parts: FieldMatcher[] = [];
  both(parts, c.values, c.notValues, httpOnly, make);
  return {
    httpOnly,
    test: (f, missing) => parts.reduce<Tri>((acc, p) => (acc === false ? false : and3(acc, p.test(f, missing))), true),
  };
}

type Make = (values: readonly string[]) => (f: NormalisedFacts, missing: Set<string>) => Tri;

function conditionMaker(key: string): [Make, boolean] {
  switch (key) {
    case 'source.ip': return [sourceIpTest, false];
    case 'remote.ip': return [remoteIpTest, false];
    case 'destination.ip': return [destinationIpTest, false];
    case 'destination.port': return [portTest, false];
    case 'source.principal': return [principalTest, false];
    case 'source.namespace': return [namespaceTest, false];
    case 'connection.sni': return [sniTest, false];
    case 'request.auth.principal': return [requestPrincipalTest, true];
    case 'request.auth.audiences':
    case 'request.auth.presenter': return [alwaysUnknown(key), true];
    default: break;
  }
  const header = /^request\.headers\[([^\]]+)\]$/.exec(key);
  if (header !== null) return [headerTest(header[1]!), true];
  if (key.startsWith('request.auth.claims[')) return [alwaysUnknown(key), true];
  return [alwaysUnknown(key), false]; // experimental.envoy.filters.*: filter metadata is never logged
}

/**
 * Evaluates one rule. On TCP Istio drops an ALLOW rule that uses an HTTP-only field entirely
 * (it never matches) and evaluates other actions with the HTTP-only fields removed ("missing
 * attributes are treated as matches" for DENY). With the protocol unknown both readings are
 * tried and must agree.
 */
export function evaluateRule(rule: CompiledRule, action: AuthorizationAction, f: NormalisedFacts, missing: Set<string>): Tri {
  const protocol = f.facts.protocol;
  if (!rule.httpOnly || protocol === 'http') return evalRuleAs(rule, 'http', action, f, missing);
  if (protocol === 'tcp') return evalRuleAs(rule, 'tcp', action, f, missing);
  const asHttp = evalRuleAs(rule, 'http', action, f, missing);
  const asTcp = evalRuleAs(rule, 'tcp', action, f, missing);
  if (asHttp === asTcp) return asHttp;
  missing.add('protocol');
  return null;
}

function evalRuleAs(rule: CompiledRule, mode: 'http' | 'tcp', action: AuthorizationAction, f: NormalisedFacts, missing: Set<string>): Tri {
  if (mode === 'tcp' && action === 'ALLOW' && rule.httpOnly) return false;
  const field = (m: FieldMatcher): Tri => (mode === 'tcp' && m.httpOnly ? true : m.test(f, missing));
  const all = (ms: readonly FieldMatcher[]): Tri => {
    let acc: Tri = true;
    for (const m of ms) {
      acc = and3(acc, field(m));
      if (acc === false) return false;
    }
    return acc;
  };
  const any = (groups: readonly FieldMatcher[][]): Tri => {
    if (groups.length === 0) return true;
    let acc: Tri = false;
    for (const g of groups) {
      acc = or3(acc, all(g));
      if (acc === true) return true;
    }
    return acc;
  };
  let result = all(rule.when);
  if (result === false) return false;
  result = and3(result, any(rule.to));
  if (result === false) return false;
  return and3(result, any(rule.from));
}

// ---------------------------------------------------------------------------------------------
// ServiceEntry
// ---------------------------------------------------------------------------------------------

function compileServiceEntry(se: ServiceEntry): CompiledServiceEntry {
  const hosts = se.spec.hosts.map((h) => h.toLowerCase().replace(/\.$/, ''));
  const exact = new Set(hosts.filter((h) => !h.startsWith('*')));
  const suffixes = hosts.filter((h) => h.startsWith('*')).map((h) => h.slice(1)); // "*.example.com" -> ".example.com", "*" -> ""
  const exportTo = se.spec.exportTo !== undefined && se.spec.exportTo.length > 0 ? se.spec.exportTo : ['*'];
  const addresses = se.spec.addresses ?? [];
  return {
    id: idOf(se.metadata),
    namespace: namespaceOf(se.metadata),
    hostTest: (host) => exact.has(host) || suffixes.some((s) => host.endsWith(s) && host.length > s.length),
    addressTest: addresses.length > 0 ? compileIpBlocks(addresses) : null,
    ports: se.spec.ports !== undefined ? new Set(se.spec.ports.map((p) => p.number)) : null,
    exportTo: {
      all: exportTo.includes('*'),
      none: exportTo.every((e) => e === '~'),
      namespaces: new Set(exportTo.map((e) => (e === '.' ? namespaceOf(se.metadata) : e))),
    },
  };
}
