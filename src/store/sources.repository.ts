/**
 * Input streams and their committed positions. A source's position is written in the same
 * transaction as the rows it covers, so after a crash the stored position and the stored rows
 * always agree.
 */
import type { Db } from './db.js';

/** A known input stream. */
export interface SourceState {
  id: number;
  key: string;
  label: string | null;
  position: number | null;
  meta: Record<string, unknown> | null;
}

export class SourcesRepository {
  private readonly ids = new Map<string, number>();
  private readonly select;
  private readonly insert;
  private readonly update;

  constructor(db: Db) {
    this.select = db.prepare<[string], { id: number; key: string; label: string | null; position: number | null; meta: string | null }>(
      'SELECT id, key, label, position, meta FROM sources WHERE key = ?');
    this.insert = db.prepare('INSERT INTO sources (key, label, updated_at) VALUES (?, ?, ?)');
    this.update = db.prepare('UPDATE sources SET position = ?, meta = ?, updated_at = ? WHERE id = ?');
  }

  /** The id of the source `key`, creating it. Must run inside the caller's write transaction. */
  ensure(key: string, label: string | null): number {
    const cached = this.ids.get(key);
    if (cached !== undefined) return cached;
    const row = this.select.get(key);
    const id = row ? row.id : Number(this.insert.run(key, label, Date.now()).lastInsertRowid);
    this.ids.set(key, id);
    return id;
  }

  /** The stored state of `key`, or undefined when never seen. */
  get(key: string): SourceState | undefined {
    const row = this.select.get(key);
    if (!row) return undefined;
    return { ...row, meta: row.meta === null ? null : (JSON.parse(row.meta) as Record<string, unknown>) };
  }

  /** Records the committed position of a source (inside the batch's transaction). */
  setPosition(id: number, position: number, meta: Record<string, unknown> | null = null): void {
    this.update.run(position, meta === null ? null : JSON.stringify(meta), Date.now(), id);
  }

  /** Called after a rolled-back transaction: ids created in it are gone. */
  forgetUncommitted(): void {
    this.ids.clear();
  }
}
