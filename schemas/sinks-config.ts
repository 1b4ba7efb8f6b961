/**
 * The `sinks:` section of the configuration: where findings events are delivered (syslog/CEF,
 * Splunk HEC, signed webhooks, Kafka). Each entry is `{ type, ... }`; unknown keys are refused.
 * Secrets (`token`, `secret`, `password`) are written as `${ENV_VAR}`; the config loader expands
 * them before validation. Defaults live here and nowhere else.
 *
 * Wire into `schemas/config.ts` as `sinks: SinksConfigSchema` (it defaults to `[]`).
 */
import { z } from 'zod';
import { ResponseCodeFilterSchema } from './api.js';

/** Retry policy of one sink: exponential backoff with full jitter between `initial_ms` and `max_ms`. */
export const SinkRetrySchema = z
  .object({
    initial_ms: z.number().int().min(1).max(3_600_000).default(500)
      .describe('First backoff after a failed send, ms. Doubles on each consecutive failure (with jitter). Default 500.'),
    max_ms: z.number().int().min(1).max(3_600_000).default(60_000)
      .describe('Longest backoff between two attempts, ms. A receiver down for an hour is retried at least this often. Default 60000.'),
  })
  .strict()
  .refine((r) => r.max_ms >= r.initial_ms, { message: 'max_ms must be >= initial_ms', path: ['max_ms'] });

const sinkName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, _ . - (max 63)');

/** An mTLS verdict as the /flows API spells it; YAML booleans are accepted for true/false. */
const FlowMtlsVerdictSchema = z.union([
  z.boolean().transform((b) => (b ? 'true' : 'false') as 'true' | 'false'),
  z.enum(['true', 'false', 'unknown']),
]);

/** Which flows a sink forwards, in the vocabulary of `GET /api/v1/flows` (every given field must match). */
export const SinkFlowsFilterSchema = z
  .object({
    mtls: z.union([FlowMtlsVerdictSchema, z.array(FlowMtlsVerdictSchema).min(1).max(3)])
      .transform((v) => [...new Set(Array.isArray(v) ? v : [v])].sort()).optional()
      .describe('mTLS verdict: true (mutually authenticated), false (plaintext), unknown (the line does not prove either), or a list of them.'),
    direction: z.enum(['inbound', 'outbound']).optional().describe('inbound or outbound, as the reporting proxy saw it.'),
    // The same rule as /flows?namespace= (an RFC 1123 label).
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name').optional()
      .describe('Source or destination namespace.'),
    response_code: z.union([z.number().int().min(0).max(999).transform(String), z.string()])
      .refine((s) => ResponseCodeFilterSchema.safeParse(s).success, 'must be a status code (503) or a class (5xx)')
      .optional().describe('An exact status (503) or a class (5xx).'),
  })
  .strict();

/** The named filters `flows:` also takes instead of an object. */
const FLOW_PRESETS = {
  plaintext: { mtls: ['false'] },
  mtls_unknown: { mtls: ['unknown'] },
  not_mtls: { mtls: ['false', 'unknown'] },
  all: {},
} as const satisfies Record<string, z.infer<typeof SinkFlowsFilterSchema>>;

/** `flows:` of a sink: a preset name or a filter object, normalised to the filter object. */
export const SinkFlowsSchema = z
  .union([
    z.enum(['plaintext', 'mtls_unknown', 'not_mtls', 'all']).transform((p): z.infer<typeof SinkFlowsFilterSchema> => {
      const preset = FLOW_PRESETS[p];
      return 'mtls' in preset ? { mtls: [...preset.mtls] } : {};
    }),
    SinkFlowsFilterSchema.refine((f) => Object.values(f).some((v) => v !== undefined), {
      message: 'an empty filter would forward every flow; write `flows: all` to mean that',
    }),
  ])
  .describe('Also forward raw flows matching this filter (off when absent): `plaintext`, `mtls_unknown`, `not_mtls`, `all`, or an object of /flows filters {mtls, direction, namespace, response_code}, all of which must match. Delivery starts with the flows stored after the sink first starts with flows on; see src/sinks/README.md.');

