/**
 * Builds the configured sources. Each source type is constructed here from its validated config
 * section, with the store (for committed positions), the metrics and a child logger.
 */
import type { SourceConfig } from '../../schemas/config.js';
import type { Source } from '../pipeline/contracts.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import { FileSource } from './file.source.js';
import { KafkaSource } from './kafka.source.js';

/** What every source may use. */
export interface SourceDeps {
  store: Store;
  metrics: IngestMetrics;
  logger: Logger;
  /** Records longer than this are quarantined; the runner is given the same limit. */
  maxLineBytes: number;
}

/** Creates the source described by `config`. */
export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  switch (config.type) {
    case 'file': {
      const log = deps.logger.child({ component: 'file', path: config.path });
      return new FileSource(
        {
          path: config.path, follow: config.follow, poll_interval_ms: config.poll_interval_ms, batch_max_records: config.batch_max_records,
          batch_max_bytes: config.batch_max_bytes, rotate_wait_ms: config.rotate_wait_ms, max_line_bytes: deps.maxLineBytes,
        },
        deps.store,
        {
          onEvent: (e) => {
            if (e.kind === 'deliver_failed' || e.kind === 'read_failed') {
              deps.metrics.sourceErrors.inc({ source: 'file', reason: e.kind });
              log.error({ event: e.kind, err: e.error }, 'File source could not deliver or read; retrying.');
            } else log.info({ event: e.kind }, `File ${e.kind}.`);
          },
        },
      );
    }
    case 'kafka':
      return new KafkaSource(config, deps);
  }
}
