/**
 * The runner turns a source's raw batches into stored rows: decode -> parse -> enrich for every
 * record, then one store transaction holding the flows, the quarantined records and the sources'
 * new positions. The handler it gives a source resolves only after that commit, so a source that
 * acknowledges upstream on resolution never acknowledges what is not stored.
 *
 * A batch that fails to store for a retriable reason (disk full) is retried with backoff until it
 * succeeds or the runner is stopped: the source is blocked meanwhile (back-pressure), nothing is
 * skipped. Any other store failure rejects the handler; the source must not acknowledge.
 */
import type { BatchHandler, BatchOutcome, LineFormat, LineParser, SourceBatch } from './contracts.js';
import type { BatchRecord, Store } from '../store/store.js';
import { MeshtrailError } from '../errors.js';
import { processLine } from './process-line.js';

/** Options of {@link createBatchHandler}. */
export interface RunnerOptions {
  format?: LineFormat;
  parsers?: LineParser[];
  /** Longer records are quarantined as `line_too_long`. */
  maxLineBytes?: number;
  /** Observes every committed batch (metrics). */
  onCommitted?: (outcome: BatchOutcome, batch: SourceBatch, millis: number) => void;
  /** Observes retriable store failures (logs, metrics). */
  onRetry?: (err: MeshtrailError, attempt: number, delayMs: number) => void;
  /** Retry delays, ms. */
  retry?: { initialMs: number; maxMs: number };
  /** Aborts retries when the process is shutting down. */
  signal?: AbortSignal;
}

/** Parses one raw record into what the store keeps. */
export function toBatchRecord(record: SourceBatch['records'][number], options: RunnerOptions): BatchRecord {
  const max = options.maxLineBytes ?? 1 << 20;
  const bytes = Buffer.byteLength(record.text, 'utf8');
  if (bytes > max) {
    return {
      position: record.position,
      raw: Buffer.from(record.text, 'utf8').subarray(0, max),
      outcome: { ok: false, reason: 'line_too_long', detail: `record is ${bytes} bytes, over the ${max}-byte limit; its first ${max} bytes are kept` },
    };
  }
  return { position: record.position, raw: record.text, outcome: processLine(record.text, { format: options.format ?? 'auto', parsers: options.parsers }) };
}

/** Creates the handler sources deliver to. */
export function createBatchHandler(store: Store, options: RunnerOptions = {}): BatchHandler {
  const retry = options.retry ?? { initialMs: 200, maxMs: 10_000 };
  return async (batch) => {
    const records = batch.records.map((r) => toBatchRecord(r, options));
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const outcome = store.writeBatch(records, batch.positions, batch.labels ?? {});
        options.onCommitted?.(outcome, batch, performance.now() - started);
        return outcome;
      } catch (err) {
        if (!(err instanceof MeshtrailError) || !err.retriable || options.signal?.aborted) throw err;
        const delay = Math.min(retry.maxMs, retry.initialMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        options.onRetry?.(err, attempt, delay);
        // The wait ends early on shutdown, and then the batch is given up (not acknowledged: it
        // is re-read on restart) instead of written to a database that is being closed.
        await abortableSleep(delay, options.signal);
        if (options.signal?.aborted) throw err;
      }
    }
  };
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
