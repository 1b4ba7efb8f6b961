/** Database size per flow, with a per-table/index breakdown from the `dbstat` virtual table. */
import fs from 'node:fs';
import Database from 'better-sqlite3';

/** Size figures of one database file. */
export interface StorageFigures {
  flows: number;
  fileBytes: number;
  bytesPerFlow: number;
  /** Largest first; null when SQLite was built without dbstat. */
  breakdown: { name: string; bytes: number; perFlow: number }[] | null;
}

/** Checkpoints the WAL into the main file (TRUNCATE), then measures it. */
export function measureStorage(file: string): StorageFigures {
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const flows = (db.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
    const fileBytes = fs.statSync(file).size + (fs.existsSync(file + '-wal') ? fs.statSync(file + '-wal').size : 0);
    let breakdown: StorageFigures['breakdown'] = null;
    try {
      const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number }[];
      breakdown = rows.map((r) => ({ name: r.name, bytes: r.bytes, perFlow: flows ? r.bytes / flows : 0 }));
    } catch {
      breakdown = null;
    }
    return { flows, fileBytes, bytesPerFlow: flows ? fileBytes / flows : 0, breakdown };
  } finally {
    db.close();
  }
}
