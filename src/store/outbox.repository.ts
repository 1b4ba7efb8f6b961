/**
 * The findings outbox: one row per finding event (opened, reopened, severity_changed, resolved),
 * appended in the same transaction as the finding change it reports, so an event exists if and
 * only if the change committed. `seq` orders delivery; `event_id` (`<finding id>:<n>`, n counting
 * that finding's events) lets receivers drop redeliveries. Sinks read it with their own cursor
 * (src/sinks/outbox.ts); this repository only appends and, for tests and tools, lists.
 */
import type { Finding, FindingEvent, FindingEventType } from '../../schemas/finding.js';
import type { Db } from './db.js';

interface OutboxRow { seq: number; event_id: string; type: string; at: number; finding: string }

export class OutboxRepository {
  private readonly insert;
  private readonly listStmt;
  private readonly countStmt;

  constructor(db: Db) {
    this.insert = db.prepare<[string, string, number, string]>('INSERT INTO outbox (event_id, type, at, finding) VALUES (?, ?, ?, ?)');
    this.listStmt = db.prepare<[number, number], OutboxRow>('SELECT seq, event_id, type, at, finding FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox');
  }

  /** Appends one event (call inside the transaction that changed the finding); returns its seq. */
  append(eventId: string, type: FindingEventType, at: number, finding: Finding): number {
    return Number(this.insert.run(eventId, type, at, JSON.stringify(finding)).lastInsertRowid);
  }

  /** Events after `afterSeq`, in seq order (row-to-event mapping in one place). */
  list(afterSeq = 0, limit = 1000): FindingEvent[] {
    return this.listStmt.all(afterSeq, limit).map((r) => ({
      event_id: r.event_id,
      seq: r.seq,
      type: r.type as FindingEventType,
      at: new Date(r.at).toISOString(),
      finding: JSON.parse(r.finding) as Finding,
    }));
  }

  /** Number of events ever written. */
  count(): number {
    return this.countStmt.get()!.n;
  }
}
