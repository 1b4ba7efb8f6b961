/// <reference lib="dom" />
/**
 * The identity graph: callers (SPIFFE principals) and destination services of a time range as
 * nodes, edges coloured by mTLS state and drawn thicker with more requests. The aggregation is
 * the server's (/api/v1/edges); this view only lays it out (graph-layout.ts) and draws SVG.
 * Past MAX_DRAWN edges it draws those with plaintext and then the busiest, and says how many
 * (and how many requests) are not shown, with a namespace filter and a "draw all" link: on a
 * 1,500-edge mesh every edge made an unreadable picture that took seconds to paint.
 * Every edge is a focusable button, and the same edges are listed in a table for keyboard and
 * screen-reader users and narrow windows.
 */
import type { Edge, Principal } from '../../schemas/api.js';
import { apiUrl, getJson, messageOf } from './api.client.js';
import { el, facts, field, replace, select, show, svg } from './dom.js';
import { edgesToDraw, layoutGraph, type EdgeSelection, type LaidEdge, type MtlsState } from './graph-layout.js';
import { announce, defaultRange, errorBox, hashLink, type ViewContext } from './view.js';

type EdgesPage = { items: Edge[]; next_cursor: string | null; from: string; to: string };

const STATE_TEXT: Record<MtlsState, string> = { verified: 'all mTLS verified', plaintext: 'some plaintext', unknown: 'unproven (unknown)' };
const MAX_PAGES = 10;
/** Edges drawn unless the user asks for all: plaintext ones, then the busiest; the rest counted in a note (see edgesToDraw()). */
const MAX_DRAWN = 250;

async function allEdges(params: Record<string, string>): Promise<{ items: Edge[]; truncated: boolean }> {
  const items: Edge[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res: EdgesPage = await getJson<EdgesPage>(apiUrl('edges', { ...params, limit: 1000, cursor }));
    items.push(...res.items);
    cursor = res.next_cursor;
    if (cursor === null) return { items, truncated: false };
  }
  return { items, truncated: true };
}

async function namespaces(): Promise<string[]> {
  try {
    const page = await getJson<{ items: Principal[] }>(apiUrl('principals', { limit: 1000 }));
    return [...new Set(page.items.map((p) => p.namespace).filter((n): n is string => n !== null))].sort();
  } catch {
    return []; // The namespace list is a convenience; the graph works without it.
  }
}

/** The Graph view. */
export async function graphView(ctx: ViewContext): Promise<void> {
  const range = defaultRange();
  const q = {
    from: ctx.params.get('from') ?? range.from,
    to: ctx.params.get('to') ?? range.to,
    namespace: ctx.params.get('namespace') ?? '',
    direction: ctx.params.get('direction') ?? '',
  };
  const drawAll = ctx.params.get('all') === '1';
  const from = el('input', { id: 'g-from', name: 'from', value: q.from, autocomplete: 'off', spellcheck: 'false' });
  const to = el('input', { id: 'g-to', name: 'to', value: q.to, autocomplete: 'off', spellcheck: 'false' });
  const ns = select('g-namespace', 'namespace', [['', 'All namespaces'], ...(q.namespace ? [[q.namespace, q.namespace] as const] : [])], q.namespace);
  const dir = select('g-direction', 'direction', [['', 'Both (each sidecar call counts twice)'], ['outbound', 'Outbound (caller side)'], ['inbound', 'Inbound (server side)']], q.direction);
  const form = el('form', { class: 'filters', 'aria-label': 'Graph range' },
    field('From', from, 'ISO-8601 with a zone, or epoch ms'), field('To', to), field('Namespace', ns), field('Direction', dir),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Show graph')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = hashLink('graph', { from: from.value.trim(), to: to.value.trim(), namespace: ns.value, direction: dir.value });
  });
  const note = el('div');
  const canvas = el('div', { class: 'graph-canvas' });
  const details = el('section', { class: 'panel edge-details', 'aria-labelledby': 'edge-details-h', hidden: true });
  const list = el('div');
  replace(ctx.root,
    el('h1', { tabindex: '-1' }, 'Identity graph'),
    el('p', { class: 'lede' }, 'Callers (circles) and services (squares) by namespace; edges coloured by mTLS state and thicker with more requests. Select an edge for its counts and flows.'),
    form, legend(), note, canvas, details, list);

  void namespaces().then((names) => {
    for (const n of names) if (n !== q.namespace) ns.appendChild(el('option', { value: n }, n));
  });

  announce('Loading edges…');
  let result: { items: Edge[]; truncated: boolean };
  try {
    result = await allEdges({ from: q.from, to: q.to, ...(q.namespace ? { namespace: q.namespace } : {}), ...(q.direction ? { direction: q.direction } : {}) });
  } catch (err) {
    replace(canvas, errorBox(messageOf(err)));
    announce(messageOf(err), 'error');
    return;
  }
  if (result.items.length === 0) {
    replace(canvas, el('p', { class: 'empty' }, 'No traffic in this range.'));
    announce('No edges in this range.');
    return;
  }
  const selection = edgesToDraw(result.items, drawAll ? Number.POSITIVE_INFINITY : MAX_DRAWN);
  const laid = layoutGraph(selection.drawn);
  const showEdge = (e: LaidEdge) => renderDetails(details, e, q);
  replace(note, selection.hidden > 0 ? hiddenNote(selection, result.items.length, q) : null);
  replace(canvas, drawGraph(laid, showEdge));
  replace(list, edgeTable(laid.edges, showEdge));
  // For the bench and the e2e test: navigation start to the graph in the DOM.
  performance.mark('meshtrail:graph-drawn');
  const drawn = selection.hidden > 0 ? `; ${selection.drawn.length} drawn, ${selection.hidden} not shown` : '';
  announce(`${result.items.length} edges${drawn}${result.truncated ? ' (first pages only: narrow the range)' : ''}.`);
}

