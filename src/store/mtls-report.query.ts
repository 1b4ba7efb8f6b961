/**
 * Read queries behind the mTLS evidence report: server-side (inbound) requests grouped by
 * destination, verdict, evidence and TLS version; plaintext callers; destinations seen only from
 * the client side. Parameterised SQL only.
 *
 * Where the numbers come from ({@link mtlsReportData}): whole hours from the hourly mTLS rollup
 * (mtls_rollup_hour; outbound destinations from edge_rollup_hour), kept `retention.rollups_days`,
 * so a 30-day report reads a few thousand rows and still counts flows that retention deleted.
 * A window edge that is not on the hour is counted exactly from the raw flows while they are
 * retained; when retention may have deleted them, that edge is widened to the whole hour and the
 * answer says so (`counted`). Flows a rollup has not counted yet (a writer ran without the hook)
 * are read from the flows table above its watermark, so the counts always match the flows.
 *
 * {@link mtlsReportDataFromFlows} is the same computation over raw flows only: the reference the
 * tests hold the rollup to.
 */
import { MTLS_ROLLUP_BUCKET_MS, MTLS_ROLLUP_TABLE, rollupWatermark } from './mtls-rollup.js';
import { retentionCutoff } from './retention.js';
import type { Store } from './store.js';

/** One aggregate of inbound requests. */
export interface InboundAggregate {
  namespace: string | null;
  workload: string | null;
  service: string | null;
  port: number | null;
  local_address: string | null;
  reporter: string;
  mtls: number | null;
  evidence: string | null;
  tls_version: string | null;
  requests: number;
  first: number;
  last: number;
}

/** Plaintext requests by caller at a destination: the caller's principal, else its host. */
export interface PlaintextCaller {
  namespace: string | null;
  workload: string | null;
  service: string | null;
  port: number | null;
  local_address: string | null;
  reporter: string;
  principal: string | null;
  host: string | null;
  requests: number;
}

/** Everything the report is computed from. */
export interface MtlsReportData {
  /** In destination-key order (as a GROUP BY on the string ids returns them). */
  inbound: InboundAggregate[];
  callers: PlaintextCaller[];
  /** Destination services that outbound (client-side) lines name. */
  outbound: { service: string; port: number | null; requests: number }[];
  /** The window actually counted: the requested one, or wider where an edge was rounded to the hour. */
  counted: { from: number; to: number };
  /** Data older than this (epoch ms) may have been deleted by retention; null when the counted window is whole. */
  deletedBefore: number | null;
  /** Which retention setting deleted it. */
  deletedBy: 'retention.flows_days' | 'retention.rollups_days' | null;
}

const H = MTLS_ROLLUP_BUCKET_MS;
const floorHour = (t: number) => t - (((t % H) + H) % H);
const ceilHour = (t: number) => { const f = floorHour(t); return f === t ? t : f + H; };

/** The host of an `ip:port` address ("[v6]:port" too); the address itself when it has no port. */
export function hostOf(address: string | null): string | null {
  if (!address) return null;
  const m = /^\[?([^\]]+?)\]?:\d+$/.exec(address);
  return m ? m[1]! : address;
}

// ---- rows by string id, as both sources return them ----------------------------------------

type Id = number | null;
interface InboundRow { ns: Id; wl: Id; svc: Id; port: number | null; local: string | null; reporter: number; mtls: number | null; evidence: Id; tls: Id; requests: number; first: number; last: number }
interface CallerRow { ns: Id; wl: Id; svc: Id; port: number | null; local: string | null; reporter: number; principal: Id; host: string | null; requests: number }
interface OutboundRow { svc: number; port: number | null; requests: number }

const DEST = 'ns, wl, svc, port, local, reporter';

