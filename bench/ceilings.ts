/**
 * Ceilings: how fast the parts meshtrail cannot beat go on this machine, measured in the same
 * run as meshtrail itself so ratios are meaningful whatever the hardware.
 */
import fs from 'node:fs';
import { LineSplitter } from '../src/sources/line-splitter.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type BatchRecord } from '../src/store/store.js';
import { processLine } from '../src/pipeline/process-line.js';

/** Reads `file` in 1 MiB chunks into one reused buffer and splits it with `LineSplitter`. */
export function splitCeiling(file: string): { lines: number; bytes: number; seconds: number } {
  // Best of two passes: the first also warms the JIT and the page cache.
  const a = splitOnce(file);
  const b = splitOnce(file);
  return a.seconds < b.seconds ? a : b;
}

function splitOnce(file: string): { lines: number; bytes: number; seconds: number } {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  const splitter = new LineSplitter();
  let lines = 0;
  let bytes = 0;
  const started = performance.now();
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      bytes += n;
      lines += splitter.push(buf.subarray(0, n)).length;
    }
    lines += splitter.end().length;
  } finally {
    fs.closeSync(fd);
  }
  return { lines, bytes, seconds: (performance.now() - started) / 1000 };
}

/** What-if settings for {@link sqliteCeiling}: extra pragmas, indexes dropped or created before inserting. */
export interface SqliteTuning {
  pragmas?: string[];
  dropIndexes?: string[];
  /** CREATE INDEX statements. */
  createIndexes?: string[];
}

/**
 * Inserts `rows` pre-built flow rows into a fresh database (meshtrail's schema and indexes,
 * pragmas from `openDatabase`) with one prepared statement, in transactions of `batch` rows.
 * The rows are copies of real rows (sample lines stored through the Store, read back with
 * SELECT *) with a unique position, time and request id each, so every index sees new keys.
 */
export function sqliteCeiling(dbFile: string, sample: string[], rows: number, batch = 2000, tune: SqliteTuning = {}): { rows: number; columns: number; seconds: number } {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbFile + suffix, { force: true });
  const db = openDatabase(dbFile);
  try {
    for (const p of tune.pragmas ?? []) db.pragma(p);
    for (const i of tune.dropIndexes ?? []) db.exec(`DROP INDEX IF EXISTS ${i}`);
    for (const sql of tune.createIndexes ?? []) db.exec(sql);
    // Real rows: store the sample once, read them back, then delete them (strings stay).
    const store = new Store(db);
    const records: BatchRecord[] = sample.map((text, i) => ({ position: { source: 'bench:sample', pos: i, line: i + 1 }, raw: text, outcome: processLine(text, { format: 'auto' }) }));
    store.writeBatch(records, []);
    // Stored columns only: generated columns (hidden 2 or 3) cannot be inserted.
    const columns = db.prepare("SELECT name FROM pragma_table_xinfo('flows') WHERE hidden = 0 ORDER BY cid").pluck().all() as string[];
    const templates = db.prepare(`SELECT ${columns.join(', ')} FROM flows ORDER BY id`).raw().all() as unknown[][];
    db.prepare('DELETE FROM flows').run();
    if (templates.length === 0) throw new Error('sqliteCeiling: no sample line became a flow');
    const col = (name: string) => {
      const i = columns.indexOf(name);
      if (i < 0) throw new Error(`sqliteCeiling: flows has no column ${name}`);
      return i;
    };
    const ridName = columns.includes('request_id_key') ? 'request_id_key' : 'request_id';
    const [idCol, sourceCol, posCol, tsCol, ridCol] = [col('id'), col('source_id'), col('pos'), col('ts'), col(ridName)];
    const sourceId = Number(db.prepare("INSERT INTO sources (key, label, updated_at) VALUES ('bench:ceiling', 'ceiling', 0)").run().lastInsertRowid);
    const insertCols = columns.filter((_, i) => i !== idCol);
    const built: unknown[][] = new Array(rows);
    for (let i = 0; i < rows; i++) {
      const t = templates[i % templates.length]!;
      const r = t.slice();
      r[sourceCol] = sourceId;
      r[posCol] = i * 600;
      r[tsCol] = Number(t[tsCol]) + Math.floor(i / templates.length);
      const rid = t[ridCol];
      if (Buffer.isBuffer(rid)) { const b = Buffer.from(rid); b.writeUIntBE(i, 10, 6); r[ridCol] = b; }
      else if (rid !== null) r[ridCol] = `${String(rid).slice(0, 24)}${i.toString(16).padStart(12, '0')}`;
      r.splice(idCol, 1);
      built[i] = r;
    }
    const insert = db.prepare(`INSERT INTO flows (${insertCols.join(', ')}) VALUES (${insertCols.map(() => '?').join(', ')}) ON CONFLICT (source_id, pos) DO NOTHING`);
    const tx = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(built[i]!);
    });
    const started = performance.now();
    for (let i = 0; i < rows; i += batch) tx(i, Math.min(rows, i + batch));
    const seconds = (performance.now() - started) / 1000;
    return { rows, columns: insertCols.length, seconds };
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbFile + suffix, { force: true });
  }
}
