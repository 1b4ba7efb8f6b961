/**
 * Maps a validated `kafka` source config (snake_case YAML) to kafkajs client and consumer
 * options. Pure apart from reading the TLS files it names; only types come from kafkajs, so
 * `kafka.source.ts` stays the one module that loads it.
 *
 * Secrets: the SASL password is copied into the kafkajs options and nowhere else; nothing
 * here logs, and the returned objects must not be logged either.
 */
import fs from 'node:fs';
import type { ConsumerConfig, KafkaConfig, SASLOptions } from 'kafkajs';
import type { KafkaSourceConfig } from '../../schemas/config.js';
import { MeshtrailError } from '../errors.js';

/** Reads a TLS file; injectable for tests. */
export type ReadFile = (path: string) => Buffer;

/** The kafkajs `ssl` option for the config's `ssl` key (files read now, so errors surface at start). */
export function kafkaSsl(ssl: KafkaSourceConfig['ssl'], readFile: ReadFile = (p) => fs.readFileSync(p)): KafkaConfig['ssl'] {
  if (ssl === false) return undefined;
  if (ssl === true) return true;
  const read = (key: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFile(path);
    } catch (cause) {
      throw new MeshtrailError('ERR_CONFIG_INVALID', `kafka ssl.${key}: cannot read ${path}: ${(cause as Error).message}`, { cause });
    }
  };
  const ca = read('ca_file', ssl.ca_file);
  const cert = read('cert_file', ssl.cert_file);
  const key = read('key_file', ssl.key_file);
  if ((cert === undefined) !== (key === undefined)) {
    throw new MeshtrailError('ERR_CONFIG_INVALID', 'kafka ssl: cert_file and key_file go together (mutual TLS needs both)');
  }
  return {
    rejectUnauthorized: ssl.reject_unauthorized,
    ...(ca ? { ca: [ca] } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(ssl.servername ? { servername: ssl.servername } : {}),
  };
}

/** The kafkajs `sasl` option for the config's `sasl` key. */
export function kafkaSasl(sasl: KafkaSourceConfig['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** kafkajs client options (without `logCreator`, which the source adds). */
export function kafkaClientConfig(config: KafkaSourceConfig, readFile?: ReadFile): KafkaConfig {
  const ssl = kafkaSsl(config.ssl, readFile);
  const sasl = kafkaSasl(config.sasl);
  return {
    clientId: config.client_id,
    brokers: [...config.brokers],
    connectionTimeout: config.connection_timeout_ms,
    requestTimeout: config.request_timeout_ms,
    retry: kafkaRetry(config),
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
  };
}

/** kafkajs consumer options. `batch_max_wait_ms` bounds how long a fetch waits for data. */
export function kafkaConsumerConfig(config: KafkaSourceConfig): ConsumerConfig {
  return {
    groupId: config.group_id,
    sessionTimeout: config.session_timeout_ms,
    rebalanceTimeout: config.rebalance_timeout_ms,
    heartbeatInterval: config.heartbeat_interval_ms,
    maxBytesPerPartition: config.max_bytes_per_partition,
    maxWaitTimeInMs: config.batch_max_wait_ms,
    retry: kafkaRetry(config),
  };
}

function kafkaRetry(config: KafkaSourceConfig): NonNullable<KafkaConfig['retry']> {
  return { initialRetryTime: config.retry.initial_ms, maxRetryTime: config.retry.max_ms, retries: config.retry.retries };
}