/** Raw flows in [from, to) with id above `afterId` (0: all). */
function flowRows(store: Store, from: number, to: number, afterId: number) {
  // With an id bound the rowid range is small (flows not yet rolled up): keep SQLite off the ts index.
  const where = afterId > 0 ? 'f.id > ? AND +f.ts >= ? AND +f.ts < ?' : 'f.ts >= ? AND f.ts < ?';
  const args = afterId > 0 ? [afterId, from, to] : [from, to];
  const inbound = store.db.prepare(`
    SELECT f.destination_namespace_id AS ns, f.destination_workload_id AS wl, f.destination_service_id AS svc,
           f.destination_port AS port, f.downstream_local_address AS local, f.reporter_id AS reporter, f.mtls AS mtls,
           f.mtls_evidence_id AS evidence, f.tls_version_id AS tls, count(*) AS requests, min(f.ts) AS first, max(f.ts) AS last
    FROM flows f WHERE ${where} AND f.direction = 1
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9`).all(...args) as InboundRow[];
  const callers = (store.db.prepare(`
    SELECT f.destination_namespace_id AS ns, f.destination_workload_id AS wl, f.destination_service_id AS svc,
           f.destination_port AS port, f.downstream_local_address AS local, f.reporter_id AS reporter,
           f.source_principal_id AS principal, f.downstream_remote_address AS remote, count(*) AS requests
    FROM flows f WHERE ${where} AND f.direction = 1 AND f.mtls = 0
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`).all(...args) as (Omit<CallerRow, 'host'> & { remote: string | null })[])
    .map(({ remote, ...c }) => ({ ...c, host: c.principal === null ? hostOf(remote) : null }));
  const outbound = store.db.prepare(`
    SELECT f.destination_service_id AS svc, f.destination_port AS port, count(*) AS requests
    FROM flows f WHERE ${where} AND f.direction = 2 AND f.destination_service_id IS NOT NULL
    GROUP BY 1, 2`).all(...args) as OutboundRow[];
  return { inbound, callers, outbound };
}

/** Rollup buckets in [from, to) (hour-aligned); sentinels turned back into NULL. */
function rollupRows(store: Store, from: number, to: number) {
  const inbound = store.db.prepare(`
    SELECT nullif(destination_namespace_id, 0) AS ns, nullif(destination_workload_id, 0) AS wl,
           nullif(destination_service_id, 0) AS svc, nullif(destination_port, -1) AS port, nullif(local_address, '') AS local,
           reporter_id AS reporter, nullif(mtls, -1) AS mtls, nullif(evidence_id, 0) AS evidence, nullif(tls_version_id, 0) AS tls,
           sum(requests) AS requests, min(first_seen) AS first, max(last_seen) AS last
    FROM ${MTLS_ROLLUP_TABLE} WHERE bucket >= ? AND bucket < ?
    GROUP BY destination_namespace_id, destination_workload_id, destination_service_id, destination_port, local_address,
             reporter_id, mtls, evidence_id, tls_version_id`).all(from, to) as InboundRow[];
  const callers = store.db.prepare(`
    SELECT nullif(destination_namespace_id, 0) AS ns, nullif(destination_workload_id, 0) AS wl,
           nullif(destination_service_id, 0) AS svc, nullif(destination_port, -1) AS port, nullif(local_address, '') AS local,
           reporter_id AS reporter, nullif(caller_principal_id, 0) AS principal, nullif(caller_host, '') AS host, sum(requests) AS requests
    FROM ${MTLS_ROLLUP_TABLE} WHERE bucket >= ? AND bucket < ? AND mtls = 0
    GROUP BY destination_namespace_id, destination_workload_id, destination_service_id, destination_port, local_address,
             reporter_id, caller_principal_id, caller_host`).all(from, to) as CallerRow[];
  const outbound = store.db.prepare(`
    SELECT destination_service_id AS svc, nullif(destination_port, -1) AS port, sum(requests) AS requests
    FROM edge_rollup_hour WHERE bucket >= ? AND bucket < ? AND direction = 2 AND destination_service_id <> 0
    GROUP BY destination_service_id, destination_port`).all(from, to) as OutboundRow[];
  return { inbound, callers, outbound };
}

// ---- merging parts, in one order whatever the source ----------------------------------------

