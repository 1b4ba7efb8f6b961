/**
 * Istio security resources as meshtrail reads them: PeerAuthentication and AuthorizationPolicy
 * (security.istio.io v1 / v1beta1), ServiceEntry (networking.istio.io v1 / v1beta1 / v1alpha3)
 * and the two mesh-config settings the evaluators need.
 *
 * The resource schemas accept exactly the fields Istio defines (camelCase, as in the CRDs);
 * an unknown field is refused with its path, the way the API server refuses it with
 * `preserveUnknownFields: false`. Checks Istio's validating webhook does and that change the
 * meaning of a policy (empty `from.source`, a condition with neither `values` nor `notValues`,
 * a bad port or CIDR, `provider` without `CUSTOM`) are refused too, so an evaluator never sees
 * a policy Istio would not have accepted. `metadata` keeps name, namespace, creationTimestamp,
 * labels and annotations; the other Kubernetes bookkeeping fields are accepted and dropped,
 * and so is `status`, so `kubectl get -o yaml` output loads as it is.
 *
 * Mesh config: a document of `kind: MeshConfig` whose top-level keys are MeshConfig fields
 * (`apiVersion` and `metadata` optional), or an `IstioOperator` (`spec.meshConfig`), or the
 * `istio` ConfigMap (`data.mesh`, a YAML string). Only `outboundTrafficPolicy.mode` and
 * `rootNamespace` are read; the other MeshConfig fields are accepted and ignored, because
 * MeshConfig has dozens of fields that do not bear on these evaluations.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

/** A label map (`matchLabels`, `labels`). */
const LabelMapSchema = z.record(z.string(), z.string());

/** Kubernetes object metadata: the fields policy evaluation uses; the rest are dropped. */
export const ObjectMetaSchema = z
  .object({
    name: z.string().min(1).describe('Resource name.'),
    namespace: z
      .string()
      .min(1)
      .optional()
      .describe('Resource namespace; the loader assumes "default" (with a warning) when it is absent, as kubectl does without -n.'),
    creationTimestamp: z
      .string()
      .nullable()
      .optional()
      .describe('RFC 3339 creation time; decides "oldest wins" conflicts between PeerAuthentications. Often absent in hand-written YAML.'),
    labels: LabelMapSchema.nullable().optional(),
    annotations: LabelMapSchema.nullable().optional(),
  })
  .describe('Kubernetes ObjectMeta subset. Unknown metadata fields (uid, resourceVersion, managedFields ...) are dropped.');

/** `istio.type.v1beta1.WorkloadSelector`. */
export const WorkloadSelectorSchema = z.strictObject({
  matchLabels: LabelMapSchema.optional().describe('Labels a workload must all carry for the policy to select it.'),
});

/** `istio.type.v1beta1.PolicyTargetReference` (targetRef / targetRefs). */
export const PolicyTargetReferenceSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// PeerAuthentication
// ---------------------------------------------------------------------------------------------

/** PeerAuthentication.MutualTLS.Mode. */
export const MtlsModeSchema = z.enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);

const MutualTlsSchema = z.strictObject({
  mode: MtlsModeSchema.optional().describe('mTLS mode; absent means UNSET (inherit from the parent level).'),
});

/** The spec of a PeerAuthentication. */
export const PeerAuthenticationSpecSchema = z
  .strictObject({
    selector: WorkloadSelectorSchema.optional(),
    mtls: MutualTlsSchema.optional(),
    portLevelMtls: z
      .record(z.string(), MutualTlsSchema)
      .optional()
      .describe('Per workload (container) port modes; honoured only on policies with a workload selector.'),
  })
  .superRefine((spec, ctx) => {
    if (ctx.issues.length > 0) return;
    for (const port of Object.keys(spec.portLevelMtls ?? {})) {
      if (!isPortString(port) || port === '0') {
        ctx.addIssue({ code: 'custom', path: ['portLevelMtls', port], message: `port "${port}" must be an integer in 1..65535` });
      }
    }
  });

const SecurityApiVersion = z.enum(['security.istio.io/v1', 'security.istio.io/v1beta1']);

/** A PeerAuthentication resource. */
export const PeerAuthenticationSchema = z
  .strictObject({
    apiVersion: SecurityApiVersion,
    kind: z.literal('PeerAuthentication'),
    metadata: ObjectMetaSchema,
    spec: PeerAuthenticationSpecSchema.default({}),
    status: z.unknown().optional(),
  })
  .transform(({ status: _status, ...rest }) => rest);