/** Fields every sink has: its name (which keys its outbox cursor), batching and retry. */
const common = {
  name: sinkName.optional()
    .describe('Stable name: keys the sink\'s outbox cursor, logs and metrics. Default: the type (`splunk_hec`), or `<type>-<n>` when the type appears more than once. Renaming a sink restarts its delivery from the oldest outbox event.'),
  batch_max_events: z.number().int().min(1).max(10_000).default(100)
    .describe('Most events handed to the receiver in one send (one HTTP request, one Kafka produce, one socket write). Default 100.'),
  poll_interval_ms: z.number().int().min(10).max(600_000).default(1000)
    .describe('How often an idle sink looks for new outbox events, ms; `dispatcher.notify()` wakes it earlier. Default 1000.'),
  retry: SinkRetrySchema.default({ initial_ms: 500, max_ms: 60_000 }),
  flows: SinkFlowsSchema.optional(),
};

const tlsFiles = z
  .object({
    ca_file: z.string().min(1).optional().describe('PEM CA bundle the server certificate is verified against. Default: the system CAs.'),
    cert_file: z.string().min(1).optional().describe('PEM client certificate, for receivers that require mutual TLS. Needs key_file.'),
    key_file: z.string().min(1).optional().describe('PEM private key of cert_file.'),
    servername: z.string().min(1).optional().describe('Name the server certificate must carry (SNI); default the host.'),
    reject_unauthorized: z.boolean().default(true).describe('Verify the server certificate. Turning this off is for tests only.'),
  })
  .strict()
  .refine((t) => !t.cert_file === !t.key_file, { message: 'cert_file and key_file go together', path: ['key_file'] });

const timeoutMs = (dflt: number) => z.number().int().min(100).max(600_000).default(dflt)
  .describe(`How long one send may take before it is abandoned and retried, ms. Default ${dflt}.`);

/** RFC 5424 syslog over TCP (RFC 6587 octet counting) or TLS (RFC 5425), body CEF or ECS JSON. */
export const SyslogSinkConfigSchema = z
  .object({
    type: z.literal('syslog'),
    ...common,
    host: z.string().min(1).describe('Syslog receiver host.'),
    port: z.number().int().min(1).max(65535).describe('Receiver port (514 plain TCP, 6514 TLS by convention).'),
    transport: z.enum(['tcp', 'tls']).default('tcp').describe('`tcp`: RFC 6587 octet-counted frames; `tls`: the same frames inside TLS (RFC 5425).'),
    tls: tlsFiles.optional().describe('TLS settings for `transport: tls`; the server certificate is always verified unless reject_unauthorized is false.'),
    format: z.enum(['cef', 'json']).default('cef').describe('Message body: ArcSight CEF, or one ECS JSON document.'),
    facility: z.number().int().min(0).max(23).default(10).describe('Syslog facility number (10 = authpriv, 4 = auth, 16..23 = local0..7). Default 10.'),
    app_name: z.string().regex(/^[\x21-\x7e]{1,48}$/).default('meshtrail').describe('RFC 5424 APP-NAME.'),
    hostname: z.string().regex(/^[\x21-\x7e]{1,255}$/).optional().describe('RFC 5424 HOSTNAME; default the machine\'s host name.'),
    timeout_ms: timeoutMs(10_000),
  })
  .strict()
  .refine((s) => s.transport === 'tls' || s.tls === undefined, { message: 'tls settings need transport: tls', path: ['tls'] });

/** Splunk HTTP Event Collector. */
export const SplunkHecSinkConfigSchema = z
  .object({
    type: z.literal('splunk_hec'),
    ...common,
    url: z.url().describe('Base URL of the collector, e.g. https://splunk:8088 (the path /services/collector/event is appended unless the URL already has a path).'),
    token: z.string().min(1).describe('HEC token, sent as `Authorization: Splunk <token>`. Use ${ENV_VAR}.'),
    sourcetype: z.string().min(1).default('meshtrail:finding').describe('Splunk sourcetype of every event. Default meshtrail:finding.'),
    flows_sourcetype: z.string().min(1).default('meshtrail:flow').describe('Splunk sourcetype of forwarded flows (see `flows`). Default meshtrail:flow.'),
    source: z.string().min(1).default('meshtrail').describe('Splunk source. Default meshtrail.'),
    index: z.string().min(1).optional().describe('Target index; default the token\'s default index.'),
    host: z.string().min(1).optional().describe('Splunk host field; default the machine\'s host name.'),
    tls: tlsFiles.optional().describe('TLS settings for https URLs.'),
    timeout_ms: timeoutMs(10_000),
  })
  .strict();

