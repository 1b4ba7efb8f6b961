/// <reference lib="dom" />
/**
 * What every view of the console shares: the context it renders into, the status line
 * (`aria-live`), time-range defaults, and the flows table that both the Flows view and a
 * finding's sample flows use.
 */
import type { z } from 'zod';
import type { StoredFlowSchema } from '../../schemas/api.js';
import { el, show } from './dom.js';

/** A flow as the API returns it. */
export type StoredFlow = z.infer<typeof StoredFlowSchema>;

/** What a view gets from the router. */
export interface ViewContext {
  /** The view's own element; a stale render writes into a detached one, harmlessly. */
  root: HTMLElement;
  /** Query part of the hash (`#/flows?from=...`). */
  params: URLSearchParams;
  /** Path argument (`#/request/<id>` gives the id). */
  arg: string | undefined;
}

/** A view: renders itself into `ctx.root`. */
export type View = (ctx: ViewContext) => Promise<void> | void;

/** Shows `message` in the live status region (screen readers announce it). */
export function announce(message: string, kind: 'info' | 'error' = 'info'): void {
  const status = document.getElementById('status');
  if (!status) return;
  status.className = kind === 'error' ? 'status error' : 'status';
  status.textContent = message;
}

/** An in-view error box (role=alert) with the message as text. */
export function errorBox(message: string): HTMLElement {
  return el('p', { class: 'error-box', role: 'alert' }, message);
}

/** ISO-8601 without milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Whole hours, last 24 h up to the end of the current hour (whole hours read the hourly rollups). */
export function defaultRange(now = Date.now()): { from: string; to: string } {
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  return { from: iso(hour - 23 * 3_600_000), to: iso(hour + 3_600_000) };
}

/** Builds a `#/<view>?<params>` link, leaving out empty parameters. */
export function hashLink(view: string, params: Record<string, string | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${view}${s ? `?${s}` : ''}`;
}

/** A badge for an mTLS verdict (text, not only colour). */
export function mtlsBadge(mtls: boolean | null): HTMLElement {
  const [cls, text] = mtls === true ? ['verified', 'mTLS'] : mtls === false ? ['plaintext', 'plaintext'] : ['unknown', 'unknown'];
  return el('span', { class: `badge mtls-${cls}`, 'data-mtls': cls }, text);
}

/** A table of flows; request ids link to the Request view. */
export function flowsTable(flows: readonly StoredFlow[], caption: string): HTMLElement {
  const head = ['ID', 'Start', 'Dir.', 'Reporter', 'Caller', 'Destination', 'Request', 'Code', 'Flags', 'mTLS', 'Request id'];
  const tbody = el('tbody');
  for (const f of flows) {
    const caller = f.source_principal ?? f.source_workload ?? f.downstream_remote_address;
    const dest = `${f.destination_service ?? f.destination_workload ?? f.upstream_host ?? '—'}${f.destination_port !== null ? `:${f.destination_port}` : ''}`;
    tbody.appendChild(el('tr', { 'data-flow-id': f.id },
      el('td', {}, f.id),
      el('td', { class: 'nowrap' }, show(f.start_time)),
      el('td', {}, show(f.direction)),
      el('td', {}, `${f.reporter.kind}${f.reporter.pod ? ` ${f.reporter.pod}` : ''}`),
      el('td', { class: 'wrap' }, show(caller)),
      el('td', { class: 'wrap' }, dest),
      el('td', { class: 'wrap' }, `${f.method ?? ''} ${f.path ?? ''}`.trim() || '—'),
      el('td', {}, show(f.response_code)),
      el('td', {}, f.response_flags.length ? f.response_flags.join(',') : '—'),
      el('td', {}, mtlsBadge(f.mtls)),
      el('td', { class: 'wrap' }, f.request_id ? el('a', { href: `#/request/${encodeURIComponent(f.request_id)}` }, f.request_id) : '—'),
    ));
  }
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'data' },
      el('caption', {}, caption),
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
      tbody));
}
