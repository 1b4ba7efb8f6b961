/**
 * Retention: deletes raw flows older than `retention.flows_days`, quarantined records older than
 * `quarantine_days` and edge rollups older than `rollups_days`, in bounded chunks.
 *
 * Why chunks. better-sqlite3 is synchronous and the process has one writer connection: a single
 * `DELETE` of a month of flows would hold the write lock -- and the event loop -- for seconds, and
 * every ingestion batch would wait behind it. Each chunk is its own short transaction of at most
 * `chunk_rows` rows, and the pass yields to the event loop (`setImmediate`, after pending I/O)
 * between chunks, so ingestion batches interleave with retention. The longest chunk is measured
 * and reported ({@link RetentionResult.longestChunkMs}): that is how long a batch can be delayed.
 *
 * What is never deleted:
 * - the rollups of deleted flows: rollups are maintained in the batch transaction, so they
 *   already count every committed flow; they are deleted only by their own (longer) age;
 * - flows the rollups have not counted yet (id above a `rollup_state.last_flow_id`, possible only
 *   when a writer ran without the rollup hook): deleting them would lose them from the rollups;
 * - the flow (and quarantined record) with the highest id, whatever its age. `flows.id` is an
 *   INTEGER PRIMARY KEY without AUTOINCREMENT: SQLite gives a new row max(id)+1, so deleting the
 *   newest row would hand its id out again, below the rollup watermark -- the rollup hook would
 *   then skip the new flow, and findings' sample ids and API cursors would point at another row.
 *   Keeping that one row keeps ids monotonic (0001 cannot be edited to add AUTOINCREMENT).
 * - `principal_rollup` (an inventory of identities with first/last seen, not time-bucketed),
 *   findings and the outbox.
 *
 * Space: deleted pages are reused by new rows, so the file stops growing at the retained volume;
 * see vacuum.ts for shrinking it.
 */
import type { RetentionConfig } from '../../schemas/retention-config.js';
import type { Db } from './db.js';
import { incrementalVacuum } from './vacuum.js';

const DAY_MS = 86_400_000;

/** What one pass deleted, and how long its longest write transaction took. */
export interface RetentionResult {
  flows: number;
  quarantine: number;
  edge_rollup_minute: number;
  edge_rollup_hour: number;
  mtls_rollup_hour: number;
  /** Write transactions run (chunks). */
  chunks: number;
  /** The longest single chunk, ms: the most an ingestion batch waited behind retention. */
  longestChunkMs: number;
  /** Pages returned to the file system by the incremental vacuum. */
  vacuumedPages: number;
  /** Whole pass, ms (chunks and the pauses between them). */
  millis: number;
  /** True when the pass stopped early because it was aborted. */
  aborted: boolean;
}

/** Options of {@link runRetention}. */
export interface RetentionPassOptions {
  /** "Now", epoch ms (tests). */
  now?: number;
  /** Stops the pass between chunks. */
  signal?: AbortSignal;
  /** Observes every chunk (metrics, tests). */
  onChunk?: (table: RetentionTable, rows: number, millis: number) => void;
}

/** The tables retention deletes from. */
export type RetentionTable = 'flows' | 'quarantine' | 'edge_rollup_minute' | 'edge_rollup_hour' | 'mtls_rollup_hour';

type Settings = Pick<RetentionConfig, 'flows_days' | 'quarantine_days' | 'rollups_days' | 'chunk_rows' | 'incremental_vacuum_pages'>;

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Chunk deleters: each deletes at most about `limit` rows older than `cutoff`, returns the count. */
function deleters(db: Db): Record<RetentionTable, (cutoff: number, limit: number) => number> {
  const flows = db.prepare<[number, number]>(`
    DELETE FROM flows WHERE id IN (
      SELECT id FROM flows
      WHERE ts < ?
        AND id < (SELECT max(id) FROM flows)
        AND id <= coalesce((SELECT min(last_flow_id) FROM rollup_state WHERE name IN ('flows', 'mtls_rollup_hour')), 0)
      ORDER BY ts LIMIT ?)`);
  const quarantine = db.prepare<[number, number]>(`
    DELETE FROM quarantine WHERE id IN (
      SELECT id FROM quarantine
      WHERE received_at < ? AND id < (SELECT max(id) FROM quarantine)
      ORDER BY received_at LIMIT ?)`);
  // The rollup tables are WITHOUT ROWID with a primary key starting with `bucket`: a chunk ends
  // at the bucket of its limit-th row (that bucket's rows all go, so a chunk may exceed the limit
  // by the edges of one bucket).
  const rollup = (table: 'edge_rollup_minute' | 'edge_rollup_hour' | 'mtls_rollup_hour') => {
    const nth = db.prepare<[number, number], { bucket: number }>(`SELECT bucket FROM ${table} WHERE bucket < ? ORDER BY bucket LIMIT 1 OFFSET ?`);
    const del = db.prepare<[number, number]>(`DELETE FROM ${table} WHERE bucket < ? AND bucket <= ?`);
    return (cutoff: number, limit: number) => {
      const last = nth.get(cutoff, limit - 1)?.bucket ?? Number.MAX_SAFE_INTEGER;
      return del.run(cutoff, last).changes;
    };
  };
  return {
    flows: (cutoff, limit) => flows.run(cutoff, limit).changes,
    quarantine: (cutoff, limit) => quarantine.run(cutoff, limit).changes,
    edge_rollup_minute: rollup('edge_rollup_minute'),
    edge_rollup_hour: rollup('edge_rollup_hour'),
    mtls_rollup_hour: rollup('mtls_rollup_hour'),
  };
}