/** JSON POST signed with HMAC-SHA256. */
export const WebhookSinkConfigSchema = z
  .object({
    type: z.literal('webhook'),
    ...common,
    url: z.url().describe('Where the JSON batch is POSTed.'),
    secret: z.string().min(16).describe('HMAC-SHA256 key for `X-Meshtrail-Signature: t=<unix s>,v1=hex(hmac(secret, t + "." + body))`. Use ${ENV_VAR}; at least 16 characters.'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}).describe('Extra request headers (e.g. a bearer token).'),
    tls: tlsFiles.optional().describe('TLS settings for https URLs.'),
    timeout_ms: timeoutMs(10_000),
  })
  .strict();

/** A Kafka topic of findings, keyed by finding id (fit for a compacted topic). */
export const KafkaSinkConfigSchema = z
  .object({
    type: z.literal('kafka'),
    ...common,
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).min(1).describe('Bootstrap brokers.'),
    topic: z.string().min(1).default('meshtrail.findings').describe('Findings topic. Key = finding id, so a compacted topic keeps each finding\'s latest event.'),
    flows_topic: z.string().min(1).default('meshtrail.flows')
      .describe('Topic of forwarded flows (see `flows`). Key = the flow\'s input stream, so each stream stays in order; do not compact it. Default meshtrail.flows.'),
    client_id: z.string().min(1).default('meshtrail-sink'),
    idempotent: z.boolean().default(true)
      .describe('Idempotent producer (no duplicates from the producer\'s own retries; acks=all, one request in flight). Default true. Needs a broker that serves InitProducerId (every real Kafka >= 0.11).'),
    ssl: z.union([z.boolean(), tlsFiles]).default(false).describe('TLS to the brokers: true for the system CAs, or files.'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z.string().min(1).describe('Use ${ENV_VAR}.'),
      })
      .strict()
      .optional(),
    timeout_ms: timeoutMs(30_000),
  })
  .strict();

/** One configured sink. */
export const SinkConfigSchema = z.discriminatedUnion('type', [
  SyslogSinkConfigSchema, SplunkHecSinkConfigSchema, WebhookSinkConfigSchema, KafkaSinkConfigSchema,
]);

/** The `sinks:` list; names (explicit or defaulted) must be unique because they key the cursors. */
export const SinksConfigSchema = z
  .array(SinkConfigSchema)
  .default([])
  .superRefine((sinks, ctx) => {
    const names = resolveSinkNames(sinks);
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `duplicate sink name ${n}: give each sink a distinct name`, path: [i, 'name'] });
      seen.add(n);
    });
  })
  .describe('Where findings events go. Each sink reads the outbox with its own cursor, so a slow one never delays the others.');

/**
 * The effective name of each sink: its `name`, else its type, else `<type>-<n>` (1-based among
 * sinks of that type) when the type appears more than once.
 */
export function resolveSinkNames(sinks: readonly { type: string; name?: string | undefined }[]): string[] {
  const perType = new Map<string, number>();
  for (const s of sinks) perType.set(s.type, (perType.get(s.type) ?? 0) + 1);
  const nth = new Map<string, number>();
  return sinks.map((s) => {
    const n = (nth.get(s.type) ?? 0) + 1;
    nth.set(s.type, n);
    if (s.name) return s.name;
    return (perType.get(s.type) ?? 0) > 1 ? `${s.type}-${n}` : s.type;
  });
}

