/**
 * The soak's query load: one client asking the API one question after another (a fixed rate at
 * most), rotating over /flows (varied filters, cursors followed), /edges, /findings,
 * /principals, /metrics and /healthz, and recording every status code and latency. Filter
 * values are learned from earlier answers (principals and services seen in /edges), so the
 * filters hit real rows as the database fills up. Query shapes follow bench/query.ts.
 */
import { CORPUS_END } from './corpus.js';
import { prng } from '../src/sample/mesh-traffic.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Figures of one route. */
export interface RouteSummary {
  requests: number;
  /** Status code (or `error` for a failed connection) -> count. */
  statuses: Record<string, number>;
  non2xx: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** The first few non-2xx answers, for diagnosis. */
  failures: string[];
}

interface RouteRecord { latencies: number[]; statuses: Map<string, number>; failures: string[] }

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;


const qs = (o: Record<string, string | number>): string => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();

/** Continuous queries against `base` (e.g. http://127.0.0.1:PORT) until {@link QueryLoad.stop}. */
export class QueryLoad {
  private readonly routes = new Map<string, RouteRecord>();
  private readonly rnd: () => number;
  private readonly principals = new Set<string>(['spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage']);
  private readonly services = new Set<string>(['reviews.bookinfo.svc.cluster.local', 'ratings.bookinfo.svc.cluster.local']);
  private readonly namespaces = new Set<string>(['bookinfo', 'legacy', 'istio-system']);
  private running = false;
  private loop: Promise<void> | null = null;
  private n = 0;

  constructor(private readonly base: string, private readonly intervalMs: number, seed = 11) {
    this.rnd = prng(seed);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the request in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Total requests and non-2xx answers so far. */
  totals(): { requests: number; non2xx: number } {
    let requests = 0;
    let non2xx = 0;
    for (const r of this.routes.values()) {
      for (const [s, c] of r.statuses) {
        requests += c;
        if (!/^2\d\d$/.test(s)) non2xx += c;
      }
    }
    return { requests, non2xx };
  }

  summary(): Record<string, RouteSummary> {
    const out: Record<string, RouteSummary> = {};
    for (const [route, r] of [...this.routes.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...r.latencies].sort((a, b) => a - b);
      const statuses = Object.fromEntries([...r.statuses.entries()].sort());
      const non2xx = Object.entries(statuses).filter(([s]) => !/^2\d\d$/.test(s)).reduce((n, [, c]) => n + c, 0);
      out[route] = {
        requests: sorted.length, statuses, non2xx, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? 0, failures: r.failures,
      };
    }
    return out;
  }

  private pick<T>(xs: Iterable<T>): T {
    const a = [...xs];
    return a[Math.floor(this.rnd() * a.length)]!;
  }

  /** A window of `width` inside the generated period (the corpus spans the 30 days before CORPUS_END). */
  private window(width: number, aligned = false): { from: number; to: number } {
    let from = CORPUS_END - 30 * DAY + Math.floor(this.rnd() * Math.max(1, 30 * DAY - width));
    if (aligned) from -= from % HOUR;
    return { from, to: from + width };
  }

  /** The next question: a route name and its path with query string. */
  private next(): { route: string; url: string } {
    const i = this.n++;
    const w = this.window(this.pick([15 * 60_000, HOUR, DAY, 7 * DAY]));
    switch (i % 10) {
      case 0: case 2: case 4: case 6: {
        const filters: Record<string, string | number>[] = [
          { limit: 100 },
          { ...w, direction: this.pick(['inbound', 'outbound']) },
          { ...w, response_code: this.pick(['5xx', '503', '200']) },
          { destination_service: this.pick(this.services), limit: 50 },
          { ...w, source_principal: this.pick(this.principals) },
          { source_principal: this.pick([...[...this.namespaces].map((n) => `ns/${n}`), 'spiffe://cluster.local/ns/istio-system/*']), limit: 100 },
          { ...w, namespace: this.pick(this.namespaces) },
          { mtls: this.pick(['true', 'false', 'unknown']), limit: 100 },
          { ...w, response_flag: this.pick(['UH', 'NR', 'UF']) },
          { ...w, limit: 1000 },
        ];
        return { route: 'flows', url: `/api/v1/flows?${qs(this.pick(filters))}` };
      }
      case 1: case 5: {
        const e = this.window(this.pick([HOUR, DAY, 7 * DAY, 30 * DAY]), this.rnd() < 0.5);
        const extra = this.pick<Record<string, string>>([{}, { namespace: this.pick(this.namespaces) }, { direction: this.pick(['inbound', 'outbound']) }]);
        return { route: 'edges', url: `/api/v1/edges?${qs({ ...e, ...extra })}` };
      }
      case 3: return { route: 'findings', url: `/api/v1/findings?${qs(this.pick<Record<string, string | number>>([{ limit: 100 }, { status: 'open' }, { severity: 'high' }, { detector: 'plaintext', limit: 20 }]))}` };
      case 7: return { route: 'principals', url: `/api/v1/principals?${qs(this.pick<Record<string, string>>([{}, { namespace: this.pick(this.namespaces) }, { role: this.pick(['source', 'destination']) }]))}` };
      case 8: return { route: 'metrics', url: '/metrics' };
      default: return { route: 'healthz', url: '/healthz' };
    }
  }

  private record(route: string, status: string, ms: number, detail: string): void {
    let r = this.routes.get(route);
    if (!r) this.routes.set(route, (r = { latencies: [], statuses: new Map(), failures: [] }));
    r.latencies.push(ms);
    r.statuses.set(status, (r.statuses.get(status) ?? 0) + 1);
    if (!/^2\d\d$/.test(status) && r.failures.length < 5) r.failures.push(`${status} ${detail.slice(0, 300)}`);
  }

  /** Remembers filter values from an answer so later filters match stored rows. */
  private learn(route: string, body: string): string | null {
    if (route !== 'edges' && route !== 'flows' && route !== 'principals') return null;
    const page = JSON.parse(body) as { items?: Record<string, unknown>[]; next_cursor?: string | null };
    for (const it of page.items?.slice(0, 50) ?? []) {
      if (typeof it.source_principal === 'string' && this.principals.size < 50) this.principals.add(it.source_principal);
      if (typeof it.destination_service === 'string' && this.services.size < 50) this.services.add(it.destination_service);
      if (typeof it.namespace === 'string' && /^[a-z0-9-]+$/.test(it.namespace) && this.namespaces.size < 20) this.namespaces.add(it.namespace);
    }
    return page.next_cursor ?? null;
  }

  private async ask(route: string, url: string): Promise<string | null> {
    const started = performance.now();
    try {
      const res = await fetch(`${this.base}${url}`);
      const body = await res.text();
      this.record(route, String(res.status), performance.now() - started, `${url} -> ${body}`);
      return res.ok ? this.learn(route, body) : null;
    } catch (err) {
      this.record(route, 'error', performance.now() - started, `${url} -> ${(err as Error).message}`);
      return null;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = performance.now();
      const { route, url } = this.next();
      const cursor = await this.ask(route, url);
      // Follow a cursor now and then: deep pages must answer as well as first ones.
      if (cursor && route === 'flows' && this.n % 3 === 0) await this.ask('flows', `${url}&cursor=${encodeURIComponent(cursor)}`);
      const wait = this.intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}