/** Says how many edges are not drawn, with the ways to see them. */
function hiddenNote(s: EdgeSelection, total: number, q: Record<string, string>): HTMLElement {
  const n = (x: number) => x.toLocaleString('en-US');
  return el('p', { class: 'hint edges-hidden', 'data-role': 'edges-hidden', 'data-hidden': s.hidden },
    `${n(s.drawn.length)} of ${n(total)} edges are drawn (those with plaintext first, then the busiest): `,
    `${n(s.hidden)} more edges (${n(s.hiddenRequests)} requests${s.hiddenPlaintext > 0 ? `, ${n(s.hiddenPlaintext)} of them with plaintext` : ''}) are not shown. `,
    'Choose a namespace to narrow the graph, or ',
    el('a', { href: hashLink('graph', { ...q, all: '1' }), 'data-role': 'draw-all' }, `draw all ${n(total)} edges`),
    ' (slow to draw).');
}

function legend(): HTMLElement {
  const item = (state: MtlsState) => el('li', {}, el('span', { class: `swatch mtls-${state}`, 'aria-hidden': 'true' }), STATE_TEXT[state]);
  return el('ul', { class: 'legend', 'aria-label': 'Legend' }, item('verified'), item('plaintext'), item('unknown'));
}

function drawGraph(g: ReturnType<typeof layoutGraph>, onSelect: (e: LaidEdge) => void): SVGSVGElement {
  const root = svg('svg', {
    viewBox: `0 0 ${g.width} ${g.height}`, width: g.width, height: g.height, role: 'group', 'aria-label': `Call graph: ${g.nodes.length} nodes, ${g.edges.length} edges`, class: 'graph',
  });
  const defs = svg('defs');
  for (const state of ['verified', 'plaintext', 'unknown'] as const) {
    defs.appendChild(svg('marker', { id: `arrow-${state}`, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '10', markerHeight: '10', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow mtls-${state}` })));
  }
  root.appendChild(defs);
  for (const c of g.columns) root.appendChild(svg('text', { x: c.x, y: 28, class: 'column-label', 'text-anchor': 'middle' }, c.namespace));

  const edges = svg('g', { class: 'edges' });
  for (const e of g.edges) {
    const label = `${e.from.name ?? 'unproven caller'} to ${e.to.name ?? 'unknown service'}${e.edge.destination_port !== null ? ` port ${e.edge.destination_port}` : ''}: ${e.edge.requests} requests, ${STATE_TEXT[e.state]}`;
    const path = svg('path', {
      d: e.d, class: `edge mtls-${e.state}`, 'data-mtls': e.state, 'data-key': e.key, 'stroke-width': e.width,
      'marker-end': `url(#arrow-${e.state})`, tabindex: '0', role: 'button', 'aria-label': label,
      'data-source': e.edge.source_principal ?? '', 'data-destination': e.edge.destination_service ?? '', 'data-port': e.edge.destination_port ?? '',
    }, svg('title', {}, label));
    path.addEventListener('click', () => onSelect(e));
    path.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onSelect(e); }
    });
    // A thin curve is a hard target for a pointer: a wide transparent twin takes the clicks.
    const hit = svg('path', { d: e.d, class: 'edge-hit', 'aria-hidden': 'true', 'data-key': e.key });
    hit.addEventListener('click', () => onSelect(e));
    edges.append(path, hit);
  }
  root.appendChild(edges);

  const nodes = svg('g', { class: 'nodes' });
  for (const n of g.nodes) {
    const shape = n.kind === 'principal'
      ? svg('circle', { cx: n.x, cy: n.y, r: 13, class: `node principal${n.name === null ? ' anonymous' : ''}` })
      : svg('rect', { x: n.x - 12, y: n.y - 12, width: 24, height: 24, rx: 4, class: `node service${n.name === null ? ' anonymous' : ''}` });
    nodes.appendChild(svg('g', { 'data-node': n.id },
      svg('title', {}, n.name ?? (n.kind === 'principal' ? 'caller not proven by any line' : 'destination service unknown')),
      shape,
      svg('text', { x: n.x, y: n.y + 28, class: 'node-label', 'text-anchor': 'middle' }, n.label)));
  }
  root.appendChild(nodes);
  return root;
}

