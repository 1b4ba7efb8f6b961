/**
 * Loads Istio security resources from a directory of YAML files into a `PolicySet`.
 *
 * Guarantees:
 * - every `*.yaml` / `*.yml` under the directory (recursively, in sorted path order) is read;
 *   each file may hold several `---` documents, and a `kind: List` document is expanded;
 * - each document is validated on its own: a malformed resource becomes a `PolicyProblem`
 *   (file, 1-based document number, offending path, message) and the rest still load;
 * - kinds meshtrail does not evaluate (Deployment, VirtualService ...) are reported with
 *   severity `ignored`, not as errors;
 * - the first mesh config found (sorted order) wins; later ones are reported.
 * The only side effect is reading files; `parsePolicyDocuments` and `buildPolicySet` are pure.
 *
 * `policySetDigest` is the SHA-256 of `canonicalPolicySetJson`: the validated resources (as the
 * evaluators see them: defaults applied, Kubernetes bookkeeping and `status` dropped), resources
 * sorted by namespace and name, object keys sorted, no whitespace. It does not depend on file
 * names, file order, comments or key order, so it identifies the policy semantics that an
 * evidence report was computed against.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import {
  AuthorizationPolicySchema,
  IstioOperatorMeshSchema,
  MeshConfigDocumentSchema,
  MeshConfigFragmentSchema,
  MeshSettingsSchema,
  PeerAuthenticationSchema,
  ServiceEntrySchema,
  type AuthorizationPolicy,
  type OutboundTrafficMode,
  type PeerAuthentication,
  type PolicySet,
  type ServiceEntry,
} from '../../schemas/istio-policy.js';

/** One thing wrong with (or skipped in) a policy file. */
export interface PolicyProblem {
  /** The file, as joined from the loaded directory (or the name given to `parsePolicyDocuments`). */
  file: string;
  /** 1-based number of the YAML document inside the file (the first document is 1). */
  document: number;
  /** `error`: the resource was refused; `warning`: loaded, but something is off; `ignored`: not a kind meshtrail evaluates. */
  severity: 'error' | 'warning' | 'ignored';
  kind: string | null;
  /** `<namespace>/<name>` when the document had them. */
  resource: string | null;
  /** Dotted path inside the document, e.g. `spec.rules[0].from[0].source.principalz`; "" for the whole document. */
  path: string;
  message: string;
}

/** A document that validated, with where it came from. */
export type LoadedResource =
  | { kind: 'PeerAuthentication'; resource: PeerAuthentication; file: string; document: number }
  | { kind: 'AuthorizationPolicy'; resource: AuthorizationPolicy; file: string; document: number }
  | { kind: 'ServiceEntry'; resource: ServiceEntry; file: string; document: number }
  | { kind: 'MeshConfig'; resource: MeshFragment; file: string; document: number };

/** The mesh settings one document set; unset ones keep Istio's defaults. */
export interface MeshFragment {
  rootNamespace?: string;
  outboundTrafficPolicy?: { mode: OutboundTrafficMode };
}

/** The result of loading a directory. */
export interface LoadResult {
  policies: PolicySet;
  problems: PolicyProblem[];
}

/**
 * Reads every YAML file under `dir` and builds the policy set. Throws only when the directory
 * itself cannot be read; everything wrong inside the files is a problem in the result.
 */
export function loadPolicies(dir: string): LoadResult {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (cause) {
    throw new Error(`Cannot read the policy directory ${dir}.`, { cause });
  }
  const files = entries.filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => join(dir, f));
  const resources: LoadedResource[] = [];
  const problems: PolicyProblem[] = [];
  for (const file of files) {
    let text: string;
    try {
      if (!statSync(file).isFile()) continue;
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      problems.push({ file, document: 0, severity: 'error', kind: null, resource: null, path: '', message: `unreadable: ${(cause as Error).message}` });
      continue;
    }
    const parsed = parsePolicyDocuments(text, file);
    resources.push(...parsed.resources);
    problems.push(...parsed.problems);
  }
  const built = buildPolicySet(resources);
  return { policies: built.policies, problems: [...problems, ...built.problems] };
}

/** Parses and validates the YAML documents of one file (pure). */
export function parsePolicyDocuments(text: string, file: string): { resources: LoadedResource[]; problems: PolicyProblem[] } {
  const resources: LoadedResource[] = [];
  const problems: PolicyProblem[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push({ file, document, severity: 'error', kind: null, resource: null, path: '', message: `YAML: ${e.message}` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      problems.push({ file, document, severity: 'error', kind: null, resource: null, path: '', message: `YAML: ${(e as Error).message}` });
      return;
    }
    classify(value, '', { file, document }, resources, problems);
  });
  return { resources, problems };
}

