/**
 * What the sink dispatcher needs from the store: the findings outbox, read in `seq` order, and
 * one cursor per sink (migration 0004 `sink_cursors`).
 *
 * Guarantees: `read` returns events with `seq > afterSeq` in ascending `seq` order and never
 * skips a row (a row that does not decode throws {@link OutboxRowError}, it is not dropped).
 * `setCursor` only moves a cursor forward, so a late or repeated call can never rewind or skip.
 *
 * Assumed outbox table (written by the findings store, migration 0003, not owned here):
 *   outbox(seq INTEGER PRIMARY KEY, event_id TEXT UNIQUE, type TEXT, at INTEGER /* epoch ms *\/,
 *          finding TEXT /* JSON of Finding *\/)
 * `at` may also be an ISO-8601 string; both are accepted.
 */
import type Database from 'better-sqlite3';
import { FindingEventSchema, type FindingEvent } from '../../schemas/finding.js';

/** Reads the findings outbox and keeps each sink's delivery cursor. */
export interface OutboxReader {
  /** Up to `limit` events with `seq > afterSeq`, ascending. */
  read(afterSeq: number, limit: number): FindingEvent[];
  /** The seq of the last event `sink` delivered (0 when it never delivered). */
  getCursor(sink: string): number;
  /**
   * Moves `sink`'s cursor forward to `seq` after the receiver acknowledged every event up to it
   * (never backward); `delivered` (default 0) is added to the sink's delivered count.
   */
  setCursor(sink: string, seq: number, delivered?: number): void;
}

/** Delivery bookkeeping of one sink as stored (times epoch ms). */
export interface SinkCursorState {
  sink: string;
  seq: number;
  delivered: number;
  failures: number;
  last_success_at: number | null;
  last_error: string | null;
  last_error_code: string | null;
  last_error_at: number | null;
}

/** {@link OutboxReader} plus the bookkeeping the dispatcher shows in `GET /api/v1/sinks`. */
export interface SinkStateStore extends OutboxReader {
  /** Records a failed attempt (`code` is low-cardinality, `message` the detail). */
  recordError(sink: string, code: string, message: string): void;
  /** Outbox events after `sink`'s cursor (its lag). */
  lag(sink: string): number;
  /** The stored state of `sink` (zeros when it has no row yet). */
  state(sink: string): SinkCursorState;
}

/** An outbox row that cannot be turned into a {@link FindingEvent}; delivery stops at it. */
export class OutboxRowError extends Error {
  readonly code = 'outbox_row_invalid';
  constructor(readonly seq: number, detail: string, options?: { cause?: unknown }) {
    super(`outbox row seq=${seq} is not a valid finding event: ${detail}`, options);
    this.name = 'OutboxRowError';
  }
}

interface OutboxRow { seq: number; event_id: string; type: string; at: number | string; finding: string }

/** Outbox row to event: one mapping, validated, so a sink never formats half a finding. */
export function rowToEvent(row: OutboxRow): FindingEvent {
  let finding: unknown;
  try {
    finding = JSON.parse(row.finding);
  } catch (cause) {
    throw new OutboxRowError(row.seq, `finding is not JSON (${(cause as Error).message})`, { cause });
  }
  const at = typeof row.at === 'number' ? new Date(row.at).toISOString() : row.at;
  const parsed = FindingEventSchema.safeParse({ event_id: row.event_id, seq: row.seq, type: row.type, at, finding });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new OutboxRowError(row.seq, first ? `${first.path.join('.') || '(row)'}: ${first.message}` : 'invalid', { cause: parsed.error });
  }
  return parsed.data;
}

/** The SQLite implementation over `outbox` and `sink_cursors` (statements prepared once). */
export class SqliteOutbox implements SinkStateStore {
  private readonly readStmt: Database.Statement<[number, number], OutboxRow>;
  private readonly cursorStmt: Database.Statement<[string], SinkCursorState>;
  private readonly advanceStmt: Database.Statement<[{ sink: string; seq: number; delivered: number; now: number }]>;
  private readonly errorStmt: Database.Statement<[{ sink: string; code: string; message: string; now: number }]>;
  private readonly lagStmt: Database.Statement<[number], { n: number }>;

  constructor(db: Database.Database) {
    this.readStmt = db.prepare('SELECT seq, event_id, type, at, finding FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.cursorStmt = db.prepare(`SELECT sink, seq, delivered, failures, last_success_at, last_error, last_error_code, last_error_at
      FROM sink_cursors WHERE sink = ?`);
    // max() keeps the cursor monotonic even if two calls race or a stale one arrives late.
    this.advanceStmt = db.prepare(`INSERT INTO sink_cursors (sink, seq, delivered, last_success_at, updated_at) VALUES (@sink, @seq, @delivered, @now, @now)
      ON CONFLICT(sink) DO UPDATE SET seq = max(seq, excluded.seq), delivered = delivered + excluded.delivered,
        last_success_at = excluded.last_success_at, updated_at = excluded.updated_at`);
    this.errorStmt = db.prepare(`INSERT INTO sink_cursors (sink, failures, last_error_code, last_error, last_error_at, updated_at) VALUES (@sink, 1, @code, @message, @now, @now)
      ON CONFLICT(sink) DO UPDATE SET failures = failures + 1, last_error_code = excluded.last_error_code,
        last_error = excluded.last_error, last_error_at = excluded.last_error_at, updated_at = excluded.updated_at`);
    this.lagStmt = db.prepare('SELECT count(*) AS n FROM outbox WHERE seq > ?');
  }

  read(afterSeq: number, limit: number): FindingEvent[] {
    const out: FindingEvent[] = [];
    for (const row of this.readStmt.all(afterSeq, limit)) {
      try {
        out.push(rowToEvent(row));
      } catch (err) {
        // Hand out the good rows before a bad one; the next read starts at the bad row and throws.
        if (out.length > 0) break;
        throw err;
      }
    }
    return out;
  }

  getCursor(sink: string): number {
    return this.cursorStmt.get(sink)?.seq ?? 0;
  }

  setCursor(sink: string, seq: number, delivered = 0): void {
    const now = Date.now();
    this.advanceStmt.run({ sink, seq, delivered, now });
  }

  recordError(sink: string, code: string, message: string): void {
    const now = Date.now();
    // Bounded: a receiver may answer with a whole HTML page.
    this.errorStmt.run({ sink, code, message: message.slice(0, 2000), now });
  }

  lag(sink: string): number {
    return this.lagStmt.get(this.getCursor(sink))?.n ?? 0;
  }

  state(sink: string): SinkCursorState {
    return this.cursorStmt.get(sink) ?? {
      sink, seq: 0, delivered: 0, failures: 0, last_success_at: null, last_error: null, last_error_code: null, last_error_at: null,
    };
  }
}
