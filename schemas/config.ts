/**
 * The configuration file of `meshtrail run` (YAML), validated at start. Unknown keys are refused
 * with their path, so a typo never silently falls back to a default. Defaults live here and
 * nowhere else. `${NAME}` in any string value is replaced by the environment variable NAME
 * before validation (for secrets: `password: ${KAFKA_PASSWORD}`); a missing variable is an error.
 */
import { z } from 'zod';
import { LINE_FORMATS } from '../src/pipeline/contracts.js';
import { ApiAuthConfigSchema, ApiTlsConfigSchema } from './api.js';
import { SinksConfigSchema } from './sinks-config.js';
import { DetectorsConfigSchema } from './detectors-config.js';
import { RetentionConfigSchema } from './retention-config.js';
import { DEFAULT_CACHE_MIB } from '../src/store/db.js';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080')
  .describe('Address the API listens on. Default 127.0.0.1:8080: not reachable from the network unless changed.');

const format = z
  .union([
    z.enum(LINE_FORMATS),
    z.object({ text: z.string().min(1).describe('The accessLogFormat / Telemetry logFormat.text template the proxies use.') }).strict(),
    z.object({ labels: z.record(z.string(), z.string()).describe('The Telemetry logFormat.labels map (key -> %OPERATOR%).') }).strict(),
  ])
  .default('auto')
  .describe('Line format: auto (detected per line), istio-text, istio-json, or the custom format the proxies were configured with; a custom format is tried first, the built-in ones after it.');

const batching = {
  batch_max_records: z.number().int().min(1).max(100_000).default(2000).describe('Records per store transaction.'),
  batch_max_wait_ms: z.number().int().min(1).max(60_000).default(200).describe('Longest a partial batch waits for more records, ms.'),
};

export const FileSourceConfigSchema = z
  .object({
    type: z.literal('file'),
    name: z.string().min(1).optional().describe('Name in logs and metrics; default file:<path>.'),
    path: z.string().min(1).describe('The access-log file to read.'),
    follow: z.boolean().default(true).describe('Keep reading as the file grows; survive rotation (rename + new file) and truncation.'),
    poll_interval_ms: z.number().int().min(10).max(60_000).default(250).describe('How often a followed file is checked for growth and rotation, ms.'),
    rotate_wait_ms: z.number().int().min(0).default(5000).describe('How long a renamed or deleted file must stay idle before it is closed, ms.'),
    batch_max_bytes: z.number().int().min(1024).default(4 << 20).describe('Bytes per batch; with batch_max_records, what bounds memory.'),
    format,
    ...batching,
  })
  .strict();

const tlsFile = z.string().min(1);
export const KafkaSourceConfigSchema = z
  .object({
    type: z.literal('kafka'),
    name: z.string().min(1).optional().describe('Name in logs and metrics; default kafka:<group_id>.'),
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).min(1).describe('Bootstrap brokers.'),
    topics: z.array(z.string().min(1)).min(1).describe('Topics holding access-log records.'),
    group_id: z.string().min(1).default('meshtrail').describe('Consumer group; instances sharing it split the partitions.'),
    client_id: z.string().min(1).default('meshtrail'),
    from_beginning: z.boolean().default(true).describe('Where a partition with no stored position starts: earliest (true) or latest (false).'),
    ssl: z
      .union([
        z.boolean(),
        z
          .object({
            ca_file: tlsFile.optional().describe('PEM CA bundle to verify brokers with.'),
            cert_file: tlsFile.optional().describe('PEM client certificate (mutual TLS).'),
            key_file: tlsFile.optional().describe('PEM client key (mutual TLS).'),
            reject_unauthorized: z.boolean().default(true).describe('Verify the broker certificate. Turning this off is for tests only.'),
            servername: z.string().optional(),
          })
          .strict(),
      ])
      .default(false)
      .describe('TLS to the brokers: true for system CAs, or files.'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z.string().min(1).describe('Use ${ENV_VAR} to keep it out of the file.'),
      })
      .strict()
      .optional(),
    session_timeout_ms: z.number().int().min(1000).default(30_000).describe('Consumer group session timeout, ms: a member silent for this long is removed and its partitions reassigned.'),
    heartbeat_interval_ms: z.number().int().min(100).default(3000).describe('Heartbeat interval, ms; must be below session_timeout_ms (a third of it is usual). Members learn of a rebalance through heartbeats.'),
    rebalance_timeout_ms: z.number().int().min(1000).default(60_000).describe('How long the coordinator waits for members to rejoin during a rebalance, ms.'),
    connection_timeout_ms: z.number().int().min(100).default(3000).describe('TCP/TLS connect timeout per broker, ms.'),
    request_timeout_ms: z.number().int().min(100).default(30_000).describe('Timeout of one Kafka request, ms.'),
    retry: z
      .object({
        initial_ms: z.number().int().min(1).default(300).describe('First backoff after a failed Kafka request, ms; doubles (with jitter) per attempt.'),
        max_ms: z.number().int().min(1).default(30_000).describe('Longest backoff between attempts, ms.'),
        retries: z.number().int().min(0).max(100).default(10).describe('Attempts per request before the consumer restarts itself; broker outages shorter than the summed backoffs are bridged without a restart.'),
      })
      .strict()
      .default({ initial_ms: 300, max_ms: 30_000, retries: 10 })
      .describe('Client retries of failed Kafka requests (kafkajs `retry`).'),
    max_bytes_per_partition: z.number().int().min(1024).default(1 << 20).describe('Fetch size per partition: with the batch size, what bounds memory.'),
    format,
    ...batching,
  })
  .strict()
  .refine((c) => c.heartbeat_interval_ms < c.session_timeout_ms, {
    message: 'heartbeat_interval_ms must be below session_timeout_ms',
    path: ['heartbeat_interval_ms'],
  });