/**
 * Runs one retention pass over `db`: for each table, chunk after chunk until nothing older than
 * its cutoff is left (or the pass is aborted), then a bounded incremental vacuum.
 */
export async function runRetention(db: Db, config: Settings, options: RetentionPassOptions = {}): Promise<RetentionResult> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const result: RetentionResult = { flows: 0, quarantine: 0, edge_rollup_minute: 0, edge_rollup_hour: 0, mtls_rollup_hour: 0, chunks: 0, longestChunkMs: 0, vacuumedPages: 0, millis: 0, aborted: false };
  const del = deleters(db);
  // Recorded before the first chunk: from then on rows older than the cutoff may be missing.
  const mark = db.prepare<[string, number, number]>(`
    INSERT INTO retention_state (name, cutoff, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET cutoff = max(cutoff, excluded.cutoff), updated_at = excluded.updated_at`);
  const plan: [RetentionTable, number][] = [
    ['flows', config.flows_days],
    ['quarantine', config.quarantine_days],
    ['edge_rollup_minute', config.rollups_days],
    ['edge_rollup_hour', config.rollups_days],
    ['mtls_rollup_hour', config.rollups_days],
  ];
  for (const [table, days] of plan) {
    if (days <= 0) continue;
    const cutoff = now - days * DAY_MS;
    mark.run(table, cutoff, now);
    for (;;) {
      if (options.signal?.aborted) {
        result.aborted = true;
        break;
      }
      const t0 = performance.now();
      const n = db.transaction(() => del[table](cutoff, config.chunk_rows))();
      const ms = performance.now() - t0;
      result.chunks++;
      result.longestChunkMs = Math.max(result.longestChunkMs, ms);
      result[table] += n;
      options.onChunk?.(table, n, ms);
      await pause();
      if (n === 0) break;
    }
  }
  if (!result.aborted) result.vacuumedPages = await incrementalVacuum(db, config.incremental_vacuum_pages, { signal: options.signal });
  result.millis = performance.now() - started;
  return result;
}

/** The time before which retention may have deleted rows of `table` (epoch ms), or null if it never ran. */
export function retentionCutoff(db: Db, table: RetentionTable): number | null {
  const row = db.prepare<[string], { cutoff: number }>('SELECT cutoff FROM retention_state WHERE name = ?').get(table);
  return row?.cutoff ?? null;
}

/** Options of {@link startRetention}. */
export interface RetentionLoopOptions {
  /** Delay before the first pass, ms (default 30 s: let sources start first). */
  initialDelayMs?: number;
  logger?: { info: (obj: object, msg: string) => void; error: (obj: object, msg: string) => void };
  /** Observes every finished pass (metrics, tests). */
  onPass?: (result: RetentionResult) => void;
  /** Observes every chunk. */
  onChunk?: RetentionPassOptions['onChunk'];
  /** Clock (tests). */
  now?: () => number;
}

/** A running retention loop. */
export interface RetentionLoop {
  /** Runs a pass now (waits for one in progress first); resolves with its result. */
  runNow(): Promise<RetentionResult>;
  /** Stops the loop: aborts the pass in progress between chunks and waits for it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs {@link runRetention} every `config.interval_ms` (the timer never keeps the process alive).
 * A failed pass (e.g. SQLITE_BUSY, disk full) is logged and retried at the next interval. With
 * `config.enabled` false, the loop does nothing until `runNow`.
 */
export function startRetention(db: Db, config: RetentionConfig, options: RetentionLoopOptions = {}): RetentionLoop {
  const controller = new AbortController();
  let current: Promise<RetentionResult> | null = null;
  let timer: NodeJS.Timeout | undefined;

  const pass = async (): Promise<RetentionResult> => {
    while (current) await current.catch(() => {});
    const run = runRetention(db, config, { signal: controller.signal, onChunk: options.onChunk, now: options.now?.() });
    current = run;
    try {
      const r = await run;
      options.onPass?.(r);
      options.logger?.info({ component: 'retention', ...r, longestChunkMs: Math.round(r.longestChunkMs), millis: Math.round(r.millis) }, 'Retention pass done.');
      return r;
    } finally {
      current = null;
    }
  };
  const schedule = (ms: number) => {
    if (controller.signal.aborted || !config.enabled) return;
    timer = setTimeout(() => {
      pass()
        .catch((err: unknown) => options.logger?.error({ component: 'retention', err, code: (err as { code?: string }).code }, 'Retention pass failed; retrying at the next interval.'))
        .finally(() => schedule(config.interval_ms));
    }, ms);
    timer.unref();
  };
  schedule(options.initialDelayMs ?? 30_000);

  let stopping: Promise<void> | null = null;
  return {
    runNow: pass,
    stop: () => (stopping ??= (async () => {
      controller.abort();
      clearTimeout(timer);
      if (current) await current.catch(() => {});
    })()),
  };
}