export type SinkRetry = z.infer<typeof SinkRetrySchema>;
export type SinkConfig = z.infer<typeof SinkConfigSchema>;
export type SyslogSinkConfig = z.infer<typeof SyslogSinkConfigSchema>;
export type SplunkHecSinkConfig = z.infer<typeof SplunkHecSinkConfigSchema>;
export type WebhookSinkConfig = z.infer<typeof WebhookSinkConfigSchema>;
export type KafkaSinkConfig = z.infer<typeof KafkaSinkConfigSchema>;
export type SinkTlsConfig = NonNullable<SyslogSinkConfig['tls']>;
export type SinkFlowsFilter = z.infer<typeof SinkFlowsFilterSchema>;

const errorInfo = z.object({
  code: z.string().describe('Low-cardinality reason: http_503, connect_refused, tls_verify, outbox_row_invalid, ...'),
  message: z.string().describe('What the receiver or the network said.'),
  at: z.iso.datetime(),
}).strict();

/** The flow-forwarding part of one sink's state (present only when the sink forwards flows). */
export const SinkFlowsStatusSchema = z
  .object({
    filter: z.object({
      mtls: z.array(z.enum(['true', 'false', 'unknown'])).optional(),
      direction: z.enum(['inbound', 'outbound']).optional(),
      namespace: z.string().optional(),
      response_code: z.string().optional(),
    }).strict().describe('The configured filter ({} = every flow).'),
    state: z.enum(['starting', 'idle', 'sending', 'retrying', 'parked', 'stopped'])
      .describe('As for findings; flows park on their own (a rejected flows batch does not stop findings).'),
    cursor: z.number().int().nonnegative().describe('Flow id up to which every matching flow was acknowledged (or lost, see `lost`).'),
    started_at_flow_id: z.number().int().nonnegative().describe('The newest flow id when the sink first started with flows: older flows are not forwarded.'),
    lag: z.number().int().nonnegative().describe('Flows stored after the cursor, not yet examined (an upper bound of the matching ones).'),
    delivered: z.number().int().nonnegative().describe('Flows acknowledged, ever.'),
    lost: z.number().int().nonnegative().describe('Flows deleted by retention before this sink had forwarded them, ever (whether they matched the filter cannot be known any more, so this is an upper bound). Non-zero means the receiver missed flows.'),
    last_lost_at: z.iso.datetime().nullable().describe('When flows were last found lost.'),
    consecutive_failures: z.number().int().nonnegative(),
    next_attempt_at: z.iso.datetime().nullable(),
    last_success_at: z.iso.datetime().nullable(),
    parked: errorInfo.nullable().describe('Set while flow forwarding is parked: why.'),
  })
  .strict();

/** One sink's delivery state: the body items of `GET /api/v1/sinks`. */
export const SinkStatusSchema = z
  .object({
    name: z.string(),
    type: z.string(),
    state: z.enum(['starting', 'idle', 'sending', 'retrying', 'parked', 'stopped'])
      .describe('idle: caught up; retrying: waiting to resend after a failure; parked: receiver rejected the configuration, nothing is sent until fixed.'),
    cursor: z.number().int().nonnegative().describe('Outbox seq of the last event the receiver acknowledged.'),
    lag: z.number().int().nonnegative().describe('Outbox events after the cursor (not yet acknowledged).'),
    delivered: z.number().int().nonnegative().describe('Events acknowledged, ever.'),
    failures: z.number().int().nonnegative().describe('Failed sends, ever.'),
    consecutive_failures: z.number().int().nonnegative().describe('Failed sends since the last success.'),
    next_attempt_at: z.iso.datetime().nullable().describe('When a retrying sink tries again.'),
    last_success_at: z.iso.datetime().nullable(),
    last_error: errorInfo.nullable(),
    parked: errorInfo.nullable().describe('Set while parked: why.'),
    flows: SinkFlowsStatusSchema.optional().describe('Raw-flow forwarding, when the sink has `flows` configured.'),
  })
  .strict();

/** The body of `GET /api/v1/sinks`. */
export const SinksStatusResponseSchema = z.object({ items: z.array(SinkStatusSchema) }).strict();

export type SinkStatus = z.infer<typeof SinkStatusSchema>;