// ---------------------------------------------------------------------------------------------
// AuthorizationPolicy
// ---------------------------------------------------------------------------------------------

const stringList = z.array(z.string());

/** Rule.From.source. Fields are ANDed, values inside one field ORed. */
export const SourceSchema = z.strictObject({
  principals: stringList.optional(),
  notPrincipals: stringList.optional(),
  requestPrincipals: stringList.optional(),
  notRequestPrincipals: stringList.optional(),
  namespaces: stringList.optional(),
  notNamespaces: stringList.optional(),
  serviceAccounts: stringList
    .optional()
    .describe('Peer service accounts as "<namespace>/<name>", or "<name>" for one in the policy\'s namespace (newer Istio releases).'),
  notServiceAccounts: stringList.optional(),
  ipBlocks: stringList.optional(),
  notIpBlocks: stringList.optional(),
  remoteIpBlocks: stringList.optional(),
  notRemoteIpBlocks: stringList.optional(),
});

/** Rule.To.operation. Fields are ANDed, values inside one field ORed. */
export const OperationSchema = z.strictObject({
  hosts: stringList.optional(),
  notHosts: stringList.optional(),
  ports: stringList.optional(),
  notPorts: stringList.optional(),
  methods: stringList.optional(),
  notMethods: stringList.optional(),
  paths: stringList.optional(),
  notPaths: stringList.optional(),
});

/** Condition keys Istio accepts in `when` (https://istio.io/latest/docs/reference/config/security/conditions/). */
export const CONDITION_KEYS = [
  'source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port',
  'connection.sni', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter',
] as const;
/** Condition key prefixes that carry a bracketed name, e.g. `request.headers[User-Agent]`. */
export const CONDITION_KEY_PATTERN = /^(?:request\.headers|request\.auth\.claims)\[[^\]]+\](?:\[[^\]]+\])*$|^experimental\.envoy\.filters\./;

/** Rule.when condition. */
export const ConditionSchema = z.strictObject({
  key: z.string().min(1),
  values: stringList.optional(),
  notValues: stringList.optional(),
});

/** An AuthorizationPolicy rule; an empty rule `{}` matches every request. */
export const RuleSchema = z.strictObject({
  from: z.array(z.strictObject({ source: SourceSchema })).optional(),
  to: z.array(z.strictObject({ operation: OperationSchema })).optional(),
  when: z.array(ConditionSchema).optional(),
});

/** AuthorizationPolicy.Action; ALLOW when absent. */
export const AuthorizationActionSchema = z.enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']);

/** The spec of an AuthorizationPolicy. */
export const AuthorizationPolicySpecSchema = z
  .strictObject({
    selector: WorkloadSelectorSchema.optional(),
    targetRef: PolicyTargetReferenceSchema.optional(),
    targetRefs: z.array(PolicyTargetReferenceSchema).optional(),
    rules: z.array(RuleSchema).optional().describe('Absent or empty: the policy never matches (ALLOW with no rules allows nothing).'),
    action: AuthorizationActionSchema.default('ALLOW'),
    provider: z.strictObject({ name: z.string().min(1) }).optional(),
  })
  .superRefine((spec, ctx) => {
    if (ctx.issues.length > 0) return; // shape errors first: checks on a half-valid spec only add noise
    const targets = [spec.selector, spec.targetRef, spec.targetRefs?.length ? spec.targetRefs : undefined].filter((x) => x !== undefined).length;
    if (targets > 1) ctx.addIssue({ code: 'custom', path: [], message: 'at most one of selector, targetRef and targetRefs may be set' });
    if (spec.action === 'CUSTOM' && spec.provider === undefined) {
      ctx.addIssue({ code: 'custom', path: ['provider'], message: 'action CUSTOM needs a provider' });
    }
    if (spec.action !== 'CUSTOM' && spec.provider !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['provider'], message: 'provider is only allowed with action CUSTOM' });
    }
    (spec.rules ?? []).forEach((rule, r) => checkRule(rule, ['rules', r], ctx));
  });

type Rule = z.infer<typeof RuleSchema>;
type Ctx = z.RefinementCtx;

