/**
 * Keeps input that could not become a flow, with its reason, the raw bytes and its position, so
 * nothing is silently dropped and every rejection can be inspected and replayed.
 */
import type { Db } from './db.js';

/** A quarantined record as the API returns it. */
export interface QuarantineEntry {
  id: number;
  source: { key: string; label: string | null; pos: number; line: number | null };
  reason: string;
  detail: string;
  raw: string;
  received_at: string;
}

export class QuarantineRepository {
  private readonly insert;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO quarantine (source_id, pos, line, reason, detail, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, pos) DO NOTHING`,
    );
  }

  /** Stores one rejected record; returns false when its position was already stored. */
  write(sourceId: number, pos: number, line: number | null, reason: string, detail: string, raw: Buffer, receivedAt: number): boolean {
    return this.insert.run(sourceId, pos, line, reason, detail, raw, receivedAt).changes === 1;
  }

  /** Maps a quarantine row (joined with its source) to the API shape. */
  static fromRow(row: Record<string, unknown>): QuarantineEntry {
    return {
      id: Number(row.id),
      source: { key: String(row.source_key), label: (row.source_label as string | null) ?? null, pos: Number(row.pos), line: row.line === null ? null : Number(row.line) },
      reason: String(row.reason),
      detail: String(row.detail),
      raw: Buffer.isBuffer(row.raw) ? row.raw.toString('utf8') : String(row.raw),
      received_at: new Date(Number(row.received_at)).toISOString(),
    };
  }
}