export const SourceConfigSchema = z.discriminatedUnion('type', [FileSourceConfigSchema, KafkaSourceConfigSchema]);

export const ConfigSchema = z
  .object({
    database: z.string().min(1).default('./data/meshtrail.db').describe('SQLite database file; created with its directory when missing.'),
    database_cache_mib: z.number().int().min(1).max(4096).default(DEFAULT_CACHE_MIB)
      .describe('SQLite page cache, MiB: resident memory traded for insert speed on a large database.'),
    api: z
      .object({
        listen: listen.default('127.0.0.1:8080'),
        enabled: z.boolean().default(true),
        ...ApiAuthConfigSchema.shape,
        tls: ApiTlsConfigSchema.optional().describe('Serve HTTPS with this certificate and key.'),
        allow_unauthenticated_remote: z.boolean().default(false)
          .describe('Serve without tokens on a non-loopback address. Only for a listener that is itself private (e.g. published to 127.0.0.1 by docker compose).'),
      })
      .strict()
      .default({ listen: '127.0.0.1:8080', enabled: true, tokens: [], rate_limit: { requests_per_second: 50, burst: 100 }, allow_unauthenticated_remote: false }),
    retention: RetentionConfigSchema.prefault({}).describe('How long flows, quarantined records and rollups are kept.'),
    policies: z.string().min(1).optional().describe('Directory of Istio PeerAuthentication / AuthorizationPolicy / ServiceEntry YAML used by detectors and reports.'),
    report: z
      .object({ signing_key_file: z.string().min(1).optional().describe('Ed25519 private key (PEM) that signs evidence reports; default <database>.report-key.pem, created on first use.') })
      .strict()
      .default({}),
    detectors: DetectorsConfigSchema.prefault({}).describe('Detectors (plaintext, unexpected-principal, denied-egress, unregistered-egress, weak-tls, policy-pitfall), run in every batch transaction.'),
    sinks: SinksConfigSchema.describe('Where findings are forwarded (syslog/CEF, Splunk HEC, webhook, Kafka).'),
    sources: z.array(SourceConfigSchema).default([]).describe('Inputs; each runs concurrently.'),
    pipeline: z
      .object({
        max_line_bytes: z.number().int().min(256).max(64 << 20).default(1 << 20).describe('Longer records are quarantined as line_too_long, never truncated silently.'),
        drain_timeout_ms: z.number().int().min(0).default(10_000).describe('On SIGTERM, how long in-flight batches may take to commit before exit.'),
      })
      .strict()
      .default({ max_line_bytes: 1 << 20, drain_timeout_ms: 10_000 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Least privilege: an API reachable from the network must authenticate its callers.
    const host = c.api.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
    if (c.api.enabled && !loopback && c.api.tokens.length === 0 && !c.api.allow_unauthenticated_remote) {
      ctx.addIssue({ code: 'custom', path: ['api', 'tokens'], message: `required when api.listen (${c.api.listen}) is not a loopback address; add tokens or set api.allow_unauthenticated_remote: true for a listener that is private by other means` });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type SourceConfig = z.infer<typeof SourceConfigSchema>;
export type FileSourceConfig = z.infer<typeof FileSourceConfigSchema>;
export type KafkaSourceConfig = z.infer<typeof KafkaSourceConfigSchema>;
