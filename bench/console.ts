/**
 * The console on a large mesh: is the identity graph usable on ~100k edge-hours?
 *
 * The database is filled through the store's real write path (`Store.writeBatch` with the rollup
 * hook registered, as the service runs; no log parsing): `edges` distinct (source principal,
 * destination service, port) edges, each called in every one of `hours` hours by one to three
 * outbound flows, so the hourly rollup holds edges x hours rows. The flows are a pure function
 * of (edge, hour), so a test can recompute any edge's counts without trusting the page or the API.
 *
 * Measured over HTTP (`createApp`, console included, on an ephemeral 127.0.0.1 port):
 * - the calls the Graph view makes for a 24 h and a 7-day range (its edges pages and the
 *   principals list), whole HTTP time and payload bytes, median of a few runs;
 * - the Graph view in headless Chromium: from navigation start to the graph drawn and painted
 *   (the view's `meshtrail:graph-drawn` mark, then the next frame), median of a few loads.
 * Without /usr/bin/chromium or playwright-core the render rows say why (n/a).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { emptyFlow, type Flow } from '../schemas/flow.js';
import { createApp } from '../src/api/app.js';
import { openDatabase } from '../src/store/db.js';
import { registerRollups } from '../src/store/rollups.js';
import { Store, type BatchRecord } from '../src/store/store.js';

const HOUR = 3_600_000;

/** The shape of the generated mesh. */
export interface EdgeHoursSpec {
  /** Distinct edges, five per calling principal (any count works). */
  edges: number;
  /** Hours of traffic, every edge active in each, ending at `end`. */
  hours: number;
  /** End of the last hour, epoch ms (a whole hour). */
  end: number;
  namespaces: number;
}

/** ~100k edge-hours: 1,500 edges x 72 hours. */
export const LARGE_MESH: EdgeHoursSpec = { edges: 1_500, hours: 72, end: Date.parse('2026-03-01T00:00:00Z'), namespaces: 20 };

/** One generated edge. */
export interface MeshEdge {
  source_principal: string;
  source_namespace: string;
  destination_service: string;
  destination_namespace: string;
  destination_port: number;
}

const PORTS = [8080, 9090, 5432, 443, 15010] as const;
const EDGES_PER_PRINCIPAL = 5;
/** Services per namespace. */
const SERVICES_PER_NS = 10;

/** The `i`th edge: principals call five services each, in other namespaces mostly. */
export function meshEdge(spec: EdgeHoursSpec, i: number): MeshEdge {
  const p = Math.floor(i / EDGES_PER_PRINCIPAL);
  const k = i % EDGES_PER_PRINCIPAL;
  const srcNs = p % spec.namespaces;
  const services = spec.namespaces * SERVICES_PER_NS;
  // Offsets 0, 37, 74, ... are distinct modulo `services` (>= 200 > 4 * 37), so a principal's edges are distinct.
  const s = (p * 7 + k * 37) % services;
  const dstNs = s % spec.namespaces;
  return {
    source_principal: `spiffe://cluster.local/ns/team-${srcNs}/sa/caller-${p}`,
    source_namespace: `team-${srcNs}`,
    destination_service: `svc-${s}.team-${dstNs}.svc.cluster.local`,
    destination_namespace: `team-${dstNs}`,
    destination_port: PORTS[k]!,
  };
}

/** The mTLS verdict of every flow of edge `i`: most verified, some plaintext, some unproven. */
export const edgeMtls = (i: number): boolean | null => (i % 17 === 0 ? false : i % 11 === 0 ? null : true);

/** Flows of edge `i` in hour `h` (1 to 3), and how many of them are errors (503). */
export function edgeHour(i: number, h: number): { flows: number; errors: number } {
  const x = Math.imul(i + 1, 2654435761) ^ Math.imul(h + 1, 40503);
  const flows = 1 + ((x >>> 3) % 3);
  return { flows, errors: (x >>> 7) % 13 === 0 ? 1 : 0 };
}

/** Expected counts of edge `i` over hours [h0, h1) (hour 0 is the first). */
export function expectedEdge(spec: EdgeHoursSpec, i: number, h0 = 0, h1 = spec.hours): { requests: number; errors: number; mtls: number; plaintext: number; unknown: number } {
  let requests = 0;
  let errors = 0;
  for (let h = Math.max(0, h0); h < Math.min(spec.hours, h1); h++) {
    const c = edgeHour(i, h);
    requests += c.flows;
    errors += c.errors;
  }
  const m = edgeMtls(i);
  return { requests, errors, mtls: m === true ? requests : 0, plaintext: m === false ? requests : 0, unknown: m === null ? requests : 0 };
}

/** Start of hour `h` of the mesh, epoch ms. */
export const hourStart = (spec: EdgeHoursSpec, h: number): number => spec.end - (spec.hours - h) * HOUR;

