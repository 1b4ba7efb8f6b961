/**
 * The `detectors` section of the configuration: which detectors run and what they may know
 * (allow-lists, the learned baseline, workload labels, what counts as weak TLS). Defaults live
 * here and nowhere else; `DetectorsConfigSchema.parse({})` is a complete, working config.
 */
import { z } from 'zod';
import { DETECTORS, DetectorSchema } from './finding.js';

const labels = z.record(z.string().min(1), z.string());

export const DetectorsConfigSchema = z
  .object({
    enabled: z.array(DetectorSchema).default([...DETECTORS]).describe('Detectors that run on every stored batch. Default: all of them.'),
    policies_dir: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Directory of Istio YAML (PeerAuthentication, AuthorizationPolicy, ServiceEntry, mesh config) the detectors evaluate against. null: no policies; plaintext findings are then low severity and authorization checks rely on the baseline alone.'),
    max_samples: z.number().int().min(1).max(20).default(10).describe('Sample flow ids kept per finding (the most recent ones).'),
    health_check_user_agents: z
      .array(z.string().min(1))
      .default(['kube-probe/', 'GoogleHC/', 'Envoy/HC', 'ELB-HealthChecker/'])
      .describe('User-agent prefixes of health checkers (kubelet, cloud load balancers). Their requests are never findings for plaintext or unexpected-principal; they are counted.'),
    allow: z
      .object({
        plaintext_sources: z
          .array(z.string().min(1))
          .default([])
          .describe('Callers whose plaintext is expected (e.g. a legacy job during a PERMISSIVE migration): a SPIFFE ID, an IP, or an IPv4 CIDR (10.3.0.0/24).'),
        principals: z.array(z.string().min(1)).default([]).describe('Caller principals never reported by unexpected-principal (exact SPIFFE IDs, or a prefix ending in *).'),
        egress_hosts: z.array(z.string().min(1)).default([]).describe('External hosts never reported by unregistered-egress (exact, or *.suffix).'),
      })
      .strict()
      .prefault({})
      .describe('Allow-lists: traffic known to be fine.'),
    baseline: z
      .object({
        learning_window_ms: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('How long, from the first flow ever stored, edges (caller -> destination workload and port) are learned as expected, ms. 0 disables the baseline: only AuthorizationPolicies decide what is unexpected.'),
      })
      .strict()
      .prefault({})
      .describe('Learned baseline of expected edges. Edges an ALLOW rule explicitly permits are expected too (policies seed it).'),
    service_labels: z
      .record(z.string().min(1), labels)
      .default({})
      .describe('Workload labels per destination service (FQDN, or short name): used when the envelope carries no Kubernetes labels. Without either, app=<service short name> is inferred and the finding says so.'),
    egress_gateway_apps: z
      .array(z.string().min(1))
      .default(['istio-egressgateway'])
      .describe('app (or istio) label values, or pod name prefixes, of egress gateways: a 403 there is a denied egress.'),
    weak_tls: z
      .object({
        min_version: z.enum(['TLSv1.1', 'TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Lowest acceptable TLS version.'),
        weak_ciphers: z
          .array(z.string().min(1))
          .default(['RC4', '3DES', 'DES-CBC', '_DES_', 'NULL', 'EXPORT', 'MD5', 'anon'])
          .describe('Cipher name fragments that make a cipher weak (matched case-sensitively as substrings of the OpenSSL or IANA name).'),
      })
      .strict()
      .prefault({}),
    replay_policies_dir: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Server-side directory POST /api/v1/policy/replay may read with {"policies":"configured"}. null: the API only accepts inline YAML. The API never reads any other path.'),
  })
  .strict();

/** The validated detectors config (defaults applied). */
export type DetectorsConfig = z.infer<typeof DetectorsConfigSchema>;
/** The detectors config as written (every field optional). */
export type DetectorsConfigInput = z.input<typeof DetectorsConfigSchema>;