interface Where {
  file: string;
  document: number;
}

function classify(value: unknown, prefix: string, where: Where, resources: LoadedResource[], problems: PolicyProblem[]): void {
  if (value === null || value === undefined) return; // empty document
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ ...where, severity: 'error', kind: null, resource: null, path: prefix, message: 'document is not a mapping' });
    return;
  }
  const doc = { ...(value as Record<string, unknown>) };
  // `spec:` with nothing after it is YAML null; the API server drops null fields, so Istio sees no spec
  if (doc['spec'] === null) delete doc['spec'];
  const kind = typeof doc['kind'] === 'string' ? doc['kind'] : null;
  const resource = resourceId(doc);
  const problem = (severity: PolicyProblem['severity'], path: string, message: string): void => {
    problems.push({ ...where, severity, kind, resource, path: joinPath(prefix, path), message });
  };
  const validate = <S extends z.ZodType>(schema: S): z.infer<S> | null => {
    const r = schema.safeParse(doc);
    if (r.success) return r.data;
    for (const issue of r.error.issues) {
      const base = formatPath(issue.path);
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problem('error', joinPath(base, key), 'unknown field');
      } else {
        problem('error', base, issue.message);
      }
    }
    return null;
  };

  switch (kind) {
    case 'List': {
      const items = doc['items'];
      if (!Array.isArray(items)) return problem('error', 'items', 'a List needs an items array');
      items.forEach((item, j) => classify(item, joinPath(prefix, `items[${j}]`), where, resources, problems));
      return;
    }
    case 'PeerAuthentication': {
      const r = validate(PeerAuthenticationSchema);
      if (r !== null) resources.push({ kind, resource: r, ...where });
      return;
    }
    case 'AuthorizationPolicy': {
      const r = validate(AuthorizationPolicySchema);
      if (r !== null) resources.push({ kind, resource: r, ...where });
      return;
    }
    case 'ServiceEntry': {
      const r = validate(ServiceEntrySchema);
      if (r !== null) resources.push({ kind, resource: r, ...where });
      return;
    }
    case 'MeshConfig': {
      const r = validate(MeshConfigDocumentSchema);
      if (r !== null) resources.push({ kind: 'MeshConfig', resource: pickMesh(r), ...where });
      return;
    }
    case 'IstioOperator': {
      const r = validate(IstioOperatorMeshSchema);
      if (r !== null && r.spec?.meshConfig !== undefined) resources.push({ kind: 'MeshConfig', resource: pickMesh(r.spec.meshConfig), ...where });
      else if (r !== null) problem('ignored', 'spec.meshConfig', 'IstioOperator without spec.meshConfig');
      return;
    }
    case 'ConfigMap': {
      const meta = doc['metadata'] as Record<string, unknown> | undefined;
      const name = typeof meta?.['name'] === 'string' ? meta['name'] : '';
      const data = doc['data'] as Record<string, unknown> | undefined;
      if (!/^istio(-.+)?$/.test(name) || typeof data?.['mesh'] !== 'string') {
        return problem('ignored', '', 'ConfigMap is not the istio mesh config (name istio[-<rev>] with data.mesh)');
      }
      let mesh: unknown;
      try {
        mesh = parseAllDocuments(data['mesh'])[0]?.toJS() ?? {};
      } catch (e) {
        return problem('error', 'data.mesh', `YAML: ${(e as Error).message}`);
      }
      const r = MeshConfigFragmentSchema.safeParse(mesh);
      if (!r.success) {
        for (const issue of r.error.issues) problem('error', joinPath('data.mesh', formatPath(issue.path)), issue.message);
        return;
      }
      resources.push({ kind: 'MeshConfig', resource: pickMesh(r.data), ...where });
      return;
    }
    case null:
      return problem('ignored', 'kind', 'document has no kind');
    default:
      return problem('ignored', '', `kind ${kind} (${String(doc['apiVersion'] ?? 'no apiVersion')}) is not a policy meshtrail evaluates`);
  }
}

function pickMesh(m: z.infer<typeof MeshConfigFragmentSchema>): MeshFragment {
  return {
    ...(m.rootNamespace !== undefined ? { rootNamespace: m.rootNamespace } : {}),
    ...(m.outboundTrafficPolicy?.mode !== undefined ? { outboundTrafficPolicy: { mode: m.outboundTrafficPolicy.mode } } : {}),
  };
}

/**
 * Assembles validated resources into a policy set (pure): fills missing namespaces with
 * "default", refuses duplicates (same kind, namespace and name; the first wins), takes the first
 * mesh config, and warns about resources Istio accepts but ignores.
 */
