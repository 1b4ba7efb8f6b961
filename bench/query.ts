/**
 * Query latency over HTTP: `createApp` on an ephemeral 127.0.0.1 port over a database of N stored
 * flows, 100 varied queries per route (after 10 warm-up queries), p50 and p95 of the full
 * request (routing, validation, SQL, JSON). Routes that do not exist yet in this revision
 * (404 on the path itself) are reported as unavailable, not failed.
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { composeApi } from '../src/cli/compose-api.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { CORPUS_END } from './corpus.js';
import { prng } from '../src/sample/mesh-traffic.js';

/** Latency percentiles of one route, or why there are none. */
export type RouteLatency = { ok: true; p50: number; p95: number; max: number; queries: number; path: string; slowest: string } | { ok: false; why: string };

const DAY = 86_400_000;
const HOUR = 3_600_000;


const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/** The query strings of one route; `next` may turn a page's answer into a follow-up query. */
interface QueryPlan {
  path: string;
  queries: () => string[];
}

/** Runs `plan` against `base`; a 404 on the first query means the route does not exist. */
async function measure(base: string, plan: QueryPlan): Promise<RouteLatency> {
  const queries = plan.queries();
  const probe = await fetch(`${base}${plan.path}?${queries[0] ?? ''}`);
  await probe.arrayBuffer();
  if (probe.status === 404) return { ok: false, why: `n/a (no route ${plan.path} in this revision)` };
  const times: number[] = [];
  const byShape = new Map<string, number[]>();
  const failures: string[] = [];
  for (let i = 0; i < queries.length + 10; i++) {
    const q = queries[i % queries.length]!;
    const started = performance.now();
    const res = await fetch(`${base}${plan.path}?${q}`);
    const body = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 200) failures.push(`${res.status} for ?${q}: ${body.slice(0, 200)}`);
    // Follow the cursor once in a while: deep pages must cost the same as the first.
    if (res.status === 200 && i % 5 === 4) {
      const next = (JSON.parse(body) as { next_cursor?: string | null }).next_cursor;
      if (next) {
        const s2 = performance.now();
        const r2 = await fetch(`${base}${plan.path}?${q}&cursor=${encodeURIComponent(next)}`);
        await r2.arrayBuffer();
        if (i >= 10) times.push(performance.now() - s2);
      }
    }
    if (i >= 10) {
      times.push(ms);
      // The query's shape: its parameter names, plus the width of its window when it has one.
      const p = new URLSearchParams(q);
      const width = p.has('from') && p.has('to') ? `[${Math.round((Number(p.get('to')) - Number(p.get('from'))) / 60_000)}m]` : '';
      const shape = [...p.keys()].filter((k) => k !== 'from' && k !== 'to' && k !== 'limit').join('+') + width;
      byShape.set(shape || 'no filter', [...(byShape.get(shape || 'no filter') ?? []), ms]);
    }
  }
  if (failures.length) return { ok: false, why: `${failures.length} queries failed, e.g. ${failures[0]}` };
  const slowest = [...byShape.entries()].map(([shape, ts]) => ({ shape, max: Math.max(...ts) })).sort((a, b) => b.max - a.max).slice(0, 3);
  times.sort((a, b) => a - b);
  return {
    ok: true, p50: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1] ?? 0, queries: times.length, path: plan.path,
    slowest: slowest.map((x) => `${x.shape} ${x.max.toFixed(0)} ms`).join('; '),
  };
}

