/**
 * Deterministic layout of the call graph (no DOM, no randomness): one column per namespace
 * (unknown first, external last), nodes stacked within a column, callers before services, each
 * group in name order. The same edges always give the same picture, so screenshots compare and
 * a node never jumps when the page reloads.
 */
import type { Edge } from '../../schemas/api.js';

/** How much of an edge's traffic is proven mutual TLS. */
export type MtlsState = 'verified' | 'plaintext' | 'unknown';

/** Any plaintext request makes the edge plaintext; any unproven one (and no plaintext) makes it unknown. */
export function mtlsState(e: Pick<Edge, 'mtls' | 'plaintext' | 'unknown'>): MtlsState {
  if (e.plaintext > 0) return 'plaintext';
  if (e.unknown > 0 || e.mtls === 0) return 'unknown';
  return 'verified';
}

/** The namespace of a SPIFFE ID (`spiffe://<td>/ns/<ns>/...`), or null. */
export function namespaceOfPrincipal(principal: string | null): string | null {
  if (principal === null) return null;
  return /^spiffe:\/\/[^/]+\/ns\/([^/]+)\//.exec(principal)?.[1] ?? null;
}

/** The namespace of an in-cluster service host (`name.ns.svc...`), 'external' for other hosts, or null. */
export function namespaceOfService(service: string | null): string | null {
  if (service === null) return null;
  const m = /^[^.]+\.([^.]+)\.svc(\.|$)/.exec(service);
  return m?.[1] ?? 'external';
}

/** A short label: `sa/<name>` for SPIFFE IDs, the first DNS label for cluster services. */
export function shortLabel(kind: 'principal' | 'service', id: string | null): string {
  if (id === null) return kind === 'principal' ? 'unproven caller' : 'unknown service';
  if (kind === 'principal') return /\/sa\/([^/]+)$/.exec(id)?.[1] ?? id;
  return /\.svc(\.|$)/.test(id) ? id.split('.')[0] ?? id : id;
}

/** A positioned node. */
export interface LaidNode {
  id: string;
  kind: 'principal' | 'service';
  /** The full identity (null: not proven by any line). */
  name: string | null;
  label: string;
  namespace: string;
  x: number;
  y: number;
}

/** A positioned edge: its endpoints and a path. */
export interface LaidEdge {
  edge: Edge;
  key: string;
  state: MtlsState;
  from: LaidNode;
  to: LaidNode;
  /** SVG path data. */
  d: string;
  width: number;
}

/** The whole picture. */
export interface GraphLayout {
  nodes: LaidNode[];
  edges: LaidEdge[];
  columns: { namespace: string; x: number }[];
  width: number;
  height: number;
}

/** The stable key of an edge (also its DOM `data-key`). */
export function edgeKey(e: Pick<Edge, 'source_principal' | 'destination_service' | 'destination_port'>): string {
  return JSON.stringify([e.source_principal, e.destination_service, e.destination_port]);
}

/** What {@link edgesToDraw} keeps and what it leaves out. */
export interface EdgeSelection {
  /** The edges to draw, in the order given (so the layout stays deterministic). */
  drawn: Edge[];
  /** Edges left out, their requests, and how many of them carried plaintext. */
  hidden: number;
  hiddenRequests: number;
  hiddenPlaintext: number;
}

/**
 * At most `max` edges to draw: every edge with plaintext first (the ones an audit looks for,
 * however quiet), then the busiest (ties by key, so the choice is stable); kept in their
 * original order. Past a few hundred edges the picture is a hairball that the browser is slow
 * to draw; what is left out is counted, never silently dropped.
 */
