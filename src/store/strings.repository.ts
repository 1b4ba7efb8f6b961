/**
 * Interns repeated strings into the `strings` table. Ids are cached in memory; a write
 * transaction that rolls back may have inserted ids that no longer exist, so the owner of the
 * transaction calls {@link StringsRepository.forgetUncommitted} on failure.
 */
import type { Db } from './db.js';

/** Maximum number of cached ids; beyond it the cache is cleared (values stay in the table). */
const CACHE_LIMIT = 200_000;

export class StringsRepository {
  private readonly byValue = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private readonly select;
  private readonly insert;
  private readonly selectById;
  private pending: string[] = [];

  constructor(private readonly db: Db) {
    this.select = db.prepare<[string], { id: number }>('SELECT id FROM strings WHERE value = ?');
    this.insert = db.prepare<[string]>('INSERT INTO strings (value) VALUES (?)');
    this.selectById = db.prepare<[number], { value: string }>('SELECT value FROM strings WHERE id = ?');
  }

  /** The id of `value`, inserting it when new. Must run inside the caller's write transaction. */
  intern(value: string): number {
    const cached = this.byValue.get(value);
    if (cached !== undefined) return cached;
    let id = this.select.get(value)?.id;
    if (id === undefined) {
      id = Number(this.insert.run(value).lastInsertRowid);
      this.pending.push(value);
    }
    this.remember(value, id);
    return id;
  }

  /** The id of `value` if it was ever stored, without inserting (for query filters). */
  lookup(value: string): number | undefined {
    const cached = this.byValue.get(value);
    if (cached !== undefined) return cached;
    const id = this.select.get(value)?.id;
    if (id !== undefined) this.remember(value, id);
    return id;
  }

  /** The value of an id. */
  value(id: number): string {
    const cached = this.byId.get(id);
    if (cached !== undefined) return cached;
    const row = this.selectById.get(id);
    if (!row) throw new Error(`string id ${id} is missing from the strings table`);
    this.remember(row.value, id);
    return row.value;
  }

  /** Called after the write transaction committed: its new ids are now durable. */
  commitPending(): void {
    this.pending = [];
  }

  /** Called after the write transaction rolled back: ids it created are gone. */
  forgetUncommitted(): void {
    for (const value of this.pending) {
      const id = this.byValue.get(value);
      this.byValue.delete(value);
      if (id !== undefined) this.byId.delete(id);
    }
    this.pending = [];
  }

  private remember(value: string, id: number): void {
    if (this.byValue.size >= CACHE_LIMIT && this.pending.length === 0) {
      this.byValue.clear();
      this.byId.clear();
    }
    this.byValue.set(value, id);
    this.byId.set(id, value);
  }
}
