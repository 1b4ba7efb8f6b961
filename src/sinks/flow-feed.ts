/**
 * Raw flows for the sinks that forward them (`flows:` in a sink's config): reads the flows table
 * in id order after each sink's flow cursor (migration 0008 `sink_flow_cursors`).
 *
 * Why the id: `flows.id` only grows (retention never deletes the newest row, see
 * src/store/retention.ts) and is assigned under SQLite's single write lock, so once id N is
 * visible every flow with a smaller id is committed or deleted. A cursor "every matching flow
 * up to id N was acknowledged" therefore gives in-order, at-least-once delivery that resumes
 * after a restart, like the findings cursor. Time order would not: late lines get old times.
 *
 * Bounded work: one read examines at most `scanIds` ids after the cursor (filtering in SQL) and
 * returns at most `limit` flows. When a window holds no matching flow the cursor moves over it
 * without a send, so a selective filter does not re-scan the same rows on every poll.
 *
 * Lost flows: ids are dense except where rows were deleted (a rolled-back insert hands its id
 * out again), so ids missing between the cursor and the end of a window are flows deleted by
 * retention before this sink read them. They are counted in the same statement that moves the
 * cursor over them, so each is counted once. Whether a deleted flow matched the filter cannot
 * be known any more: the count is an upper bound of the matching flows the receiver missed.
 */
import type Database from 'better-sqlite3';
import type { SinkFlowsFilter } from '../../schemas/sinks-config.js';
import { prepared } from '../store/flows.query.js';
import { FLOW_SELECT, type FlowRow, type StoredFlow } from '../store/flows.repository.js';
import type { Store } from '../store/store.js';
import { flowFilterSql } from './flow-filter.js';

/** One flow as the sinks send it. */
export interface FlowEvent {
  /** Stable across re-reads and re-ingestion of the same input: `flow-<source key>-<pos>`. */
  event_id: string;
  /** The flow's start time, or when it was stored if the line had no time (ISO-8601). */
  at: string;
  /** The flow as `GET /api/v1/flows/{id}` shows it. */
  flow: StoredFlow;
}

/** What one read found after a sink's flow cursor. */
export interface FlowBatch {
  /** The cursor the read started after. */
  after: number;
  /** The cursor once this batch is acknowledged (every matching flow in (after, end] is in `flows`). */
  end: number;
  /** Matching flows in (after, end], ascending id; may be empty. */
  flows: FlowEvent[];
  /** Ids in (after, end] that no longer exist: flows deleted before this sink read them. */
  lost: number;
}

/** A sink's flow cursor as stored (times epoch ms). */
export interface FlowCursorState {
  sink: string;
  flow_id: number;
  started_at_flow_id: number;
  delivered: number;
  lost: number;
  last_lost_at: number | null;
  last_success_at: number | null;
}

/** What the dispatcher needs for flow forwarding. */
export interface FlowFeed {
  /** The sink's cursor, created at the newest flow id when it has none ("from now"). */
  start(sink: string): { state: FlowCursorState; created: boolean };
  /** Drops the cursor of a sink that no longer forwards flows; returns what it was. */
  forget(sink: string): FlowCursorState | undefined;
  /** The next batch after the sink's cursor, or null when no flow was stored after it. */
  read(sink: string, filter: SinkFlowsFilter, limit: number): FlowBatch | null;
  /** Moves the cursor to `batch.end` after the receiver acknowledged `batch.flows` (counts `lost`). */
  advance(sink: string, batch: FlowBatch): void;
  /** Flows stored after the cursor (not yet examined). */
  lag(sink: string): number;
  /** The stored cursor, if any. */
  state(sink: string): FlowCursorState | undefined;
}

/** Default number of ids one read examines. */
export const FLOW_SCAN_IDS = 10_000;

