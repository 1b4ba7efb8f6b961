/**
 * Writes and reads flows. The only place that knows how a Flow maps to a row: repeated strings
 * are interned (see strings.repository.ts), direction and mTLS are small integers, the rest is
 * stored as is. Rows are keyed by their source position, so writing a replayed record is a no-op.
 */
import { FlowSchema, type Direction, type Flow, type Reporter } from '../../schemas/flow.js';
import type { Db } from './db.js';
import type { StringsRepository } from './strings.repository.js';

/** A stored flow: the flow plus its row id and where it came from. */
export type StoredFlow = Flow & { id: number; source: { key: string; pos: number; line: number | null } };

type Kind = 'text' | 'number' | 'interned';

/** Flow fields stored column-for-column: [flow field, kind]. Column = field (+ `_id` when interned). */
const COLUMNS: [keyof Flow, Kind][] = [
  ['method', 'interned'], ['path', 'text'], ['protocol', 'interned'], ['response_code', 'number'],
  ['response_code_details', 'interned'], ['connection_termination_details', 'interned'],
  ['upstream_transport_failure_reason', 'interned'], ['bytes_received', 'number'], ['bytes_sent', 'number'],
  ['duration', 'number'], ['upstream_service_time', 'number'], ['x_forwarded_for', 'text'],
  ['user_agent', 'interned'], ['request_id', 'text'], ['authority', 'interned'], ['upstream_host', 'text'],
  ['upstream_cluster', 'interned'], ['upstream_local_address', 'text'], ['downstream_local_address', 'text'],
  ['downstream_remote_address', 'text'], ['requested_server_name', 'interned'], ['route_name', 'interned'],
  ['destination_service', 'interned'], ['destination_port', 'number'], ['format', 'interned'],
  ['source_principal', 'interned'], ['source_principal_from', 'interned'], ['source_namespace', 'interned'],
  ['source_namespace_from', 'interned'], ['source_service_account', 'interned'], ['source_workload', 'interned'],
  ['destination_principal', 'interned'], ['destination_principal_from', 'interned'],
  ['destination_namespace', 'interned'], ['destination_namespace_from', 'interned'],
  ['destination_service_account', 'interned'], ['destination_workload', 'interned'],
  ['mtls_evidence', 'interned'], ['tls_version', 'interned'], ['tls_cipher', 'interned'],
];

const columnName = ([field, kind]: [keyof Flow, Kind]): string => (kind === 'interned' ? `${field}_id` : field);

/** Every stored column, in insert order. */
const INSERT_COLUMNS = [
  'source_id', 'pos', 'line', 'ts', 'ts_estimated', 'response_flags_id', 'direction', 'reporter_id', 'mtls', 'extra',
  ...COLUMNS.map(columnName),
];

/** SELECT list for reading flows back, shared by every query of this repository. */
export const FLOW_SELECT = `f.id, s.key AS source_key, f.pos, f.line, f.ts, f.ts_estimated, f.response_flags_id,
  f.direction, f.reporter_id, f.mtls, f.extra, ${COLUMNS.map((c) => `f.${columnName(c)}`).join(', ')}`;

const FLOW_KEYS = Object.keys(FlowSchema.shape) as (keyof Flow)[];

const DIRECTION_CODE = { inbound: 1, outbound: 2 } as const;
const DIRECTION_NAME: Record<number, Direction> = { 1: 'inbound', 2: 'outbound' };

/** A row as read with {@link FLOW_SELECT}. */
export type FlowRow = Record<string, unknown> & { id: number; source_key: string; pos: number; line: number | null };

export class FlowsRepository {
  private readonly insert;

  constructor(db: Db, private readonly strings: StringsRepository) {
    this.insert = db.prepare(
      `INSERT INTO flows (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (source_id, pos) DO NOTHING`,
    );
  }

  /** Inserts one flow at its position; returns false when that position was already stored. */
  write(sourceId: number, pos: number, line: number | null, flow: Flow, receivedAt: number): boolean {
    const s = this.strings;
    const parsedTs = flow.start_time === null ? Number.NaN : Date.parse(flow.start_time);
    const known = Number.isFinite(parsedTs);
    const values: unknown[] = [
      sourceId, pos, line, known ? parsedTs : receivedAt, known ? 0 : 1,
      flow.response_flags.length ? s.intern(flow.response_flags.join(',')) : null,
      flow.direction === null ? null : DIRECTION_CODE[flow.direction],
      s.intern(JSON.stringify(flow.reporter)),
      flow.mtls === null ? null : flow.mtls ? 1 : 0,
      Object.keys(flow.extra).length ? JSON.stringify(flow.extra) : null,
    ];
    for (const [field, kind] of COLUMNS) {
      const v = flow[field] as string | number | null;
      values.push(kind === 'interned' ? (v === null ? null : s.intern(String(v))) : v);
    }
    return this.insert.run(values).changes === 1;
  }

  /** Maps a row read with {@link FLOW_SELECT} back to a flow (the one row-to-domain mapping). */
  fromRow(row: FlowRow): StoredFlow {
    const s = this.strings;
    const str = (id: unknown): string | null => (id === null || id === undefined ? null : s.value(Number(id)));
    const flow: Record<string, unknown> = {
      start_time: row.ts_estimated ? null : new Date(Number(row.ts)).toISOString(),
      response_flags: row.response_flags_id === null ? [] : str(row.response_flags_id)!.split(','),
      direction: row.direction === null ? null : DIRECTION_NAME[Number(row.direction)] ?? null,
      reporter: JSON.parse(str(row.reporter_id)!) as Reporter,
      mtls: row.mtls === null ? null : row.mtls === 1,
      extra: row.extra === null ? {} : (JSON.parse(String(row.extra)) as Record<string, string>),
    };
    for (const c of COLUMNS) {
      const raw = row[columnName(c)];
      flow[c[0]] = c[1] === 'interned' ? str(raw) : raw === undefined ? null : raw;
    }
    // Schema key order, so stored flows read like `meshtrail parse` output.
    const ordered: Record<string, unknown> = { id: row.id };
    for (const key of FLOW_KEYS) ordered[key] = flow[key];
    ordered.source = { key: row.source_key, pos: row.pos, line: row.line };
    return ordered as StoredFlow;
  }
}

/** Re-validates a stored flow against the schema (used by tests: the store never returns what the schema forbids). */
export function assertFlowShape(flow: StoredFlow): void {
  const { id: _id, source: _source, ...rest } = flow;
  FlowSchema.parse(rest);
}