/** SQLite's order: NULL first, then numbers, then text (BINARY; the values compared are ASCII). */
function compareKeys(a: readonly (string | number | null)[], b: readonly (string | number | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Sums rows with the same key; returns them in key order. */
function merge<R extends { requests: number }>(rows: R[], key: (r: R) => (string | number | null)[], combine: (into: R, r: R) => void = () => {}): R[] {
  const byKey = new Map<string, { k: (string | number | null)[]; r: R }>();
  for (const r of rows) {
    const k = key(r);
    const s = JSON.stringify(k);
    const e = byKey.get(s);
    if (!e) byKey.set(s, { k, r: { ...r } });
    else { e.r.requests += r.requests; combine(e.r, r); }
  }
  return [...byKey.values()].sort((a, b) => compareKeys(a.k, b.k)).map((e) => e.r);
}

type Parts = ReturnType<typeof flowRows>;

function assemble(store: Store, parts: Parts[], counted: MtlsReportData['counted'], deletedBefore: number | null, deletedBy: MtlsReportData['deletedBy']): MtlsReportData {
  const s = (id: Id) => (id === null ? null : store.strings.value(id));
  const dest = (r: InboundRow | CallerRow) => [r.ns, r.wl, r.svc, r.port, r.local, r.reporter];
  const inbound = merge(parts.flatMap((p) => p.inbound), (r) => [...dest(r), r.mtls, r.evidence, r.tls],
    (into, r) => { into.first = Math.min(into.first, r.first); into.last = Math.max(into.last, r.last); });
  const callers = merge(parts.flatMap((p) => p.callers), (r) => [...dest(r), r.principal, r.host]);
  const outbound = merge(parts.flatMap((p) => p.outbound), (r) => [r.svc, r.port]);
  return {
    inbound: inbound.map((r) => ({
      namespace: s(r.ns), workload: s(r.wl), service: s(r.svc), port: r.port, local_address: r.local, reporter: store.strings.value(r.reporter),
      mtls: r.mtls, evidence: s(r.evidence), tls_version: s(r.tls), requests: r.requests, first: r.first, last: r.last,
    })),
    callers: callers.map((r) => ({
      namespace: s(r.ns), workload: s(r.wl), service: s(r.svc), port: r.port, local_address: r.local, reporter: store.strings.value(r.reporter),
      principal: s(r.principal), host: r.host, requests: r.requests,
    })),
    outbound: outbound.map((r) => ({ service: store.strings.value(r.svc), port: r.port, requests: r.requests })),
    counted,
    deletedBefore,
    deletedBy,
  };
}

/** One read transaction: every statement sees the same snapshot, even while another process writes. */
const snapshot = <T>(store: Store, read: () => T): T => (store.db.inTransaction ? read() : store.db.transaction(read)());

/**
 * The report's data for [from, to): whole hours from the rollups, edges off the hour from raw
 * flows while retained (else widened to the hour), and flows not yet rolled up from the flows.
 */
export function mtlsReportData(store: Store, from: number, to: number): MtlsReportData {
  return snapshot(store, () => {
    const flowsCut = retentionCutoff(store.db, 'flows');
    const retained = (t: number) => flowsCut === null || flowsCut <= t;
    const raw: [number, number][] = [];
    let hours: [number, number] | null = null;
    const lo = ceilHour(from);
    const hi = floorHour(to);
    if (from >= to) raw.push([from, to]);
    else if (lo >= hi) {
      // No whole hour inside the window.
      if (retained(from)) raw.push([from, to]);
      else hours = [floorHour(from), ceilHour(to)];
    } else {
      hours = [lo, hi];
      if (from < lo) { if (retained(from)) raw.push([from, lo]); else hours[0] = lo - H; }
      if (to > hi) { if (retained(hi)) raw.push([hi, to]); else hours[1] = hi + H; }
    }
    const parts = raw.map(([a, b]) => flowRows(store, a, b, 0));
    let deletedBefore: number | null = null;
    if (hours) {
      const [a, b] = hours;
      parts.push(rollupRows(store, a, b));
      // Flows above a rollup's watermark are not in it yet: count them from the flows.
      const mtlsMark = rollupWatermark(store.db, MTLS_ROLLUP_TABLE);
      const edgeMark = rollupWatermark(store.db, 'flows');
      const lagInbound = flowRows(store, a, b, mtlsMark);
      const lagOutbound = edgeMark === mtlsMark ? lagInbound : flowRows(store, a, b, edgeMark);
      parts.push({ inbound: lagInbound.inbound, callers: lagInbound.callers, outbound: lagOutbound.outbound });
      // A rollup bucket that started before a retention cutoff is deleted whole; the mTLS
      // rollup's cutoff also covers flows deleted before an upgrade created it (migration 0006).
      const cuts = [retentionCutoff(store.db, MTLS_ROLLUP_TABLE), retentionCutoff(store.db, 'edge_rollup_hour')]
        .filter((c): c is number => c !== null).map(ceilHour);
      const cut = cuts.length ? Math.max(...cuts) : null;
      if (cut !== null && a < cut) deletedBefore = Math.min(cut, b);
    }
    const counted = { from: Math.min(from, hours?.[0] ?? from), to: Math.max(to, hours?.[1] ?? to) };
    return assemble(store, parts, counted, deletedBefore, deletedBefore === null ? null : 'retention.rollups_days');
  });
}

/** The same data from raw flows only (the reference the rollup is tested against). */
export function mtlsReportDataFromFlows(store: Store, from: number, to: number): MtlsReportData {
  return snapshot(store, () => {
    const cut = retentionCutoff(store.db, 'flows');
    const deletedBefore = cut !== null && from < cut ? Math.min(cut, to) : null;
    return assemble(store, [flowRows(store, from, to, 0)], { from, to }, deletedBefore, deletedBefore === null ? null : 'retention.flows_days');
  });
}