export function edgesToDraw(edges: readonly Edge[], max: number): EdgeSelection {
  if (edges.length <= max) return { drawn: [...edges], hidden: 0, hiddenRequests: 0, hiddenPlaintext: 0 };
  const keyed = edges.map((e, i) => ({ e, i, k: edgeKey(e), p: e.plaintext > 0 ? 0 : 1 }));
  keyed.sort((a, b) => a.p - b.p || b.e.requests - a.e.requests || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const keep = keyed.slice(0, max).sort((a, b) => a.i - b.i).map((x) => x.e);
  let hiddenRequests = 0;
  let hiddenPlaintext = 0;
  for (const x of keyed.slice(max)) {
    hiddenRequests += x.e.requests;
    if (x.p === 0) hiddenPlaintext++;
  }
  return { drawn: keep, hidden: edges.length - keep.length, hiddenRequests, hiddenPlaintext };
}

const COL_W = 280;
const ROW_H = 64;
const TOP = 76;
const LEFT = 110;

const columnRank = (ns: string): [number, string] => [ns === 'unknown' ? 0 : ns === 'external' ? 2 : 1, ns];

/** Lays out `edges`. */
export function layoutGraph(edges: readonly Edge[]): GraphLayout {
  const nodes = new Map<string, LaidNode>();
  const node = (kind: 'principal' | 'service', name: string | null): LaidNode => {
    const id = `${kind === 'principal' ? 'p' : 's'}:${name ?? ''}`;
    let n = nodes.get(id);
    if (!n) {
      const ns = (kind === 'principal' ? namespaceOfPrincipal(name) : namespaceOfService(name)) ?? 'unknown';
      n = { id, kind, name, label: shortLabel(kind, name), namespace: ns, x: 0, y: 0 };
      nodes.set(id, n);
    }
    return n;
  };
  const pairs = edges.map((e) => ({ e, from: node('principal', e.source_principal), to: node('service', e.destination_service) }));

  const namespaces = [...new Set([...nodes.values()].map((n) => n.namespace))].sort((a, b) => {
    const [ra, na] = columnRank(a);
    const [rb, nb] = columnRank(b);
    return ra - rb || (na < nb ? -1 : na > nb ? 1 : 0);
  });
  const columns = namespaces.map((namespace, i) => ({ namespace, x: LEFT + i * COL_W }));
  let rows = 0;
  for (const col of columns) {
    const members = [...nodes.values()].filter((n) => n.namespace === col.namespace).sort((a, b) =>
      (a.kind === b.kind ? 0 : a.kind === 'principal' ? -1 : 1) || ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0));
    members.forEach((n, i) => { n.x = col.x; n.y = TOP + 30 + i * ROW_H; });
    rows = Math.max(rows, members.length);
  }

  const max = Math.max(1, ...edges.map((e) => e.requests));
  // Several edges between the same two nodes (different ports) fan out instead of overlapping.
  const seen = new Map<string, number>();
  const laid = pairs.map(({ e, from, to }): LaidEdge => {
    const pairKey = `${from.id}>${to.id}`;
    const nth = seen.get(pairKey) ?? 0;
    seen.set(pairKey, nth + 1);
    const bend = 40 + nth * 18;
    // An edge that skips columns arches over the nodes between, so it does not read as passing through them.
    const skipped = Math.round(Math.abs(to.x - from.x) / COL_W) - 1;
    const lift = skipped > 0 ? Math.min(20 + 25 * skipped, 70) : 0;
    const d = from.x === to.x
      // Same column: bow out to the right so the curve does not run through the stacked nodes.
      ? `M${from.x + 14},${from.y} C${from.x + 90 + bend},${from.y} ${to.x + 90 + bend},${to.y} ${to.x + 16},${to.y}`
      : `M${from.x + 14},${from.y} C${(from.x + to.x) / 2},${from.y + nth * 14 - lift} ${(from.x + to.x) / 2},${to.y + nth * 14 - lift} ${to.x + (to.x > from.x ? -20 : 20)},${to.y}`;
    const width = 1.5 + 7 * (Math.log10(1 + e.requests) / Math.log10(1 + max));
    return { edge: e, key: edgeKey(e), state: mtlsState(e), from, to, d, width: Math.round(width * 10) / 10 };
  });

  return {
    nodes: [...nodes.values()],
    edges: laid,
    columns,
    width: Math.max(640, LEFT + columns.length * COL_W),
    height: TOP + 40 + Math.max(1, rows) * ROW_H,
  };
}