function flowOf(spec: EdgeHoursSpec, e: MeshEdge, i: number, h: number, j: number, error: boolean): Flow {
  const f = emptyFlow('istio-json');
  // Spread over the hour, deterministic, never past its end.
  const ts = hourStart(spec, h) + ((i * 7919 + j * 600_000) % (HOUR - 1000));
  f.start_time = new Date(ts).toISOString();
  f.method = 'GET';
  f.path = '/api';
  f.response_code = error ? 503 : 200;
  f.bytes_received = 100;
  f.bytes_sent = 1000;
  f.duration = 3;
  f.request_id = `e${i}-h${h}-${j}`;
  f.direction = 'outbound';
  f.destination_service = e.destination_service;
  f.destination_port = e.destination_port;
  f.reporter = { kind: 'sidecar', pod: `caller-${Math.floor(i / EDGES_PER_PRINCIPAL)}-0`, namespace: e.source_namespace, container: 'istio-proxy', labels: null };
  f.source_principal = e.source_principal;
  f.source_namespace = e.source_namespace;
  f.destination_namespace = e.destination_namespace;
  const m = edgeMtls(i);
  f.mtls = m;
  f.mtls_evidence = m === null ? 'no tls fields' : 'upstream_peer_uri_san';
  f.tls_version = m ? 'TLSv1.3' : null;
  return f;
}

/** Writes the mesh into a new database at `file` (rollups on); returns the flows and rollup rows. */
export function buildEdgeHoursDb(file: string, spec: EdgeHoursSpec): { flows: number; hourRows: number; minuteRows: number; seconds: number } {
  const started = performance.now();
  for (const s of ['', '-wal', '-shm']) fs.rmSync(file + s, { force: true });
  const db = openDatabase(file);
  try {
    const store = new Store(db);
    registerRollups(store);
    const edges = Array.from({ length: spec.edges }, (_, i) => meshEdge(spec, i));
    const source = 'bench:edge-hours';
    let pos = 0;
    let flows = 0;
    // One hour per batch: a few thousand flows, as an ingest batch would be.
    for (let h = 0; h < spec.hours; h++) {
      const records: BatchRecord[] = [];
      for (let i = 0; i < spec.edges; i++) {
        const c = edgeHour(i, h);
        for (let j = 0; j < c.flows; j++) {
          const flow = flowOf(spec, edges[i]!, i, h, j, j < c.errors);
          records.push({ position: { source, pos, line: pos + 1 }, raw: '', outcome: { ok: true, flow } });
          pos++;
        }
      }
      flows += store.writeBatch(records, [{ source, position: pos }]).flows;
    }
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { flows, hourRows: count('edge_rollup_hour'), minuteRows: count('edge_rollup_minute'), seconds: (performance.now() - started) / 1000 };
  } finally {
    db.close();
  }
}

