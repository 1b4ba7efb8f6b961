/**
 * Writes and reads flows. The only place that knows how a Flow maps to a row: repeated strings
 * are interned (see strings.repository.ts), direction and mTLS are small integers, request ids
 * and IPv4 addresses have compact forms (migrations/0007_compact_flows.sql), the rest is stored
 * as is. Rows are keyed by their source position, so writing a replayed record is a no-op.
 */
import { FlowSchema, type Direction, type Flow, type Reporter } from '../../schemas/flow.js';
import type { Db } from './db.js';
import type { StringsRepository } from './strings.repository.js';

/** A stored flow: the flow plus its row id and where it came from. */
export type StoredFlow = Flow & { id: number; source: { key: string; pos: number; line: number | null } };

/**
 * How a field is stored. `request_id` goes to `request_id_key`; `address` (ip:port) and `ip` to
 * `<field>_v4` with `<field>_text` as fallback. Those are read back through the generated column
 * named after the field, which rebuilds the text in SQL.
 */
type Kind = 'text' | 'number' | 'interned' | 'request_id' | 'address' | 'ip';

/** Flow fields stored column-for-column: [flow field, kind]. */
const COLUMNS: [keyof Flow, Kind][] = [
  ['method', 'interned'], ['path', 'text'], ['protocol', 'interned'], ['response_code', 'number'],
  ['response_code_details', 'interned'], ['connection_termination_details', 'interned'],
  ['upstream_transport_failure_reason', 'interned'], ['bytes_received', 'number'], ['bytes_sent', 'number'],
  ['duration', 'number'], ['upstream_service_time', 'number'], ['x_forwarded_for', 'ip'],
  ['user_agent', 'interned'], ['request_id', 'request_id'], ['authority', 'interned'], ['upstream_host', 'address'],
  ['upstream_cluster', 'interned'], ['upstream_local_address', 'address'], ['downstream_local_address', 'address'],
  ['downstream_remote_address', 'address'], ['requested_server_name', 'interned'], ['route_name', 'interned'],
  ['destination_service', 'interned'], ['destination_port', 'number'], ['format', 'interned'],
  ['source_principal', 'interned'], ['source_principal_from', 'interned'], ['source_namespace', 'interned'],
  ['source_namespace_from', 'interned'], ['source_service_account', 'interned'], ['source_workload', 'interned'],
  ['destination_principal', 'interned'], ['destination_principal_from', 'interned'],
  ['destination_namespace', 'interned'], ['destination_namespace_from', 'interned'],
  ['destination_service_account', 'interned'], ['destination_workload', 'interned'],
  ['mtls_evidence', 'interned'], ['tls_version', 'interned'], ['tls_cipher', 'interned'],
];

/** The column a field is read from. */
const columnName = ([field, kind]: [keyof Flow, Kind]): string => (kind === 'interned' ? `${field}_id` : field);

/** The columns a field is written to. */
function storedColumns([field, kind]: [keyof Flow, Kind]): string[] {
  if (kind === 'request_id') return ['request_id_key'];
  if (kind === 'address' || kind === 'ip') return [`${field}_v4`, `${field}_text`];
  return [columnName([field, kind])];
}

/** Every stored column, in insert order. */
const INSERT_COLUMNS = [
  'source_id', 'pos', 'line', 'ts', 'ts_estimated', 'response_flags_id', 'direction', 'reporter_id', 'mtls', 'extra_id', 'extra',
  ...COLUMNS.flatMap(storedColumns),
];

/** SELECT list for reading flows back, shared by every query of this repository. */
export const FLOW_SELECT = `f.id, s.key AS source_key, f.pos, f.line, f.ts, f.ts_estimated, f.response_flags_id,
  f.direction, f.reporter_id, f.mtls, f.extra_id, f.extra, ${COLUMNS.map((c) => `f.${columnName(c)}`).join(', ')}`;

const FLOW_KEYS = Object.keys(FlowSchema.shape) as (keyof Flow)[];

const DIRECTION_CODE = { inbound: 1, outbound: 2 } as const;
const DIRECTION_NAME: Record<number, Direction> = { 1: 'inbound', 2: 'outbound' };

/** A row as read with {@link FLOW_SELECT}. */
export type FlowRow = Record<string, unknown> & { id: number; source_key: string; pos: number; line: number | null };

/** Value of a lower-case hex digit's char code, or -1 (upper case is not canonical). */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Writes the 16 bytes of `id` into `out` when it is a canonical lower-case UUID
 * (8-4-4-4-12 hex digits); false otherwise. Hand-rolled: it runs for every flow.
 */
function uuidBytes(id: string, out: Buffer): boolean {
  if (id.length !== 36) return false;
  let byte = 0;
  for (let i = 0; i < 36; ) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i) !== 45) return false;
      i++;
      continue;
    }
    const hi = hexValue(id.charCodeAt(i));
    const lo = hexValue(id.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return false;
    out[byte++] = hi * 16 + lo;
    i += 2;
  }
  return true;
}

/**
 * The stored form of a request id: a canonical lower-case UUID (what Envoy generates) as its 16
 * bytes, which the generated `request_id` column turns back into the same text; anything else
 * as is. Queries by request id compare `request_id_key` with this.
 */
