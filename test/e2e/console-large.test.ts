/**
 * The console's identity graph on a large mesh (headless Chromium via playwright-core against a
 * real API over HTTP): 1,500 edges x 72 hours = 108,000 edge-hours, written through the store with
 * the rollup hook by bench/console.ts (the same database the `console` bench case measures).
 * Expected values come from that generator (a pure function of edge and hour) and are checked
 * against the API too; never from the page. No timing is asserted: the bench reports speed.
 *
 * Browser policy (as in console.test.ts): without /usr/bin/chromium the file FAILS under CI=true
 * and is skipped with a loud banner otherwise.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { buildConsole, CHROMIUM, requireChromium } from '../support/console-browser.js';
import { benchRanges, buildEdgeHoursDb, edgeMtls, expectedEdge, LARGE_MESH, meshEdge } from '../../bench/console.js';
import { consoleRouter } from '../../src/api/console.routes.js';
import { createApp } from '../../src/api/app.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'test/e2e/screenshots');
const spec = LARGE_MESH;

if (requireChromium(t)) await main();

type Counts = ReturnType<typeof expectedEdge>;
const keyOf = (e: { source_principal: string | null; destination_service: string | null; destination_port: number | null }) =>
  JSON.stringify([e.source_principal, e.destination_service, e.destination_port]);

async function main(): Promise<void> {
  const dir = t.testdir({});
  const build = path.join(dir, 'build');
  const scriptsDir = buildConsole(t, ROOT, build);

  const file = path.join(dir, 'mesh.db');
  const built = buildEdgeHoursDb(file, spec);
  t.equal(built.hourRows, spec.edges * spec.hours, `${spec.edges} edges x ${spec.hours} hours in the hourly rollup`);
  t.comment(`mesh: ${built.flows} flows, ${built.hourRows} hourly and ${built.minuteRows} minute rollup rows, built in ${built.seconds.toFixed(1)} s`);

  const db = openDatabase(file);
  const api = createApp({ store: new Store(db), logError: (err) => t.error(err) });
  const server = http.createServer(express().disable('x-powered-by').use(consoleRouter({ scriptsDir })).use(api));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    server.close();
    db.close();
  });
  fs.mkdirSync(SHOTS, { recursive: true });

  /** Every edge of a range from the API, by key. */
  const apiEdges = async (from: string, to: string, extra = ''): Promise<Map<string, Counts>> => {
    const out = new Map<string, Counts>();
    let cursor: string | null = null;
    do {
      const res = await fetch(`${base}/api/v1/edges?from=${from}&to=${to}&limit=1000${extra}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const body = (await res.json()) as { items: (Counts & Parameters<typeof keyOf>[0])[]; next_cursor: string | null };
      for (const e of body.items) out.set(keyOf(e), { requests: e.requests, errors: e.errors, mtls: e.mtls, plaintext: e.plaintext, unknown: e.unknown });
      cursor = body.next_cursor;
    } while (cursor);
    return out;
  };

  /** A fresh tab on the graph of `hash`, with page errors recorded. */
  const open = async (hash: string): Promise<{ page: Page; problems: string[] }> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    // Failed loads are judged by the response listener (the browser's own favicon probe 404s).
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} ${r.url()}`); });
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('main[data-ready="graph"]', { timeout: 120_000 });
    return { page, problems };
  };
  const drawnKeys = (page: Page) => page.$$eval('svg.graph path.edge', (ps) => ps.map((p) => p.getAttribute('data-key') ?? ''));

  /** Opens an edge's details with the keyboard and reads its counts off the panel. */
  const panelCounts = async (page: Page, key: string): Promise<string> => {
    await page.focus(`svg.graph path.edge[data-key='${key}']`);
    await page.keyboard.press('Enter');
    // The panel of this edge, not one opened before it.
    await page.waitForFunction((k) => {
      const [caller, service, port] = JSON.parse(k) as [string, string, number];
      const text = document.querySelector('.edge-details:not([hidden])')?.textContent ?? '';
      return text.includes(`Caller${caller}`) && text.includes(`Service${service}`) && text.includes(`Port${port}`);
    }, key);
    return (await page.textContent('.edge-details')) ?? '';
  };
  const checkPanel = (tt: Test, text: string, c: Counts, what: string) => {
    tt.match(text, `Requests${c.requests}`, `${what}: requests`);
    tt.match(text, `Errors${c.errors}`, `${what}: errors`);
    tt.match(text, `mTLS verified${c.mtls}`, `${what}: mTLS`);
    tt.match(text, `Plaintext${c.plaintext}`, `${what}: plaintext`);
    tt.match(text, `Unknown${c.unknown}`, `${what}: unknown`);
  };

  const [day, week] = benchRanges(spec) as [ReturnType<typeof benchRanges>[number], ReturnType<typeof benchRanges>[number]];
  const all = Array.from({ length: spec.edges }, (_, i) => i);

  t.test('7 days: the busiest edges and every plaintext edge are drawn, the rest counted; a sampled edge has its counts', async (t) => {
    const api = await apiEdges(week.from, week.to);
    t.equal(api.size, spec.edges, 'the API has every edge');
    const { page, problems } = await open(`#/graph?from=${week.from}&to=${week.to}`);
    const drawn = await drawnKeys(page);
    const hidden = Number(await page.getAttribute('[data-role="edges-hidden"]', 'data-hidden'));
    t.ok(drawn.length > 0 && drawn.length < spec.edges, `a readable subset is drawn (${drawn.length})`);
    t.equal(drawn.length + hidden, spec.edges, 'drawn plus not shown is every edge');
    t.equal(new Set(drawn).size, drawn.length, 'no edge drawn twice');
    const note = (await page.textContent('[data-role="edges-hidden"]')) ?? '';
    t.match(note, `${drawn.length.toLocaleString('en-US')} of ${spec.edges.toLocaleString('en-US')} edges are drawn`);
    t.match(note, `${hidden.toLocaleString('en-US')} more edges`);
    const hiddenRequests = all.filter((i) => !drawn.includes(keyOf(meshEdge(spec, i)))).reduce((a, i) => a + expectedEdge(spec, i).requests, 0);
    t.match(note, `(${hiddenRequests.toLocaleString('en-US')} requests)`, 'the note counts the requests not shown');
    t.match(await page.textContent('#status'), `${spec.edges} edges; ${drawn.length} drawn, ${hidden} not shown`);

    const plaintext = all.filter((i) => edgeMtls(i) === false);
    t.same(plaintext.filter((i) => !drawn.includes(keyOf(meshEdge(spec, i)))), [], `all ${plaintext.length} plaintext edges are drawn`);
    // Busiest among the rest: no hidden non-plaintext edge is busier than a drawn one.
    const quietestDrawn = Math.min(...all.filter((i) => edgeMtls(i) !== false && drawn.includes(keyOf(meshEdge(spec, i)))).map((i) => expectedEdge(spec, i).requests));
    const busiestHidden = Math.max(...all.filter((i) => !drawn.includes(keyOf(meshEdge(spec, i)))).map((i) => expectedEdge(spec, i).requests));
    t.ok(busiestHidden <= quietestDrawn, `no hidden edge (max ${busiestHidden} requests) is busier than a drawn one (min ${quietestDrawn})`);
    t.equal(await page.$$eval('.view-graph tbody tr[data-key]', (r) => r.length), drawn.length, 'the table lists the drawn edges');

    // Sampled edges: a plaintext one (always drawn) and the busiest verified one.
    const sample = plaintext[3]!;
    const busiest = all.filter((i) => edgeMtls(i) === true).reduce((a, b) => (expectedEdge(spec, b).requests > expectedEdge(spec, a).requests ? b : a));
    for (const [i, what] of [[sample, `plaintext edge ${sample}`], [busiest, `busiest edge ${busiest}`]] as const) {
      const key = keyOf(meshEdge(spec, i));
      const want = expectedEdge(spec, i);
      t.same(api.get(key), want, `${what}: the API agrees with the generator`);
      t.ok(drawn.includes(key), `${what} is drawn`);
      t.equal(await page.getAttribute(`svg.graph path.edge[data-key='${key}']`, 'data-mtls'), want.plaintext > 0 ? 'plaintext' : 'verified');
      checkPanel(t, await panelCounts(page, key), want, what);
    }
    await page.screenshot({ path: path.join(SHOTS, 'graph-large.png') });
    t.same(problems, [], 'no page errors');
  });

  t.test('24 hours: counts cover only the last 24 hourly buckets', async (t) => {
    const { page, problems } = await open(`#/graph?from=${day.from}&to=${day.to}`);
    const drawn = await drawnKeys(page);
    const i = all.filter((x) => edgeMtls(x) === false)[5]!;
    const key = keyOf(meshEdge(spec, i));
    t.ok(drawn.includes(key), 'the sampled plaintext edge is drawn');
    const want = expectedEdge(spec, i, spec.hours - 24, spec.hours);
    t.not(want.requests, expectedEdge(spec, i).requests, 'the 24 h counts differ from the whole mesh (the range matters)');
    t.same((await apiEdges(day.from, day.to)).get(key), want, 'the API agrees with the generator');
    checkPanel(t, await panelCounts(page, key), want, `edge ${i} over 24 h`);
    t.same(problems, [], 'no page errors');
  });

  t.test('"draw all" draws every edge; a namespace narrows the graph to its edges, all drawn', async (t) => {
    const { page, problems } = await open(`#/graph?from=${week.from}&to=${week.to}`);
    await page.click('[data-role="draw-all"]');
    await page.waitForFunction((n) => document.querySelector('main[data-ready="graph"]') !== null && document.querySelectorAll('svg.graph path.edge').length === n, spec.edges, { timeout: 120_000 });
    t.equal((await drawnKeys(page)).length, spec.edges, 'every edge is drawn');
    t.equal(await page.$('[data-role="edges-hidden"]'), null, 'and nothing is said to be hidden');

    const ns = 'team-3';
    const inNs = all.filter((i) => { const e = meshEdge(spec, i); return e.source_namespace === ns || e.destination_namespace === ns; });
    await page.evaluate(() => document.getElementById('view')?.removeAttribute('data-ready'));
    // The namespace list loads in the background: wait for it, then pick.
    await page.waitForSelector(`#g-namespace option[value="${ns}"]`, { state: 'attached' });
    await page.selectOption('#g-namespace', ns);
    await page.click('form.filters button[type="submit"]');
    await page.waitForSelector('main[data-ready="graph"]', { timeout: 120_000 });
    const drawn = await drawnKeys(page);
    t.same(new Set(drawn), new Set(inNs.map((i) => keyOf(meshEdge(spec, i)))), `exactly the ${inNs.length} edges touching ${ns} are drawn`);
    t.equal(await page.$('[data-role="edges-hidden"]'), null, 'none hidden');
    const i = inNs[7]!;
    checkPanel(t, await panelCounts(page, keyOf(meshEdge(spec, i))), expectedEdge(spec, i), `edge ${i} in ${ns}`);
    t.same(problems, [], 'no page errors');
  });
}