/** The calls the Graph view makes for a range: all edges pages (1,000 per page) and the principals list. */
export async function graphApiCalls(base: string, from: string, to: string): Promise<{ ms: number; bytes: number; requests: number; edges: number; pages: string[] }> {
  const started = performance.now();
  let bytes = 0;
  let requests = 0;
  let edges = 0;
  const pages: string[] = [];
  const get = async (p: string): Promise<string> => {
    const res = await fetch(base + p);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${body.slice(0, 300)}`);
    bytes += Buffer.byteLength(body);
    requests++;
    return body;
  };
  const principals = get('/api/v1/principals?limit=1000');
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const q = new URLSearchParams({ from, to, limit: '1000', ...(cursor ? { cursor } : {}) });
    const p = `/api/v1/edges?${q.toString()}`;
    pages.push(p);
    const body = JSON.parse(await get(p)) as { items: unknown[]; next_cursor: string | null };
    edges += body.items.length;
    cursor = body.next_cursor;
    if (cursor === null) break;
  }
  await principals;
  return { ms: performance.now() - started, bytes, requests, edges, pages };
}

/** One rendered Graph view in the browser. */
export interface RenderTiming { ms: number; drawnMs: number | null; edgesDrawn: number; nodes: number; status: string }

/** Loads `url` (a `#/graph?...` page) in a fresh tab; times navigation start to the graph drawn and painted. */
export async function renderGraph(browser: import('playwright-core').Browser, url: string): Promise<RenderTiming> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('main[data-ready="graph"]', { timeout: 120_000 });
    // Style, layout and paint of the new SVG happen after the script returns: wait for the next frame.
    const ms = await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0))));
    return await page.evaluate((total) => {
      const mark = performance.getEntriesByName('meshtrail:graph-drawn')[0];
      return {
        ms: total,
        drawnMs: mark ? mark.startTime : null,
        edgesDrawn: document.querySelectorAll('svg.graph path.edge').length,
        nodes: document.querySelectorAll('svg.graph [data-node]').length,
        status: document.getElementById('status')?.textContent ?? '',
      };
    }, ms);
  } finally {
    await context.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;

/** What the bench reports. */
export interface ConsoleBenchResult {
  spec: EdgeHoursSpec;
  build: { flows: number; hourRows: number; minuteRows: number; seconds: number };
  ranges: {
    name: string;
    from: string;
    to: string;
    api: { ms: number; bytes: number; requests: number; edges: number };
    render: { ok: true; ms: number; drawnMs: number | null; edgesDrawn: number; nodes: number; status: string } | { ok: false; why: string };
  }[];
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

/** The ranges the bench measures: the last 24 h of the mesh and the 7 days ending with it. */
export function benchRanges(spec: EdgeHoursSpec): { name: string; from: string; to: string }[] {
  return [
    { name: '24h', from: iso(spec.end - 24 * HOUR), to: iso(spec.end) },
    { name: '7d', from: iso(spec.end - 7 * 24 * HOUR), to: iso(spec.end) },
  ];
}

async function launchChromium(): Promise<{ browser: import('playwright-core').Browser } | { why: string }> {
  const CHROMIUM = '/usr/bin/chromium';
  if (!fs.existsSync(CHROMIUM)) return { why: `n/a (no ${CHROMIUM}; apt-get install chromium)` };
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch {
    return { why: 'n/a (playwright-core is not installed)' };
  }
  const browser = await pw.chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { browser };
}

/**
 * Builds (or reuses) the mesh database at `dbFile` and measures the Graph view's API calls and
 * render over it. `runs` repetitions per figure; the median is reported.
 */
export async function consoleBench(dbFile: string, spec: EdgeHoursSpec, runs = 3): Promise<ConsoleBenchResult> {
  const metaFile = `${dbFile}.json`;
  let build: ConsoleBenchResult['build'];
  if (fs.existsSync(dbFile) && fs.existsSync(metaFile)) build = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as ConsoleBenchResult['build'];
  else {
    build = buildEdgeHoursDb(dbFile, spec);
    fs.writeFileSync(metaFile, JSON.stringify(build, null, 2));
  }
  const db = openDatabase(dbFile);
  const server = http.createServer(createApp({ store: new Store(db), logError: (err) => process.stderr.write(`console bench: ${String(err)}\n`) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const chromium = await launchChromium();
  try {
    const ranges: ConsoleBenchResult['ranges'] = [];
    for (const r of benchRanges(spec)) {
      await graphApiCalls(base, r.from, r.to); // warm-up: statement cache, page cache
      const api = [];
      for (let i = 0; i < runs; i++) api.push(await graphApiCalls(base, r.from, r.to));
      const a = api[0]!;
      let render: ConsoleBenchResult['ranges'][number]['render'];
      if ('why' in chromium) render = { ok: false, why: chromium.why };
      else {
        const url = `${base}/#/graph?from=${r.from}&to=${r.to}`;
        await renderGraph(chromium.browser, url); // warm-up: module compile cache
        const times: RenderTiming[] = [];
        for (let i = 0; i < runs; i++) times.push(await renderGraph(chromium.browser, url));
        const mid = times.find((t) => t.ms === median(times.map((x) => x.ms)))!;
        render = { ok: true, ...mid };
      }
      ranges.push({ ...r, api: { ms: median(api.map((x) => x.ms)), bytes: a.bytes, requests: a.requests, edges: a.edges }, render });
    }
    return { spec, build, ranges };
  } finally {
    if (!('why' in chromium)) await chromium.browser.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    db.close();
  }
}

type Figure = import('./report.js').Figure;

/**
 * The bench's rows (bench/run.ts, `--skip console`): the mesh is LARGE_MESH (108,000 edge-hours),
 * or 200 edges x 24 hours with --quick; its database is cached in `cacheDir` per schema.
 */
export async function consoleFigures(mode: 'quick' | 'default' | 'large', cacheDir: string, schemaHash: string): Promise<Record<string, Figure>> {
  const spec: EdgeHoursSpec = mode === 'quick' ? { ...LARGE_MESH, edges: 200, hours: 24 } : LARGE_MESH;
  const r = await consoleBench(`${cacheDir}/console-mesh-${spec.edges}x${spec.hours}-v1-${schemaHash}.db`, spec, mode === 'quick' ? 1 : 3);
  const size = `${spec.edges.toLocaleString('en-US')} edges x ${spec.hours} h`;
  const out: Record<string, Figure> = {};
  for (const x of r.ranges) {
    out[`console.api.${x.name}`] = {
      label: `console graph API calls, ${x.name} (${size})`, value: x.api.ms, unit: 'ms',
      note: `${x.api.requests} requests (edges pages + principals), ${x.api.edges} edges, median of runs; built from ${r.build.flows.toLocaleString('en-US')} flows`,
    };
    out[`console.payload.${x.name}`] = { label: `console graph API payload, ${x.name}`, value: x.api.bytes / 1000, unit: 'kB', note: `${(x.api.bytes / x.api.edges).toFixed(0)} B per edge` };
    out[`console.render.${x.name}`] = x.render.ok
      ? {
        label: `console graph render, ${x.name} (navigation to painted)`, value: x.render.ms, unit: 'ms',
        note: `${x.render.edgesDrawn} edges / ${x.render.nodes} nodes drawn; in the DOM at ${x.render.drawnMs?.toFixed(0) ?? '?'} ms; "${x.render.status}"`,
      }
      : { label: `console graph render, ${x.name}`, value: null, unit: 'ms', note: x.render.why };
  }
  return out;
}
