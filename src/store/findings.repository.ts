/**
 * Findings: stored, aggregated problems and their lifecycle. The only place that maps a
 * `findings` row to a {@link Finding}.
 *
 * Lifecycle: open -> acknowledged | resolved | suppressed (with a reason). New observations of a
 * resolved finding reopen it; a suppressed finding stays suppressed (its counters still move, it
 * emits no events); an acknowledged one stays acknowledged. Severity only rises while a finding
 * is not resolved. Every finding that opens, reopens, changes severity or is resolved appends one
 * outbox event in the same transaction (callers of {@link FindingsRepository.apply} are inside the
 * batch transaction; {@link FindingsRepository.setStatus} opens its own).
 */
import crypto from 'node:crypto';
import {
  FindingSchema, SEVERITY_SCORE, mergeParties, pickParties, type Detector, type Finding, type FindingEventType, type FindingParties,
  type FindingStatus, type Severity,
} from '../../schemas/finding.js';
import { encodeKey } from '../../schemas/api.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { OutboxRepository } from './outbox.repository.js';

/** All observations of one finding key in one batch, merged. */
export interface FindingAggregate extends FindingParties, Pick<Finding, 'key' | 'detector' | 'severity' | 'title' | 'evidence' | 'count' | 'request_id'> {
  /** Epoch ms. */
  first_seen: number;
  last_seen: number;
  /** Flow ids, oldest first. */
  sample_flow_ids: number[];
}

/** What {@link FindingsRepository.apply} did. */
export interface ApplyResult {
  opened: number;
  reopened: number;
  updated: number;
  events: number;
}

/** Filters of {@link FindingsRepository.list} (validated by the caller). */
export interface FindingsFilter {
  detector?: Detector | undefined;
  severity?: Severity | undefined;
  status?: FindingStatus | undefined;
  source_principal?: string | undefined;
  destination_service?: string | undefined;
  /** last_seen >= from (epoch ms). */
  from?: number | undefined;
  /** first_seen < to (epoch ms). */
  to?: number | undefined;
  /** Resume after this (last_seen, id). */
  cursor?: { last_seen: number; id: string } | undefined;
  limit: number;
}

/** A `findings` row: times as epoch ms, evidence and samples as JSON text. */
interface FindingRow extends FindingParties, Pick<Finding, 'id' | 'key' | 'status_reason' | 'title' | 'count' | 'request_id'> {
  detector: string; severity: string; status: string;
  first_seen: number; last_seen: number; evidence: string; sample_flow_ids: string;
  events: number; updated_at: number;
}

/** The stable id of a finding key: a hash, so the same problem keeps its id across restarts. */
export function findingId(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
}

const COLUMNS = ['id', 'key', 'detector', 'severity', 'status', 'status_reason', 'title', 'source_principal', 'source_workload',
  'source_namespace', 'destination_service', 'destination_namespace', 'destination', 'destination_port', 'first_seen', 'last_seen',
  'count', 'evidence', 'sample_flow_ids', 'request_id', 'events', 'updated_at'] as const;

export class FindingsRepository {
  readonly outbox: OutboxRepository;
  private readonly getStmt;
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly counterStmt;
  private readonly countersStmt;
  private readonly listCache = new Map<string, Statement<unknown[], FindingRow>>();