export function buildPolicySet(resources: readonly LoadedResource[]): LoadResult {
  const problems: PolicyProblem[] = [];
  const seen = new Map<string, LoadedResource>();
  const policies: PolicySet = { peerAuthentications: [], authorizationPolicies: [], serviceEntries: [], mesh: MeshSettingsSchema.parse({}) };
  let meshFrom: LoadedResource | null = null;
  const warn = (r: LoadedResource, path: string, message: string, severity: PolicyProblem['severity'] = 'warning'): void => {
    const resource = r.kind === 'MeshConfig' ? null : `${r.resource.metadata.namespace ?? 'default'}/${r.resource.metadata.name}`;
    problems.push({ file: r.file, document: r.document, severity, kind: r.kind, resource, path, message });
  };

  for (const r of resources) {
    if (r.kind === 'MeshConfig') {
      if (meshFrom !== null) {
        warn(r, '', `a mesh config was already loaded from ${meshFrom.file} (document ${meshFrom.document}); this one is ignored`, 'error');
        continue;
      }
      meshFrom = r;
      policies.mesh = MeshSettingsSchema.parse({ ...policies.mesh, ...r.resource });
      continue;
    }
    const meta = r.resource.metadata;
    if (meta.namespace === undefined) {
      warn(r, 'metadata.namespace', 'no namespace; assumed "default"');
      meta.namespace = 'default';
    }
    const key = `${r.kind}/${meta.namespace}/${meta.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      warn(r, 'metadata.name', `duplicate of ${first.file} (document ${first.document}); this one is ignored`, 'error');
      continue;
    }
    seen.set(key, r);
    if (r.kind === 'PeerAuthentication') policies.peerAuthentications.push(r.resource);
    else if (r.kind === 'AuthorizationPolicy') policies.authorizationPolicies.push(r.resource);
    else policies.serviceEntries.push(r.resource);
  }

  // Warnings that need the root namespace, known only once the mesh config is read.
  const root = policies.mesh.rootNamespace;
  for (const r of seen.values()) {
    if (r.kind === 'PeerAuthentication') {
      const spec = r.resource.spec;
      const selector = Object.keys(spec.selector?.matchLabels ?? {}).length > 0;
      if (selector && r.resource.metadata.namespace === root) {
        warn(r, 'spec.selector', `PeerAuthentication with a workload selector in the root namespace ${root} is ignored by Istio`);
      }
      if (!selector && Object.keys(spec.portLevelMtls ?? {}).length > 0) {
        warn(r, 'spec.portLevelMtls', 'portLevelMtls only applies to policies with a workload selector; it is ignored');
      }
    } else if (r.kind === 'AuthorizationPolicy') {
      if (r.resource.metadata.annotations?.['istio.io/dry-run'] === 'true') warn(r, 'metadata.annotations', 'dry-run policy: evaluated as not enforced');
      const targets = r.resource.spec.targetRefs ?? (r.resource.spec.targetRef !== undefined ? [r.resource.spec.targetRef] : []);
      for (const t of targets) {
        if (t.kind !== 'Gateway') warn(r, 'spec.targetRefs', `target kind ${t.kind} is enforced by waypoints/gateways; not evaluated for sidecar workloads`);
      }
    }
  }
  return { policies, problems };
}

/** The canonical JSON of a policy set that `policySetDigest` hashes (see the file comment). */
export function canonicalPolicySetJson(policies: PolicySet): string {
  const byId = (a: { metadata: { name: string; namespace?: string | undefined } }, b: { metadata: { name: string; namespace?: string | undefined } }): number => {
    const ka = `${a.metadata.namespace ?? 'default'}\u0000${a.metadata.name}`;
    const kb = `${b.metadata.namespace ?? 'default'}\u0000${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  return canonicalJson({
    authorizationPolicies: [...policies.authorizationPolicies].sort(byId),
    mesh: policies.mesh,
    peerAuthentications: [...policies.peerAuthentications].sort(byId),
    serviceEntries: [...policies.serviceEntries].sort(byId),
  });
}

/** SHA-256 (lower-case hex) of the canonical serialisation of a policy set. */
export function policySetDigest(policies: PolicySet): string {
  return createHash('sha256').update(canonicalPolicySetJson(policies), 'utf8').digest('hex');
}

/** JSON with object keys sorted at every level and `undefined` members dropped. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

function resourceId(doc: Record<string, unknown>): string | null {
  const meta = doc['metadata'];
  if (meta === null || typeof meta !== 'object') return null;
  const m = meta as Record<string, unknown>;
  if (typeof m['name'] !== 'string') return null;
  return `${typeof m['namespace'] === 'string' ? m['namespace'] : 'default'}/${m['name']}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : joinPath(acc, String(seg))), '');
}

function joinPath(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return b.startsWith('[') ? `${a}${b}` : `${a}.${b}`;
}
