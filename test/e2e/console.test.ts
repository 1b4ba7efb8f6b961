/**
 * The investigation console in a real browser (headless Chromium via playwright-core) against
 * a real meshtrail API (composeApi over a SQLite file) holding a generated mesh with known
 * incidents: the detector scenario (findings) plus the Bookinfo traffic, whose billing workload
 * (10.44.2.20, no sidecar) calls ratings in plaintext. Expected values come from the API and
 * the generators, never from the page.
 *
 * The console scripts are compiled from src/console into the test directory first, so the test
 * exercises the current source (and fails on a console type error) without touching dist/.
 * Screenshots of every view go to test/e2e/screenshots/.
 *
 * Browser policy (as for Kafka): without /usr/bin/chromium the file FAILS under CI=true and is
 * skipped with a loud banner otherwise.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import t from 'tap';
import { buildConsole, CHROMIUM, requireChromium } from '../support/console-browser.js';
import { hashToken } from '../../src/api/auth.js';
import { CONSOLE_CSP, consoleRouter } from '../../src/api/console.routes.js';
import { createApp } from '../../src/api/app.js';
import { composeApi } from '../../src/cli/compose-api.js';
import { registerDetectors } from '../../src/detect/registry.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { generateScenario } from '../../src/sample/scenario.js';
import { openDatabase } from '../../src/store/db.js';
import { registerRollups } from '../../src/store/rollups.js';
import { Store } from '../../src/store/store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'test/e2e/screenshots');

if (requireChromium(t)) await main();

async function main(): Promise<void> {
  const dir = t.testdir({});

  // --- the console, compiled from the current source ------------------------------------------
  const build = path.join(dir, 'build');
  const scriptsDir = buildConsole(t, ROOT, build);

  // --- a mesh with known incidents --------------------------------------------------------------
  const scenario = generateScenario();
  const MESH_END = Date.parse('2026-03-01T12:00:00Z');
  const FROM = '2026-03-01T11:00:00Z';
  const TO = '2026-03-01T13:00:00Z';
  const mesh = generateMeshTraffic({ requests: 160, seed: 11, end: MESH_END, malformed: false });
  // One hostile line: markup in the path and request id must stay text in the page.
  const hostileRid = 'rid-<b>bold</b>-"quote"';
  const hostile = JSON.stringify({
    ...JSON.parse(scenario.lines.find((l) => l.startsWith('{"start_time"'))!),
    start_time: '2026-03-01T11:30:00.000Z', path: '/<img src=x onerror="window.__xss=1">', request_id: hostileRid,
  });
  fs.mkdirSync(path.join(dir, 'policies'));
  for (const [name, text] of Object.entries(scenario.policyFiles)) fs.writeFileSync(path.join(dir, 'policies', name), text);
  const databaseFile = path.join(dir, 'console.db');
  const db = openDatabase(databaseFile);
  const store = new Store(db);
  registerRollups(store);
  registerDetectors(store, { config: { ...scenario.config, policies_dir: path.join(dir, 'policies') } });
  for (const [label, lines] of [['scenario', scenario.lines], ['mesh', [...mesh, hostile]]] as const) {
    const stats = await ingestStream(store, Readable.from([`${lines.join('\n')}\n`]), { format: 'auto', label, batchSize: 500 });
    t.equal(stats.quarantined, 0, `${label}: every line parses`);
  }

  // --- servers: open; with tokens; an app without the findings routes ------------------------------
  const READ = 'read-token-0123456789';
  const ADMIN = 'admin-token-9876543210';
  const auth = { tokens: [{ name: 'reader', sha256: hashToken(READ), role: 'read' as const }, { name: 'admin', sha256: hashToken(ADMIN), role: 'admin' as const }] };
  const servers: http.Server[] = [];
  /**
   * Listens with the console in front of the composed API. The lead mounts consoleRouter() in
   * app.ts; the test puts its own in front so it serves the scripts it just compiled.
   */
  const start = async (api: http.Server): Promise<string> => {
    const apiListener = api.listeners('request')[0] as http.RequestListener;
    const app = express().disable('x-powered-by').use(consoleRouter({ scriptsDir })).use((req, res) => apiListener(req, res));
    const server = http.createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  };
  const open = await start(composeApi({ store, databaseFile }) as http.Server);
  const locked = await start(composeApi({ store, databaseFile, auth }) as http.Server);
  // The bare app (no findings routes), as a server of a build without the findings API would answer.
  const bare = await start(http.createServer(createApp({ store, logError: (err) => t.error(err) })));
  t.equal((await fetch(`${bare}/api/v1/findings`)).status, 404, 'the bare app has no findings API');
  t.equal((await fetch(`${open}/api/v1/findings`)).status, 200, 'the composed API has it');

  const api = async <T = any>(base: string, p: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(base + p, init);
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    for (const s of servers) s.close();
    db.close();
  });
  fs.mkdirSync(SHOTS, { recursive: true });

  /** A fresh tab (own sessionStorage) that records page errors and CSP violations. */
  const newPage = async (viewport = { width: 1280, height: 800 }): Promise<{ page: Page; context: BrowserContext; problems: string[] }> => {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`); });
    return { page, context, problems };
  };
  /** Opens `hash` and waits until the view named `view` has rendered. */
  const show = async (page: Page, hash: string, view: string) => {
    await page.evaluate((h) => { document.getElementById('view')?.removeAttribute('data-ready'); location.hash = h; }, hash);
    await page.waitForSelector(`main[data-ready="${view}"]`, { timeout: 15_000 });
  };
  /** Form controls without a label (ids), for the accessibility checks. */
  const unlabeled = (page: Page) => page.$$eval('input, select, textarea', (els) =>
    els.filter((e) => ((e as HTMLInputElement).labels?.length ?? 0) === 0 && !e.getAttribute('aria-label')).map((e) => e.id || e.outerHTML));
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  t.test('the console page: served at / with its own CSP, scripts as files, no inline script', async (t) => {
    const res = await fetch(`${open}/`);
    t.equal(res.status, 200);
    t.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
    t.match(res.headers.get('content-type'), /^text\/html/);
    const html = await res.text();
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
    t.notMatch(html, /https?:\/\//, 'no absolute (internet) URL in the page');
    const js = await fetch(`${open}/console/main.js`);
    t.equal(js.status, 200);
    t.match(js.headers.get('content-type'), /^text\/javascript/);
    t.equal((await fetch(`${open}/console/..%2Fpackage.json`)).status, 404, 'no path escapes the console directories');
    t.equal((await fetch(`${open}/console/nothere.js`)).status, 404);
    t.match((await fetch(`${open}/api/v1/flows?limit=1`)).headers.get('content-security-policy'), /default-src 'none'/, 'API responses keep their CSP');
  });

  t.test('graph: the plaintext billing edge is drawn as plaintext; an edge opens its flows', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    await page.goto(`${open}/#/graph?from=${FROM}&to=${TO}`);
    await page.waitForSelector('main[data-ready="graph"]');

    const edges = (await api<{ items: any[] }>(open, `/api/v1/edges?from=${FROM}&to=${TO}&limit=1000`)).items;
    const drawn = await page.$$eval('svg.graph path.edge', (ps) => ps.map((p) => ({ key: p.getAttribute('data-key'), cls: p.getAttribute('class'), mtls: p.getAttribute('data-mtls'), width: Number(p.getAttribute('stroke-width')) })));
    t.equal(drawn.length, edges.length, 'one SVG edge per API edge');
    const keyOf = (e: { source_principal: string | null; destination_service: string | null; destination_port: number | null }) => JSON.stringify([e.source_principal, e.destination_service, e.destination_port]);
    const byKey = new Map(drawn.map((d) => [d.key, d]));
    for (const e of edges) {
      const expected = e.plaintext > 0 ? 'plaintext' : e.unknown > 0 ? 'unknown' : 'verified';
      t.equal(byKey.get(keyOf(e))?.mtls, expected, `edge ${keyOf(e)} is ${expected}`);
    }

    // The billing caller (10.44.2.20, no sidecar) reaches ratings in plaintext: find its edge from the flows.
    const billing = (await api<{ items: any[] }>(open, `/api/v1/flows?from=${FROM}&to=${TO}&mtls=false&limit=1000`)).items
      .find((f) => f.downstream_remote_address?.startsWith('10.44.2.20:'));
    t.ok(billing, 'the generator wrote plaintext billing calls');
    const billingEdge = byKey.get(keyOf(billing));
    t.equal(billingEdge?.mtls, 'plaintext', 'the billing edge is marked plaintext');
    t.match(billingEdge?.cls, /\bmtls-plaintext\b/, 'and classed mtls-plaintext');
    const verifiedKey = keyOf({ source_principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage', destination_service: 'details.bookinfo.svc.cluster.local', destination_port: 9080 });
    t.equal(byKey.get(verifiedKey)?.mtls, 'verified', 'productpage -> details (two sidecars) is all verified');
    const busiest = edges.reduce((a, b) => (b.requests > a.requests ? b : a));
    const quietest = edges.reduce((a, b) => (b.requests < a.requests ? b : a));
    t.ok(byKey.get(keyOf(busiest))!.width > byKey.get(keyOf(quietest))!.width, 'busier edges are thicker');
    await shot(page, 'graph');
    t.same(await unlabeled(page), [], 'every graph control has a label');
    await page.keyboard.press('Tab');
    t.equal(await page.evaluate(() => document.activeElement?.className), 'skip', 'the first Tab reaches the skip link');

    // Keyboard: focus the verified edge and press Enter; its counts appear.
    const verified = edges.find((e) => keyOf(e) === verifiedKey)!;
    await page.focus(`svg.graph path.edge[data-key='${verifiedKey}']`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.edge-details:not([hidden])');
    const panel = await page.textContent('.edge-details');
    t.match(panel, `Requests${verified.requests}`, 'the panel shows the edge\'s request count');
    t.match(panel, `mTLS verified${verified.mtls}`);

    // Click the plaintext edge, then open its flows.
    const plain = edges.find((e) => keyOf(e) === keyOf(billing))!;
    // Click a point of the drawn curve itself, as a user would: one where no other edge lies on top.
    const at = await page.$eval(`svg.graph path.edge[data-key='${keyOf(billing)}']`, (p) => {
      const path = p as SVGPathElement;
      const len = path.getTotalLength();
      for (let i = 1; i < 20; i++) {
        const pt = path.getPointAtLength((len * i) / 20).matrixTransform(path.getScreenCTM()!);
        if (document.elementFromPoint(pt.x, pt.y)?.getAttribute('data-key') === path.getAttribute('data-key')) return { x: pt.x, y: pt.y };
      }
      return null;
    });
    t.ok(at, 'the plaintext edge can be hit with the pointer');
    await page.mouse.click(at!.x, at!.y);
    await page.waitForFunction((n) => document.querySelector('.edge-details')?.textContent?.includes(`Plaintext${n}`), plain.plaintext);
    await shot(page, 'graph-edge');
    await page.click('.edge-details a[data-role="open-flows"]');
    await page.waitForSelector('main[data-ready="flows"]');
    const hash = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
    t.equal(hash.get('from'), FROM, 'the flows view is pre-filtered with the graph range');
    t.equal(hash.get('to'), TO);
    t.equal(await page.inputValue('#f-from'), FROM, 'and the form shows it');
    t.ok(await page.$$eval('tbody tr[data-flow-id]', (r) => r.length) > 0, 'the flows table has rows');
    t.same(problems, [], 'no page errors or CSP violations');
  });

  t.test('flows: pages forward and back with the API cursors; exports download with the token', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    await page.goto(`${open}/#/flows?from=${FROM}&to=${TO}&limit=25`);
    await page.waitForSelector('main[data-ready="flows"]');
    const ids = () => page.$$eval('tbody tr[data-flow-id]', (rows) => rows.map((r) => Number(r.getAttribute('data-flow-id'))));
    const first = await api<{ items: any[]; next_cursor: string }>(open, `/api/v1/flows?from=${FROM}&to=${TO}&limit=25`);
    const second = await api<{ items: any[] }>(open, `/api/v1/flows?from=${FROM}&to=${TO}&limit=25&cursor=${first.next_cursor}`);
    const page1 = await ids();
    t.same(page1, first.items.map((f) => f.id), 'page 1 is the API\'s first page');
    t.ok(await page.isDisabled('button:text("← Previous")'), 'no previous page on page 1');
    await shot(page, 'flows');
    t.same(await unlabeled(page), [], 'every filter has a label');
    await page.click('button:text("Next →")');
    await page.waitForSelector('.results[data-page="2"]');
    t.same(await ids(), second.items.map((f) => f.id), 'page 2 is the API\'s second page');
    await page.click('button:text("← Previous")');
    await page.waitForSelector('.results[data-page="1"]');
    t.same(await ids(), page1, 'previous returns to page 1');

    const expected = await (await fetch(`${open}/api/v1/flows?from=${FROM}&to=${TO}&format=csv`)).text();
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button[data-export="csv"]')]);
    t.equal(dl.suggestedFilename(), 'flows.csv');
    t.equal(fs.readFileSync((await dl.path())!, 'utf8'), expected, 'the CSV download is the API\'s export');
    const [nd] = await Promise.all([page.waitForEvent('download'), page.click('button[data-export="ndjson"]')]);
    const lines = fs.readFileSync((await nd.path())!, 'utf8').trim().split('\n');
    t.equal(lines.length, expected.trim().split('\n').length - 1, 'the NDJSON download holds every matching flow');

    // Narrow window: the same view still renders (screenshot for the eye).
    await page.setViewportSize({ width: 420, height: 800 });
    await shot(page, 'flows-narrow');
    t.same(problems, []);
  });

  t.test('flows: attacker-controlled values stay text', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    await page.goto(`${open}/#/flows?request_id=${encodeURIComponent(hostileRid)}`);
    await page.waitForSelector('main[data-ready="flows"]');
    t.equal(await page.$$eval('tbody tr[data-flow-id]', (r) => r.length), 1, 'the hostile flow is found');
    t.match(await page.textContent('tbody'), '/<img src=x onerror="window.__xss=1">', 'the markup is shown as text');
    t.equal(await page.$$eval('tbody img, tbody b', (x) => x.length), 0, 'and never becomes elements');
    t.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'no handler ran');
    t.same(problems, []);
  });

  t.test('request: every hop with both sides and TLS, in the API\'s order', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    const productpage = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage';
    const call = (await api<{ items: any[] }>(open, `/api/v1/flows?from=${FROM}&to=${TO}&direction=inbound&destination_service=details.bookinfo.svc.cluster.local&source_principal=${encodeURIComponent(productpage)}&limit=1`)).items[0];
    t.ok(call, 'a productpage -> details call with both sidecars\' lines');
    const hops = (await api<{ items: any[] }>(open, `/api/v1/requests/${encodeURIComponent(call.request_id)}?limit=1000`)).items;
    await page.goto(`${open}/#/request/${encodeURIComponent(call.request_id)}`);
    await page.waitForSelector('main[data-ready="request"]');
    const cards = await page.$$eval('li.hop', (ls) => ls.map((l) => ({ flow: Number(l.getAttribute('data-flow-id')), text: l.textContent ?? '' })));
    t.same(cards.map((c) => c.flow), hops.map((h) => h.flow_id), 'one card per hop, in order');
    t.ok(cards.length >= 2);
    // The productpage -> details call seen from both proxies: the caller's outbound line and the server's inbound line.
    const out = hops.find((h) => h.direction === 'outbound' && h.destination.service === 'details.bookinfo.svc.cluster.local');
    const inn = hops.find((h) => h.flow_id === call.id);
    t.ok(out && inn, 'the API has both sides of the call');
    for (const h of [out, inn]) {
      const card = cards.find((c) => c.flow === h.flow_id)!;
      t.match(card.text, `Hop ${h.hop}: ${h.direction}`);
      t.match(card.text, 'Source (caller)');
      t.match(card.text, 'Destination (server)');
      if (h.source.principal) t.match(card.text, h.source.principal);
      if (h.destination.principal) t.match(card.text, h.destination.principal);
    }
    t.equal(await page.$$eval(`li.hop[data-flow-id="${inn.flow_id}"] [data-mtls="verified"]`, (x) => x.length), 1, 'the server side proves mTLS');
    await shot(page, 'request');
    t.same(problems, []);
  });

  t.test('evidence: the report\'s counts, printable, with the signed JSON to download', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    const report = (await api<{ report: any }>(open, `/api/v1/reports/mtls?from=${FROM}&to=${TO}`)).report;
    await page.goto(`${open}/#/evidence?from=${FROM}&to=${TO}`);
    await page.waitForSelector('main[data-ready="evidence"]');
    for (const key of ['requests', 'mtls_verified', 'plaintext', 'unknown', 'destinations']) {
      t.equal(Number(await page.textContent(`[data-total="${key}"] .total-value`)), report.totals[key], `total ${key}`);
    }
    t.ok(report.totals.plaintext > 0, 'the billing calls count as plaintext');
    t.equal(await page.$$eval('.report tbody tr[data-status]', (r) => r.length), report.destinations.length, 'one row per destination');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button[data-download="signed-json"]')]);
    const signed = JSON.parse(fs.readFileSync((await dl.path())!, 'utf8'));
    t.same(signed.report.totals, report.totals, 'the download is the signed report of this window');
    t.equal(signed.signature.algorithm, 'Ed25519');
    await page.emulateMedia({ media: 'print' });
    t.equal(await page.isVisible('form.filters'), false, 'the form is hidden when printing');
    await page.emulateMedia({ media: 'screen' });
    await shot(page, 'evidence');
    t.same(await unlabeled(page), []);
    t.same(problems, []);
  });

  t.test('findings: the incidents are listed, sortable; acknowledging changes the status over the API', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    await page.goto(`${open}/#/findings`);
    await page.waitForSelector('main[data-ready="findings"]');
    const keys = await page.$$eval('tr[data-key]', (rows) => rows.map((r) => r.getAttribute('data-key')));
    for (const i of scenario.incidents) t.ok(keys.includes(i.key), `listed: ${i.what}`);

    const rank = { info: 0, low: 1, medium: 2, high: 3, critical: 4 } as Record<string, number>;
    await page.click('button[data-sort="severity"]');
    const sev = await page.$$eval('tr[data-key] td:first-child', (c) => c.map((x) => x.textContent ?? ''));
    t.same(sev, [...sev].sort((a, b) => rank[b]! - rank[a]!), 'sorted by severity, highest first');
    t.equal(await page.getAttribute('th:has(button[data-sort="severity"])', 'aria-sort'), 'descending');
    await shot(page, 'findings');

    await page.selectOption('#fi-detector', 'denied-egress');
    await page.click('form.filters button[type="submit"]');
    await page.waitForSelector('main[data-ready="findings"]');
    const denied = await page.$$eval('tr[data-key]', (rows) => rows.map((r) => r.getAttribute('data-key')!));
    t.same(denied.sort(), scenario.incidents.filter((i) => i.detector === 'denied-egress').map((i) => i.key).sort(), 'the detector filter narrows the list');

    const incident = scenario.incidents.find((i) => i.detector === 'plaintext')!;
    await show(page, '#/findings', 'findings');
    await page.click(`tr[data-key="${incident.key}"] a`);
    await page.waitForSelector('main[data-ready="finding"]');
    const id = (await page.evaluate(() => location.hash)).replace('#/finding/', '');
    t.equal((await api(open, `/api/v1/findings/${id}`)).status, 'open');
    t.ok(await page.$$eval('table.data tbody tr[data-flow-id]', (r) => r.length) > 0, 'sample flows shown');
    await page.click('button[data-action="resolved"]');
    t.match(await page.textContent('.action-result'), 'A reason is needed');
    t.equal((await api(open, `/api/v1/findings/${id}`)).status, 'open', 'nothing was sent without a reason');
    await page.fill('#fd-reason', 'billing is being moved into the mesh (CHG-1234)');
    await page.click('button[data-action="acknowledged"]');
    await page.waitForSelector('.finding-status[data-status="acknowledged"]');
    const after = await api(open, `/api/v1/findings/${id}`);
    t.equal(after.status, 'acknowledged', 'the API has the new status');
    t.equal(after.status_reason, 'billing is being moved into the mesh (CHG-1234)');
    await shot(page, 'finding');
    t.same(await unlabeled(page), [], 'the reason box and the token field have labels');
    t.same(problems, []);
  });

  t.test('findings: without the findings API the view says so', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    await page.goto(`${bare}/#/findings`);
    await page.waitForSelector('main[data-ready="findings"]');
    t.match(await page.textContent('[data-state="findings-unavailable"]'), 'findings API is not available');
    t.same(problems, []);
  });

  t.test('tokens: the page asks once, keeps the token for the tab, and shows a read-only token\'s refusal', async (t) => {
    const { page, context, problems } = await newPage();
    t.teardown(() => context.close());
    let authorized = 0;
    page.on('request', (r) => { if (r.url().includes('/api/v1/') && r.headers().authorization === `Bearer ${READ}`) authorized++; });
    await page.goto(`${locked}/#/flows?from=${FROM}&to=${TO}&limit=25`);
    await page.waitForSelector('#token-dialog[open]');
    t.match(await page.textContent('#token-reason'), 'needs a bearer token');
    await shot(page, 'token-prompt');
    await page.fill('#token-input', 'wrong-token');
    await page.click('#token-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('token-reason')?.textContent?.includes('not accepted'));
    t.ok(await page.isVisible('#token-dialog[open]'), 'a rejected token asks again');
    await page.fill('#token-input', READ);
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('main[data-ready="flows"]');
    t.equal(await page.$$eval('tbody tr[data-flow-id]', (r) => r.length), 25, 'the view works with the token');
    t.ok(authorized > 0, 'requests carry Authorization: Bearer');
    t.equal(await page.evaluate(() => sessionStorage.getItem('meshtrail.console.token')), READ, 'kept in sessionStorage');

    // Other views and a reload reuse it: no second prompt.
    await show(page, `#/graph?from=${FROM}&to=${TO}`, 'graph');
    await page.reload();
    await page.waitForSelector('main[data-ready="graph"]');
    t.equal(await page.isVisible('#token-dialog[open]'), false, 'no prompt after a reload');
    t.ok(await page.$$eval('svg.graph path.edge', (p) => p.length) > 0);

    // A read token may not change a finding: the API's refusal is shown and nothing changes.
    const list = await api<{ items: any[] }>(locked, '/api/v1/findings?status=open&limit=1', { headers: { Authorization: `Bearer ${READ}` } });
    const f = list.items[0];
    await show(page, `#/finding/${f.id}`, 'finding');
    await page.fill('#fd-reason', 'trying with a read token');
    await page.click('button[data-action="suppressed"]');
    await page.waitForSelector('.action-result.error');
    const msg = await page.textContent('.action-result');
    t.match(msg, '403');
    t.match(msg, 'this token may not do that');
    t.match(msg, 'admin token');
    const still = await api(locked, `/api/v1/findings/${f.id}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    t.equal(still.status, 'open', 'the finding is unchanged');
    await shot(page, 'finding-readonly');
    t.same(problems, []);
  });
}