export function requestIdKey(id: string): Buffer | string {
  const bytes = Buffer.alloc(16);
  return uuidBytes(id, bytes) ? bytes : id;
}

/**
 * `a.b.c.d` (`withPort` false) or `a.b.c.d:port` packed into one integer that the generated
 * columns of migration 0007 print back to the same text; null when the text is not exactly that
 * (canonical decimal: no sign, no leading zero, octets <= 255, port <= 65535). Offset by 2^31 so
 * the value fits SQLite's 4-byte (ip) or 6-byte (ip and port) integers. Hand-rolled: it runs for
 * four or five fields of every flow.
 */
export function packIpv4(text: string, withPort: boolean): number | null {
  const len = text.length;
  let ip = 0;
  let i = 0;
  for (let part = 0; part < 5; part++) {
    const max = part === 4 ? 65535 : 255;
    const start = i;
    let n = 0;
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 5 || n > max || (digits > 1 && text.charCodeAt(start) === 48)) return null;
    if (part < 4) ip = ip * 256 + n;
    else return i === len ? (ip - 2 ** 31) * 65536 + n : null;
    const sep = part < 3 ? 46 : 58; // '.' between octets, ':' before the port
    if (part === 3 && !withPort) break;
    if (i >= len || text.charCodeAt(i) !== sep) return null;
    i++;
  }
  return i === len ? ip - 2 ** 31 : null;
}

/**
 * `extra` keys whose values repeat per edge (certificate identities, TLS parameters): an object
 * made only of these is interned. Session ids, serials, fingerprints and validity times are left
 * out on purpose: they change per connection or certificate and would grow the strings table.
 */
const INTERNED_EXTRA_KEY = /^(?:(?:downstream|upstream)_(?:peer|local)_(?:uri_san|dns_san|ip_san|subject)|(?:downstream|upstream)_peer_issuer|(?:downstream|upstream)_tls_(?:version|cipher)|tls_ja[34]_fingerprint)$/;

export class FlowsRepository {
  private readonly insert;
  private readonly ridScratch = Buffer.alloc(16);
  private readonly values: unknown[] = new Array<unknown>(INSERT_COLUMNS.length).fill(null);

  constructor(db: Db, private readonly strings: StringsRepository) {
    this.insert = db.prepare(
      `INSERT INTO flows (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (source_id, pos) DO NOTHING`,
    );
  }

  /** Inserts one flow at its position; returns its row id, or null when that position was already stored. */
  write(sourceId: number, pos: number, line: number | null, flow: Flow, receivedAt: number): number | null {
    const s = this.strings;
    const parsedTs = flow.start_time === null ? Number.NaN : Date.parse(flow.start_time);
    const known = Number.isFinite(parsedTs);
    let extraId: number | null = null;
    let extra: string | null = null;
    let hasExtra = false;
    let internable = true;
    for (const k in flow.extra) {
      hasExtra = true;
      if (!INTERNED_EXTRA_KEY.test(k)) {
        internable = false;
        break;
      }
    }
    if (hasExtra) {
      const json = JSON.stringify(flow.extra);
      if (internable) extraId = s.intern(json);
      else extra = json;
    }
    // One array per repository, filled in place: run() is synchronous and binds the values before
    // it returns, so nothing keeps them; a fresh 56-slot array per row was a tenth of the bytes
    // ingest allocates per line.
    const values = this.values;
    values[0] = sourceId;
    values[1] = pos;
    values[2] = line;
    values[3] = known ? parsedTs : receivedAt;
    values[4] = known ? 0 : 1;
    values[5] = flow.response_flags.length ? s.intern(flow.response_flags.join(',')) : null;
    values[6] = flow.direction === null ? null : DIRECTION_CODE[flow.direction];
    values[7] = s.intern(JSON.stringify(flow.reporter));
    values[8] = flow.mtls === null ? null : flow.mtls ? 1 : 0;
    values[9] = extraId;
    values[10] = extra;
    let i = 11;
    for (const [field, kind] of COLUMNS) {
      const v = flow[field] as string | number | null;
      switch (kind) {
        case 'interned': values[i++] = v === null ? null : s.intern(String(v)); break;
        // One scratch buffer per repository: better-sqlite3 copies a bound blob, and run() is synchronous.
        case 'request_id': values[i++] = v === null ? null : uuidBytes(String(v), this.ridScratch) ? this.ridScratch : v; break;
        case 'address':
        case 'ip': {
          const packed = v === null ? null : packIpv4(String(v), kind === 'address');
          values[i++] = packed;
          values[i++] = packed === null ? v : null;
          break;
        }
        default: values[i++] = v;
      }
    }
    const r = this.insert.run(values);
    return r.changes === 1 ? Number(r.lastInsertRowid) : null;
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
      extra: row.extra_id !== null && row.extra_id !== undefined ? (JSON.parse(str(row.extra_id)!) as Record<string, string>)
        : row.extra === null || row.extra === undefined ? {} : (JSON.parse(String(row.extra)) as Record<string, string>),
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
