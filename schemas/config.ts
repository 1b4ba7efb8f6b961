/**
 * The configuration file of `meshtrail run` (YAML), validated at start. Unknown keys are refused
 * with their path, so a typo never silently falls back to a default. Defaults live here and
 * nowhere else. `${NAME}` in any string value is replaced by the environment variable NAME
 * before validation (for secrets: `password: ${KAFKA_PASSWORD}`); a missing variable is an error.
 */
import { z } from 'zod';
import { LINE_FORMATS } from '../src/pipeline/contracts.js';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080')
  .describe('Address the API listens on. Default 127.0.0.1:8080: not reachable from the network unless changed.');

const format = z.enum(LINE_FORMATS).default('auto').describe('Line format; auto detects per line.');

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
    session_timeout_ms: z.number().int().min(1000).default(30_000),
    heartbeat_interval_ms: z.number().int().min(100).default(3000),
    max_bytes_per_partition: z.number().int().min(1024).default(1 << 20).describe('Fetch size per partition: with the batch size, what bounds memory.'),
    format,
    ...batching,
  })
  .strict();

export const SourceConfigSchema = z.discriminatedUnion('type', [FileSourceConfigSchema, KafkaSourceConfigSchema]);

export const ConfigSchema = z
  .object({
    database: z.string().min(1).default('./data/meshtrail.db').describe('SQLite database file; created with its directory when missing.'),
    api: z
      .object({ listen: listen.default('127.0.0.1:8080'), enabled: z.boolean().default(true) })
      .strict()
      .default({ listen: '127.0.0.1:8080', enabled: true }),
    sources: z.array(SourceConfigSchema).default([]).describe('Inputs; each runs concurrently.'),
    pipeline: z
      .object({
        max_line_bytes: z.number().int().min(256).max(64 << 20).default(1 << 20).describe('Longer records are quarantined as line_too_long, never truncated silently.'),
        drain_timeout_ms: z.number().int().min(0).default(10_000).describe('On SIGTERM, how long in-flight batches may take to commit before exit.'),
      })
      .strict()
      .default({ max_line_bytes: 1 << 20, drain_timeout_ms: 10_000 }),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type SourceConfig = z.infer<typeof SourceConfigSchema>;
export type FileSourceConfig = z.infer<typeof FileSourceConfigSchema>;
export type KafkaSourceConfig = z.infer<typeof KafkaSourceConfigSchema>;