  constructor(private readonly db: Db, outbox?: OutboxRepository, private readonly clock: () => number = Date.now) {
    this.outbox = outbox ?? new OutboxRepository(db);
    this.getStmt = db.prepare<[string], FindingRow>(`SELECT ${COLUMNS.join(', ')} FROM findings WHERE id = ?`);
    this.insertStmt = db.prepare(`INSERT INTO findings (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
    this.updateStmt = db.prepare(`UPDATE findings SET ${COLUMNS.filter((c) => c !== 'id' && c !== 'key').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`);
    this.counterStmt = db.prepare<[string, string, number]>(`INSERT INTO detector_counters (detector, counter, value) VALUES (?, ?, ?)
      ON CONFLICT (detector, counter) DO UPDATE SET value = value + excluded.value`);
    this.countersStmt = db.prepare<[], { detector: string; counter: string; value: number }>('SELECT detector, counter, value FROM detector_counters ORDER BY detector, counter');
  }

  /** The one row-to-finding mapping. */
  private fromRow(r: FindingRow): Finding {
    return {
      id: r.id, key: r.key, detector: r.detector as Detector, severity: r.severity as Severity, status: r.status as FindingStatus,
      status_reason: r.status_reason, title: r.title, ...pickParties(r), first_seen: new Date(r.first_seen).toISOString(),
      last_seen: new Date(r.last_seen).toISOString(), count: r.count, evidence: JSON.parse(r.evidence) as Record<string, unknown>,
      sample_flow_ids: JSON.parse(r.sample_flow_ids) as number[], request_id: r.request_id, updated_at: new Date(r.updated_at).toISOString(),
    };
  }

  /** One finding by id. */
  get(id: string): Finding | undefined {
    const r = this.getStmt.get(id);
    return r ? this.fromRow(r) : undefined;
  }

  private emit(row: FindingRow, type: FindingEventType, now: number): void {
    row.events += 1;
    this.outbox.append(`${row.id}:${row.events}`, type, now, this.fromRow(row));
  }

  /**
   * Merges a batch's aggregates into the stored findings and appends their events. Must run
   * inside the batch transaction (the caller's). One read and one write per key.
   */
  apply(aggregates: readonly FindingAggregate[], now: number, maxSamples: number): ApplyResult {
    const result: ApplyResult = { opened: 0, reopened: 0, updated: 0, events: 0 };
    for (const a of aggregates) {
      const id = findingId(a.key);
      const existing = this.getStmt.get(id);
      if (existing === undefined) {
        const row: FindingRow = {
          id, key: a.key, detector: a.detector, severity: a.severity, status: 'open', status_reason: null, title: a.title,
          ...pickParties(a), first_seen: a.first_seen, last_seen: a.last_seen, count: a.count,
          evidence: JSON.stringify(a.evidence), sample_flow_ids: JSON.stringify(a.sample_flow_ids.slice(-maxSamples)),
          request_id: a.request_id, events: 0, updated_at: now,
        };
        this.emit(row, 'opened', now);
        this.insertStmt.run(row);
        result.opened++;
        result.events++;
        continue;
      }
      const row: FindingRow = { ...existing };
      let event: FindingEventType | null = null;
      const rises = SEVERITY_SCORE[a.severity] > SEVERITY_SCORE[row.severity as Severity];
      if (row.status === 'resolved') {
        row.status = 'open';
        row.status_reason = null;
        event = 'reopened';
        row.severity = a.severity;
      } else if (rises) {
        row.severity = a.severity;
        if (row.status !== 'suppressed') event = 'severity_changed';
      }
      if (SEVERITY_SCORE[a.severity] >= SEVERITY_SCORE[row.severity as Severity]) {
        row.title = a.title;
        row.evidence = JSON.stringify(a.evidence);
      }
      mergeParties(row, a);
      row.first_seen = Math.min(row.first_seen, a.first_seen);
      row.last_seen = Math.max(row.last_seen, a.last_seen);
      row.count += a.count;
      row.sample_flow_ids = JSON.stringify([...(JSON.parse(row.sample_flow_ids) as number[]), ...a.sample_flow_ids].slice(-maxSamples));
      row.request_id = a.request_id ?? row.request_id;
      row.updated_at = now;
      if (event !== null) {
        this.emit(row, event, now);
        result.events++;
        if (event === 'reopened') result.reopened++;
      }
      this.updateStmt.run(row);
      result.updated++;
    }
    return result;
  }

  /**
   * Changes a finding's status (PATCH) in its own transaction, appending a `resolved` event when
   * it becomes resolved and a `reopened` event when a resolved one is opened again. Returns the
   * updated finding, or undefined for an unknown id.
   */
  setStatus(id: string, status: FindingStatus, reason: string | null, now = this.clock()): Finding | undefined {
    return this.db.transaction(() => {
      const existing = this.getStmt.get(id);
      if (existing === undefined) return undefined;
      const row: FindingRow = { ...existing, status, status_reason: status === 'open' ? null : reason, updated_at: now };
      if (status === 'resolved' && existing.status !== 'resolved') this.emit(row, 'resolved', now);
      else if (status === 'open' && existing.status === 'resolved') this.emit(row, 'reopened', now);
      this.updateStmt.run(row);
      return this.fromRow(row);
    })();
  }

  /** A page of findings, most recently seen first, with the cursor of the next page. */
  list(f: FindingsFilter): { items: Finding[]; next_cursor: string | null } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const eq = (column: string, v: string | undefined) => {
      if (v === undefined) return;
      clauses.push(`${column} = ?`);
      params.push(v);
    };
    eq('detector', f.detector);
    eq('severity', f.severity);
    eq('status', f.status);
    eq('source_principal', f.source_principal);
    eq('destination_service', f.destination_service);
    if (f.from !== undefined) { clauses.push('last_seen >= ?'); params.push(f.from); }
    if (f.to !== undefined) { clauses.push('first_seen < ?'); params.push(f.to); }
    if (f.cursor !== undefined) { clauses.push('(last_seen, id) < (?, ?)'); params.push(f.cursor.last_seen, f.cursor.id); }
    // The SQL text depends only on which filters are present: a bounded set, each prepared once.
    const sql = `SELECT ${COLUMNS.join(', ')} FROM findings ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
      ORDER BY last_seen DESC, id DESC LIMIT ?`;
    let stmt = this.listCache.get(sql);
    if (stmt === undefined) this.listCache.set(sql, (stmt = this.db.prepare<unknown[], FindingRow>(sql)));
    const rows = stmt.all(...params, f.limit + 1);
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit);
    const last = page[page.length - 1];
    return { items: page.map((r) => this.fromRow(r)), next_cursor: more && last !== undefined ? encodeKey([last.last_seen, last.id]) : null };
  }

  /** Adds to the detectors' running counters (inside the batch transaction). */
  addCounters(counters: Readonly<Record<string, Readonly<Record<string, number>>>>): void {
    for (const [detector, values] of Object.entries(counters)) {
      for (const [counter, n] of Object.entries(values)) if (n !== 0) this.counterStmt.run(detector, counter, n);
    }
  }

  /** The detectors' running counters: `{ plaintext: { unknown_verdict: 12, ... }, ... }`. */
  counters(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const r of this.countersStmt.all()) (out[r.detector] ??= {})[r.counter] = r.value;
    return out;
  }
}

/** Validates a finding against the schema (tests: the store never returns what the schema forbids). */
export function assertFindingShape(f: Finding): void {
  FindingSchema.parse(f);
}

/** Detector state kept next to the findings: the learned baseline and when learning started. */
export class DetectorStateRepository {
  private readonly edgesStmt;
  private readonly addEdgeStmt;
  private readonly getStmt;
  private readonly setStmt;

  constructor(db: Db) {
    this.edgesStmt = db.prepare<[], { edge: string }>('SELECT edge FROM baseline_edges');
    this.addEdgeStmt = db.prepare<[string, number]>('INSERT INTO baseline_edges (edge, first_seen) VALUES (?, ?) ON CONFLICT (edge) DO NOTHING');
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM detector_state WHERE name = ?');
    this.setStmt = db.prepare<[string, string]>('INSERT INTO detector_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');
  }

  /** Every learned edge. */
  edges(): string[] {
    return this.edgesStmt.all().map((r) => r.edge);
  }

  /** Records learned edges (inside the batch transaction). */
  addEdges(edges: readonly string[], at: number): void {
    for (const e of edges) this.addEdgeStmt.run(e, at);
  }

  /** A state value, or null. */
  get(name: string): string | null {
    return this.getStmt.get(name)?.value ?? null;
  }

  set(name: string, value: string): void {
    this.setStmt.run(name, value);
  }
}