/** Query latencies of /flows, /edges, /findings and the mTLS report over the database `file`. */
export async function queryLatencies(file: string, count = 100): Promise<Record<'flows' | 'edges' | 'findings' | 'mtlsReport', RouteLatency> & { mtlsReportSql: number | null }> {
  const db = openDatabase(file);
  const store = new Store(db);
  // The API as `meshtrail serve` composes it (findings, reports, ...), with a throwaway report key.
  const server = composeApi({ store, databaseFile: file, signingKeyFile: path.join(os.tmpdir(), `meshtrail-bench-${process.pid}.report-key.pem`) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const span = db.prepare('SELECT min(ts) AS lo, max(ts) AS hi FROM flows').get() as { lo: number | null; hi: number | null };
    const lo = span.lo ?? CORPUS_END - 30 * DAY;
    const hi = span.hi ?? CORPUS_END;
    const requestIds = (db.prepare('SELECT request_id FROM flows WHERE request_id IS NOT NULL AND id % 997 = 0 LIMIT 200').pluck().all() as string[]);
    const rnd = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const at = (width: number) => { const from = lo + Math.floor(rnd() * Math.max(1, hi - lo - width)); return { from, to: from + width }; };
    const qs = (o: Record<string, string | number>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();

    const flows: QueryPlan = {
      path: '/api/v1/flows',
      queries: () => Array.from({ length: count }, (_, i) => {
        const w = at(pick([15 * 60_000, HOUR, DAY]));
        switch (i % 12) {
          case 0: return qs({ limit: 100 });
          case 1: return qs({ ...w, limit: 100 });
          case 2: return qs({ ...w, direction: pick(['inbound', 'outbound']) });
          case 3: return qs({ ...w, response_code: pick(['5xx', '503', '404']) });
          case 4: return qs({ destination_service: pick(['reviews.bookinfo.svc.cluster.local', 'ratings.bookinfo.svc.cluster.local', 'details.bookinfo.svc.cluster.local']), limit: 50 });
          case 5: return qs({ ...w, source_principal: pick(['spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage', 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews']) });
          case 6: return qs({ source_principal: pick(['ns/bookinfo', 'spiffe://cluster.local/ns/istio-system/*']), limit: 100 });
          case 7: return qs({ ...w, namespace: pick(['bookinfo', 'legacy', 'istio-system']) });
          case 8: return qs({ mtls: 'false', limit: 100 });
          case 9: return qs({ ...w, response_flag: pick(['UH', 'NR', 'UF']) });
          case 10: return requestIds.length ? qs({ request_id: pick(requestIds) }) : qs({ ...w });
          default: return qs({ ...w, mtls: pick(['true', 'unknown']), limit: 20 });
        }
      }),
    };
    const hourAligned = (t: number) => t - (t % HOUR);
    const edges: QueryPlan = {
      path: '/api/v1/edges',
      queries: () => Array.from({ length: count }, (_, i) => {
        const width = pick([15 * 60_000, HOUR, DAY, 7 * DAY, 30 * DAY]);
        let w = at(width);
        if (i % 2 === 0) w = { from: hourAligned(w.from), to: hourAligned(w.from) + Math.max(HOUR, hourAligned(width)) };
        if (i % 3 === 1) return qs({ ...w, namespace: pick(['bookinfo', 'legacy']) });
        if (i % 3 === 2) return qs({ ...w, direction: pick(['inbound', 'outbound']) });
        return qs(w);
      }),
    };
    const findings: QueryPlan = { path: '/api/v1/findings', queries: () => Array.from({ length: count }, () => qs({ limit: 100 })) };
    const month = { from: hourAligned(hi) + HOUR - 30 * DAY, to: hourAligned(hi) + HOUR };

    let mtlsReport: RouteLatency = { ok: false, why: 'n/a (no mTLS report route in this revision)' };
    for (const p of ['/api/v1/reports/mtls', '/api/v1/mtls/report', '/api/v1/reports/mtls-coverage', '/api/v1/mtls']) {
      const r = await measure(base, { path: p, queries: () => Array.from({ length: Math.max(10, Math.floor(count / 5)) }, () => qs(month)) });
      if (r.ok || !r.why.startsWith('n/a')) { mtlsReport = r; break; }
    }
    // Stand-in until the route exists: the 30-day per-edge mTLS aggregate straight from the hourly rollups.
    let mtlsReportSql: number | null = null;
    try {
      const stmt = db.prepare(`SELECT source_principal_id, destination_service_id, destination_port, sum(requests), sum(mtls), sum(plaintext)
        FROM edge_rollup_hour WHERE bucket >= ? AND bucket < ? GROUP BY 1, 2, 3`);
      stmt.all(month.from, month.to);
      const started = performance.now();
      for (let i = 0; i < 10; i++) stmt.all(month.from, month.to);
      mtlsReportSql = (performance.now() - started) / 10;
    } catch {
      mtlsReportSql = null;
    }
    return { flows: await measure(base, flows), edges: await measure(base, edges), findings: await measure(base, findings), mtlsReport, mtlsReportSql };
  } finally {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    db.close();
  }
}
