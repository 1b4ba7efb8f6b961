/**
 * The store: writes a batch of parsed records -- flows, quarantined input and the sources' new
 * positions -- in ONE SQLite transaction. A source acknowledges upstream only after
 * {@link Store.writeBatch} has returned, so a crash before that replays the batch, and the
 * unique (source, pos) keys make the replay a no-op: at-least-once delivery, exactly-once effect.
 *
 * Components that must stay consistent with the flows (rollups, detectors, the outbox) register
 * a {@link BatchHook}; hooks run inside the same transaction, after the rows are written.
 */
import type { Flow } from '../../schemas/flow.js';
import type { ParseOutcome, Position } from '../pipeline/contracts.js';
import { MeshtrailError } from '../errors.js';
import type { Db } from './db.js';
import { FlowsRepository } from './flows.repository.js';
import { QuarantineRepository } from './quarantine.repository.js';
import { SourcesRepository } from './sources.repository.js';
import { StringsRepository } from './strings.repository.js';

/** One parsed record of a batch. */
export interface BatchRecord {
  position: Position;
  /** The raw input (envelope included), kept for quarantined records. */
  raw: string | Buffer;
  outcome: ParseOutcome;
}

/** The committed resume point of one source after this batch. */
export interface PositionUpdate {
  source: string;
  position: number;
  meta?: Record<string, unknown> | null;
}

/** A flow written by this batch (new rows only, replays excluded). */
export interface WrittenFlow {
  id: number;
  flow: Flow;
}

/** Runs inside the batch's transaction after its rows are written. Must be synchronous. */
export type BatchHook = (db: Db, written: WrittenFlow[]) => void;

/** What a batch did. */
export interface BatchResult {
  flows: number;
  quarantined: number;
  /** Records whose position was already stored (replays). */
  duplicates: number;
}

export class Store {
  readonly strings: StringsRepository;
  readonly flows: FlowsRepository;
  readonly quarantine: QuarantineRepository;
  readonly sources: SourcesRepository;
  private readonly hooks: BatchHook[] = [];

  constructor(readonly db: Db) {
    this.strings = new StringsRepository(db);
    this.flows = new FlowsRepository(db, this.strings);
    this.quarantine = new QuarantineRepository(db);
    this.sources = new SourcesRepository(db);
  }

  /** Registers a hook that runs in every batch transaction. */
  addHook(hook: BatchHook): void {
    this.hooks.push(hook);
  }

  /**
   * Writes the batch atomically. `labels` names sources on first sight (e.g. the file path).
   * Throws a retriable ERR_DB_FULL when the disk is full; nothing of the batch is kept then.
   */
  writeBatch(records: BatchRecord[], positions: PositionUpdate[], labels: Record<string, string> = {}): BatchResult {
    const result: BatchResult = { flows: 0, quarantined: 0, duplicates: 0 };
    const now = Date.now();
    const tx = this.db.transaction(() => {
      const written: WrittenFlow[] = [];
      for (const r of records) {
        const sourceId = this.sources.ensure(r.position.source, labels[r.position.source] ?? null);
        const { pos, line } = r.position;
        if (r.outcome.ok) {
          const id = this.flows.write(sourceId, pos, line, r.outcome.flow, now);
          if (id !== null) {
            result.flows++;
            written.push({ id, flow: r.outcome.flow });
          } else result.duplicates++;
        } else {
          const raw = typeof r.raw === 'string' ? Buffer.from(r.raw, 'utf8') : r.raw;
          if (this.quarantine.write(sourceId, pos, line, r.outcome.reason, r.outcome.detail, raw, now)) result.quarantined++;
          else result.duplicates++;
        }
      }
      for (const p of positions) {
        const id = this.sources.ensure(p.source, labels[p.source] ?? null);
        this.sources.setPosition(id, p.position, p.meta ?? null);
      }
      for (const hook of this.hooks) hook(this.db, written);
    });
    try {
      tx();
      this.strings.commitPending();
      return result;
    } catch (cause) {
      this.strings.forgetUncommitted();
      this.sources.forgetUncommitted();
      const code = (cause as { code?: string }).code;
      if (code === 'SQLITE_FULL') throw new MeshtrailError('ERR_DB_FULL', 'batch not written, it will be retried', { cause });
      throw cause;
    }
  }
}