function edgeTable(edges: readonly LaidEdge[], onSelect: (e: LaidEdge) => void): HTMLElement {
  const sorted = [...edges].sort((a, b) => b.edge.requests - a.edge.requests);
  const tbody = el('tbody');
  for (const e of sorted) {
    tbody.appendChild(el('tr', { 'data-key': e.key },
      el('td', { class: 'wrap' }, show(e.edge.source_principal)),
      el('td', { class: 'wrap' }, `${show(e.edge.destination_service)}${e.edge.destination_port !== null ? `:${e.edge.destination_port}` : ''}`),
      el('td', { class: 'num' }, e.edge.requests),
      el('td', { class: 'num' }, e.edge.plaintext),
      el('td', { class: 'num' }, e.edge.unknown),
      el('td', {}, el('span', { class: `badge mtls-${e.state}`, 'data-mtls': e.state }, STATE_TEXT[e.state])),
      el('td', {}, el('button', { type: 'button', class: 'small', onclick: () => onSelect(e) }, 'Details'))));
  }
  return el('div', { class: 'table-wrap' }, el('table', { class: 'data' },
    el('caption', {}, 'Edges, busiest first'),
    el('thead', {}, el('tr', {}, ...['Caller', 'Service', 'Requests', 'Plaintext', 'Unknown', 'mTLS', ''].map((h) => el('th', { scope: 'col' }, h)))),
    tbody));
}

function renderDetails(panel: HTMLElement, e: LaidEdge, q: { from: string; to: string; namespace: string; direction: string }): void {
  const x = e.edge;
  // /flows cannot filter on a missing value: an edge with an unproven caller or an unknown service opens a superset.
  const partial = x.source_principal === null || x.destination_service === null;
  const flowsHref = hashLink('flows', {
    from: q.from, to: q.to, direction: q.direction,
    source_principal: x.source_principal, destination_service: x.destination_service,
    namespace: q.namespace,
  });
  panel.hidden = false;
  replace(panel,
    el('h2', { id: 'edge-details-h', tabindex: '-1' }, 'Edge'),
    facts([
      ['Caller', x.source_principal], ['Service', x.destination_service], ['Port', x.destination_port],
      ['Requests', x.requests], ['Errors', x.errors], ['mTLS verified', x.mtls], ['Plaintext', x.plaintext], ['Unknown', x.unknown],
      ['Bytes', x.bytes], ['First seen', x.first_seen], ['Last seen', x.last_seen], ['State', el('span', { class: `badge mtls-${e.state}` }, STATE_TEXT[e.state])],
    ]),
    partial ? el('p', { class: 'hint' }, 'The caller or the service of this edge is not known, so the flows list cannot be narrowed to exactly this edge: it shows the wider set.') : null,
    el('p', {}, el('a', { class: 'button', href: flowsHref, 'data-role': 'open-flows' }, 'Open its flows')));
  (panel.querySelector('h2') as HTMLElement).focus();
}