/** The {@link FlowFeed} over a store's database. */
export class SqliteFlowFeed implements FlowFeed {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], FlowCursorState>;
  private readonly maxStmt: Database.Statement<[], { m: number | null }>;
  private readonly countStmt: Database.Statement<[number, number], { n: number }>;
  private readonly createStmt: Database.Statement<[{ sink: string; id: number; now: number }]>;
  private readonly deleteStmt: Database.Statement<[string]>;
  private readonly advanceStmt: Database.Statement<[{ sink: string; after: number; end: number; delivered: number; lost: number; now: number }]>;

  constructor(private readonly store: Store, private readonly scanIds = FLOW_SCAN_IDS) {
    const db = (this.db = store.db);
    this.getStmt = db.prepare(`SELECT sink, flow_id, started_at_flow_id, delivered, lost, last_lost_at, last_success_at
      FROM sink_flow_cursors WHERE sink = ?`);
    this.maxStmt = db.prepare('SELECT max(id) AS m FROM flows');
    this.countStmt = db.prepare('SELECT count(*) AS n FROM flows WHERE id > ? AND id <= ?');
    this.createStmt = db.prepare(`INSERT INTO sink_flow_cursors (sink, flow_id, started_at_flow_id, created_at, updated_at)
      VALUES (@sink, @id, @id, @now, @now) ON CONFLICT (sink) DO NOTHING`);
    this.deleteStmt = db.prepare('DELETE FROM sink_flow_cursors WHERE sink = ?');
    // Guarded by the cursor the batch was read after: a repeated or stale call changes nothing,
    // so delivered and lost flows are each counted once.
    this.advanceStmt = db.prepare(`UPDATE sink_flow_cursors SET flow_id = @end, delivered = delivered + @delivered,
        lost = lost + @lost, last_lost_at = CASE WHEN @lost > 0 THEN @now ELSE last_lost_at END,
        last_success_at = CASE WHEN @delivered > 0 THEN @now ELSE last_success_at END, updated_at = @now
      WHERE sink = @sink AND flow_id = @after AND @end > @after`);
  }

  start(sink: string): { state: FlowCursorState; created: boolean } {
    return this.db.transaction(() => {
      const created = this.createStmt.run({ sink, id: this.maxId(), now: Date.now() }).changes === 1;
      return { state: this.getStmt.get(sink)!, created };
    })();
  }

  forget(sink: string): FlowCursorState | undefined {
    const s = this.getStmt.get(sink);
    if (s) this.deleteStmt.run(sink);
    return s;
  }

  read(sink: string, filter: SinkFlowsFilter, limit: number): FlowBatch | null {
    // One read transaction: the window, its rows and its count come from the same snapshot.
    return this.db.transaction((): FlowBatch | null => {
      const cursor = this.getStmt.get(sink)?.flow_id;
      if (cursor === undefined) throw new Error(`sink ${sink} has no flow cursor; start() it first`);
      const max = this.maxId();
      if (max <= cursor) return null;
      const hi = Math.min(cursor + this.scanIds, max);
      const where = flowFilterSql(filter, (v) => this.store.strings.lookup(v));
      let rows: FlowRow[] = [];
      if (where) {
        const sql = `SELECT ${FLOW_SELECT} FROM flows f JOIN sources s ON s.id = f.source_id
          WHERE f.id > ? AND f.id <= ?${where.clauses.map((c) => ` AND ${c}`).join('')} ORDER BY f.id LIMIT ?`;
        rows = prepared(this.db, sql).all(cursor, hi, ...where.params, limit) as FlowRow[];
      }
      const end = rows.length === limit ? rows[rows.length - 1]!.id : hi;
      const present = this.countStmt.get(cursor, end)!.n;
      return { after: cursor, end, lost: end - cursor - present, flows: rows.map((r) => this.toEvent(r)) };
    })();
  }

  advance(sink: string, batch: FlowBatch): void {
    this.advanceStmt.run({ sink, after: batch.after, end: batch.end, delivered: batch.flows.length, lost: batch.lost, now: Date.now() });
  }

  lag(sink: string): number {
    const s = this.getStmt.get(sink);
    return s ? Math.max(0, this.maxId() - s.flow_id) : 0;
  }

  state(sink: string): FlowCursorState | undefined {
    return this.getStmt.get(sink);
  }

  private maxId(): number {
    return this.maxStmt.get()?.m ?? 0;
  }

  private toEvent(row: FlowRow): FlowEvent {
    const flow = this.store.flows.fromRow(row);
    return {
      event_id: `flow-${flow.source.key}-${flow.source.pos}`,
      at: flow.start_time ?? new Date(Number(row.ts)).toISOString(),
      flow,
    };
  }
}
