/**
 * Giving freed pages back to the file system.
 *
 * Deleting rows never shrinks a SQLite file: the pages go to the freelist and are reused by the
 * next inserts. With retention running, a steadily fed database therefore stops growing once it
 * holds `flows_days` of traffic -- that is the main guarantee, and it needs no vacuum at all.
 * Shrinking the file (after a traffic peak, or after lowering `flows_days`) needs a vacuum:
 *
 * - `VACUUM` rewrites the whole database: it needs up to twice the file's size in free disk,
 *   holds the write lock for the whole copy (minutes for gigabytes: ingestion stalls), and so is
 *   never run automatically. Operators run it offline if they must.
 * - `auto_vacuum = INCREMENTAL` lets `PRAGMA incremental_vacuum(N)` move N free pages to the end
 *   of the file and truncate it, in small steps. But the mode is stored in the file header and can
 *   only be changed while the database has no tables, or by a full `VACUUM`: a migration cannot
 *   turn it on for an existing database. Its price is a pointer-map page per ~1000 pages (0.1 %)
 *   and somewhat more fragmentation.
 *
 * So: new databases are created INCREMENTAL ({@link enableIncrementalVacuumIfNew}, called before
 * the first migration), the retention loop runs a bounded {@link incrementalVacuum} after each
 * pass, and on databases created before that it is a no-op (their freed pages are reused).
 */
import type { Db } from './db.js';

/** The database's auto_vacuum mode (file header). */
export function autoVacuumMode(db: Db): 'none' | 'full' | 'incremental' {
  const mode = db.pragma('auto_vacuum', { simple: true }) as number;
  return mode === 2 ? 'incremental' : mode === 1 ? 'full' : 'none';
}

/**
 * Sets auto_vacuum=INCREMENTAL when the database has no table yet (a new file); returns whether
 * it did. Must run before the first migration: afterwards SQLite silently ignores the pragma.
 */
export function enableIncrementalVacuumIfNew(db: Db): boolean {
  const tables = (db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n;
  if (tables > 0) return false;
  db.pragma('auto_vacuum = INCREMENTAL');
  return autoVacuumMode(db) === 'incremental';
}

/** Pages on the freelist (free space inside the file). */
export function freePages(db: Db): number {
  return db.pragma('freelist_count', { simple: true }) as number;
}

/**
 * Returns up to `maxPages` free pages to the file system, `step` pages per statement, yielding to
 * the event loop between steps (each step holds the write lock). A no-op unless the database is
 * INCREMENTAL. Resolves with the number of pages released.
 */
export async function incrementalVacuum(db: Db, maxPages: number, options: { step?: number; signal?: AbortSignal } = {}): Promise<number> {
  if (maxPages <= 0 || autoVacuumMode(db) !== 'incremental') return 0;
  const step = Math.max(1, options.step ?? 500);
  let released = 0;
  while (released < maxPages && !options.signal?.aborted) {
    const before = freePages(db);
    if (before === 0) break;
    const n = Math.min(step, maxPages - released, before);
    db.pragma(`incremental_vacuum(${n})`);
    const freed = before - freePages(db);
    if (freed <= 0) break;
    released += freed;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return released;
}