/** Istio webhook checks on one rule that change its meaning if skipped. */
function checkRule(rule: Rule, path: (string | number)[], ctx: Ctx): void {
  if (rule.from !== undefined && rule.from.length === 0) ctx.addIssue({ code: 'custom', path: [...path, 'from'], message: '`from` must not be empty' });
  if (rule.to !== undefined && rule.to.length === 0) ctx.addIssue({ code: 'custom', path: [...path, 'to'], message: '`to` must not be empty' });
  (rule.from ?? []).forEach(({ source }, i) => {
    const p = [...path, 'from', i, 'source'];
    if (Object.values(source).every((v) => v === undefined || v.length === 0)) ctx.addIssue({ code: 'custom', path: p, message: '`from.source` must not be empty' });
    for (const key of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) {
      (source[key] ?? []).forEach((v, j) => {
        if (!isIpOrCidr(v)) ctx.addIssue({ code: 'custom', path: [...p, key, j], message: `"${v}" is not an IP address or CIDR` });
      });
    }
    for (const key of ['serviceAccounts', 'notServiceAccounts'] as const) {
      (source[key] ?? []).forEach((v, j) => {
        if (!/^(?:[^/*]+\/)?[^/*]+$/.test(v)) ctx.addIssue({ code: 'custom', path: [...p, key, j], message: `"${v}" must be "<serviceaccount>" or "<namespace>/<serviceaccount>"` });
      });
    }
  });
  (rule.to ?? []).forEach(({ operation }, i) => {
    const p = [...path, 'to', i, 'operation'];
    if (Object.values(operation).every((v) => v === undefined || v.length === 0)) ctx.addIssue({ code: 'custom', path: p, message: '`to.operation` must not be empty' });
    for (const key of ['ports', 'notPorts'] as const) {
      (operation[key] ?? []).forEach((v, j) => {
        if (!isPortString(v)) ctx.addIssue({ code: 'custom', path: [...p, key, j], message: `port "${v}" must be an integer in 0..65535` });
      });
    }
  });
  (rule.when ?? []).forEach((cond, i) => {
    const p = [...path, 'when', i];
    if (!(CONDITION_KEYS as readonly string[]).includes(cond.key) && !CONDITION_KEY_PATTERN.test(cond.key)) {
      ctx.addIssue({ code: 'custom', path: [...p, 'key'], message: `unknown condition key "${cond.key}"` });
    }
    if ((cond.values ?? []).length === 0 && (cond.notValues ?? []).length === 0) {
      ctx.addIssue({ code: 'custom', path: p, message: 'at least one of values or notValues must be set' });
    }
    if (cond.key === 'destination.port') {
      for (const v of [...(cond.values ?? []), ...(cond.notValues ?? [])]) {
        if (!isPortString(v)) ctx.addIssue({ code: 'custom', path: p, message: `port "${v}" must be an integer in 0..65535` });
      }
    }
    if (cond.key === 'source.ip' || cond.key === 'remote.ip' || cond.key === 'destination.ip') {
      for (const v of [...(cond.values ?? []), ...(cond.notValues ?? [])]) {
        if (!isIpOrCidr(v)) ctx.addIssue({ code: 'custom', path: p, message: `"${v}" is not an IP address or CIDR` });
      }
    }
  });
}

/** An AuthorizationPolicy resource. */
export const AuthorizationPolicySchema = z
  .strictObject({
    apiVersion: SecurityApiVersion,
    kind: z.literal('AuthorizationPolicy'),
    metadata: ObjectMetaSchema,
    spec: AuthorizationPolicySpecSchema.default({ action: 'ALLOW' }),
    status: z.unknown().optional(),
  })
  .transform(({ status: _status, ...rest }) => rest);

// ---------------------------------------------------------------------------------------------
// ServiceEntry
// ---------------------------------------------------------------------------------------------

const portNumber = z.number().int().min(1).max(65535);

/** ServicePort. */
export const ServicePortSchema = z.strictObject({
  number: portNumber,
  protocol: z.string().optional(),
  name: z.string().optional(),
  targetPort: portNumber.optional(),
});

/** WorkloadEntry as used in ServiceEntry.endpoints. */
export const WorkloadEntrySchema = z.strictObject({
  address: z.string().optional(),
  ports: z.record(z.string(), portNumber).optional(),
  labels: LabelMapSchema.optional(),
  network: z.string().optional(),
  locality: z.string().optional(),
  weight: z.number().int().nonnegative().optional(),
  serviceAccount: z.string().optional(),
});

/** The spec of a ServiceEntry. */
export const ServiceEntrySpecSchema = z.strictObject({
  hosts: z.array(z.string().min(1)).min(1),
  addresses: stringList.optional(),
  ports: z.array(ServicePortSchema).optional(),
  location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).optional(),
  resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']).optional(),
  endpoints: z.array(WorkloadEntrySchema).optional(),
  workloadSelector: z.strictObject({ labels: LabelMapSchema.optional() }).optional(),
  exportTo: stringList.optional().describe('Namespaces that see the entry: "*" all (the default), "." its own, "~" none, or names.'),
  subjectAltNames: stringList.optional(),
});

/** A ServiceEntry resource. */
export const ServiceEntrySchema = z
  .strictObject({
    apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
    kind: z.literal('ServiceEntry'),
    metadata: ObjectMetaSchema,
    spec: ServiceEntrySpecSchema,
    status: z.unknown().optional(),
  })
  .transform(({ status: _status, ...rest }) => rest);

// ---------------------------------------------------------------------------------------------
// Mesh config
// ---------------------------------------------------------------------------------------------

/** MeshConfig.OutboundTrafficPolicy.Mode. */
export const OutboundTrafficModeSchema = z.enum(['ALLOW_ANY', 'REGISTRY_ONLY']);

/** The MeshConfig fields meshtrail reads; any other MeshConfig field is accepted and ignored. */
export const MeshConfigFragmentSchema = z.looseObject({
  outboundTrafficPolicy: z.strictObject({ mode: OutboundTrafficModeSchema.optional() }).optional(),
  rootNamespace: z.string().min(1).optional(),
});

/** A `kind: MeshConfig` document: MeshConfig fields at the top level. */
export const MeshConfigDocumentSchema = MeshConfigFragmentSchema.extend({
  apiVersion: z.string().optional(),
  kind: z.literal('MeshConfig'),
  metadata: z.unknown().optional(),
});

/** An IstioOperator: only `spec.meshConfig` is read. */
export const IstioOperatorMeshSchema = z.looseObject({
  kind: z.literal('IstioOperator'),
  spec: z.looseObject({ meshConfig: MeshConfigFragmentSchema.optional() }).optional(),
});

/** The mesh settings the evaluators use, defaults applied. */
export const MeshSettingsSchema = z.strictObject({
  outboundTrafficPolicy: z
    .strictObject({ mode: OutboundTrafficModeSchema.default('ALLOW_ANY') })
    .default({ mode: 'ALLOW_ANY' })
    .describe('Istio default: ALLOW_ANY.'),
  rootNamespace: z.string().min(1).default('istio-system').describe('Namespace whose policies apply mesh-wide; Istio default istio-system.'),
});

// ---------------------------------------------------------------------------------------------
// The policy set
// ---------------------------------------------------------------------------------------------

/** Every resource the evaluators use, as loaded from a directory. */
export const PolicySetSchema = z.strictObject({
  peerAuthentications: z.array(PeerAuthenticationSchema),
  authorizationPolicies: z.array(AuthorizationPolicySchema),
  serviceEntries: z.array(ServiceEntrySchema),
  mesh: MeshSettingsSchema,
});

export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;
export type MtlsMode = z.infer<typeof MtlsModeSchema>;
export type PeerAuthentication = z.infer<typeof PeerAuthenticationSchema>;
export type AuthorizationPolicy = z.infer<typeof AuthorizationPolicySchema>;
export type AuthorizationAction = z.infer<typeof AuthorizationActionSchema>;
export type AuthorizationRule = z.infer<typeof RuleSchema>;
export type AuthorizationSource = z.infer<typeof SourceSchema>;
export type AuthorizationOperation = z.infer<typeof OperationSchema>;
export type AuthorizationCondition = z.infer<typeof ConditionSchema>;
export type ServiceEntry = z.infer<typeof ServiceEntrySchema>;
export type OutboundTrafficMode = z.infer<typeof OutboundTrafficModeSchema>;
export type MeshSettings = z.infer<typeof MeshSettingsSchema>;
export type PolicySet = z.infer<typeof PolicySetSchema>;

/** An empty policy set with Istio's mesh defaults (no policies: PERMISSIVE, allow all, ALLOW_ANY). */
export function emptyPolicySet(): PolicySet {
  return { peerAuthentications: [], authorizationPolicies: [], serviceEntries: [], mesh: MeshSettingsSchema.parse({}) };
}

/** True for a decimal port 0..65535 written as a string ("8080"). */
function isPortString(v: string): boolean {
  return /^\d{1,5}$/.test(v) && Number(v) <= 65535;
}

/** True for an IPv4/IPv6 address or CIDR with a prefix length that fits the family. */
export function isIpOrCidr(v: string): boolean {
  const slash = v.indexOf('/');
  const addr = slash === -1 ? v : v.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) return false;
  if (slash === -1) return true;
  const len = v.slice(slash + 1);
  return /^\d{1,3}$/.test(len) && Number(len) <= (family === 4 ? 32 : 128);
}
