/// <reference lib="dom" />
/**
 * Findings: a filterable (server-side: detector, severity, status) and sortable (client-side,
 * over the loaded rows) list, and a detail page with the evidence, sample flows and the
 * acknowledge / resolve / suppress / reopen actions (PATCH, admin token). When the server has
 * no findings API (404) the view says so instead of failing.
 */
import type { z } from 'zod';
import type { Detector, Finding, FindingStatus, Severity } from '../../schemas/finding.js';
import type { FindingDetailSchema } from '../../schemas/findings-api.js';
import { ApiError, apiUrl, getJson, messageOf, patchJson } from './api.client.js';
import { el, facts, field, replace, select, show } from './dom.js';
import { announce, errorBox, flowsTable, hashLink, type ViewContext } from './view.js';

type FindingDetail = z.infer<typeof FindingDetailSchema>;
type FindingsPage = { items: Finding[]; next_cursor: string | null };

// Records over the schema's enums: a detector or status added to the schema fails the console's type-check until it is listed here.
const DETECTOR_LABEL = {
  plaintext: 'Plaintext', 'unexpected-principal': 'Unexpected principal', 'denied-egress': 'Denied egress',
  'unregistered-egress': 'Unregistered egress', 'weak-tls': 'Weak TLS', 'policy-pitfall': 'Policy pitfall',
} satisfies Record<Detector, string>;
const SEVERITY_RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 } satisfies Record<Severity, number>;
const STATUS_LABEL = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved', suppressed: 'Suppressed' } satisfies Record<FindingStatus, string>;
const ACTIONS: readonly { status: FindingStatus; label: string }[] = [
  { status: 'acknowledged', label: 'Acknowledge' }, { status: 'resolved', label: 'Resolve' }, { status: 'suppressed', label: 'Suppress' }, { status: 'open', label: 'Reopen' },
];

type SortKey = 'severity' | 'detector' | 'status' | 'title' | 'count' | 'last_seen';
const COLUMNS: readonly { key: SortKey; label: string }[] = [
  { key: 'severity', label: 'Severity' }, { key: 'detector', label: 'Detector' }, { key: 'status', label: 'Status' },
  { key: 'title', label: 'Finding' }, { key: 'count', label: 'Count' }, { key: 'last_seen', label: 'Last seen' },
];

function compare(a: Finding, b: Finding, key: SortKey): number {
  switch (key) {
    case 'severity': return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
    case 'count': return a.count - b.count;
    default: return a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0;
  }
}

function unavailable(root: HTMLElement): void {
  replace(root, el('h1', { tabindex: '-1' }, 'Findings'),
    el('p', { class: 'notice', role: 'status', 'data-state': 'findings-unavailable' },
      'The findings API is not available on this server (GET /api/v1/findings answered 404). The other views work without it.'));
  announce('Findings API not available.');
}

/** The Findings list view. */
export async function findingsView(ctx: ViewContext): Promise<void> {
  const q = { detector: ctx.params.get('detector') ?? '', severity: ctx.params.get('severity') ?? '', status: ctx.params.get('status') ?? '' };
  const detector = select('fi-detector', 'detector', [['', 'Any'], ...Object.entries(DETECTOR_LABEL)], q.detector);
  const severity = select('fi-severity', 'severity', [['', 'Any'], ...Object.keys(SEVERITY_RANK).reverse().map((s) => [s, s] as const)], q.severity);
  const status = select('fi-status', 'status', [['', 'Any'], ...Object.entries(STATUS_LABEL)], q.status);
  const form = el('form', { class: 'filters', 'aria-label': 'Finding filters' },
    field('Detector', detector), field('Severity', severity), field('Status', status),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Filter')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = hashLink('findings', { detector: detector.value, severity: severity.value, status: status.value });
  });
  const table = el('div');
  const more = el('button', { type: 'button', hidden: true }, 'Load more');
  replace(ctx.root, el('h1', { tabindex: '-1' }, 'Findings'), form, table, more);

  const items: Finding[] = [];
  let cursor: string | null = null;
  let sort: { key: SortKey; dir: 1 | -1 } = { key: 'last_seen', dir: -1 };
  const draw = () => {
    const rows = [...items].sort((a, b) => compare(a, b, sort.key) * sort.dir || (a.id < b.id ? -1 : 1));
    const head = COLUMNS.map((c) => {
      const active = sort.key === c.key;
      const button = el('button', { type: 'button', class: 'sort', 'data-sort': c.key }, c.label, active ? (sort.dir === 1 ? ' ▲' : ' ▼') : '');
      button.addEventListener('click', () => {
        sort = { key: c.key, dir: active ? (sort.dir === 1 ? -1 : 1) : c.key === 'title' || c.key === 'detector' || c.key === 'status' ? 1 : -1 };
        draw();
        (table.querySelector(`button[data-sort="${c.key}"]`) as HTMLButtonElement | null)?.focus();
      });
      return el('th', { scope: 'col', 'aria-sort': active ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none' }, button);
    });
    const body = el('tbody', {}, ...rows.map((f) => el('tr', { 'data-finding-id': f.id, 'data-key': f.key, 'data-status': f.status },
      el('td', {}, el('span', { class: `badge severity-${f.severity}` }, f.severity)),
      el('td', {}, DETECTOR_LABEL[f.detector] ?? f.detector),
      el('td', { class: 'finding-status' }, STATUS_LABEL[f.status] ?? f.status),
      el('td', { class: 'wrap' }, el('a', { href: `#/finding/${encodeURIComponent(f.id)}` }, f.title)),
      el('td', { class: 'num' }, f.count),
      el('td', { class: 'nowrap' }, f.last_seen))));
    replace(table, rows.length
      ? el('div', { class: 'table-wrap' }, el('table', { class: 'data findings' }, el('caption', {}, `${rows.length} findings loaded`), el('thead', {}, el('tr', {}, ...head)), body))
      : el('p', { class: 'empty' }, 'No findings match.'));
    more.hidden = cursor === null;
  };
  const load = async () => {
    announce('Loading findings…');
    try {
      const page = await getJson<FindingsPage>(apiUrl('findings', { ...q, limit: 200, cursor }));
      items.push(...page.items);
      cursor = page.next_cursor;
      draw();
      announce(`${items.length} findings${cursor ? '; more available' : ''}.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return unavailable(ctx.root);
      replace(table, errorBox(messageOf(err)));
      announce(messageOf(err), 'error');
    }
  };
  more.addEventListener('click', () => void load());
  await load();
}

/** The Finding detail view (`#/finding/<id>`). */
export async function findingView(ctx: ViewContext): Promise<void> {
  const id = ctx.arg ?? '';
  replace(ctx.root, el('p', {}, el('a', { href: '#/findings' }, '← All findings')), el('h1', { tabindex: '-1' }, 'Finding'));
  announce('Loading the finding…');
  let f: FindingDetail;
  try {
    f = await getJson<FindingDetail>(apiUrl(`findings/${encodeURIComponent(id)}`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.detail.startsWith('no route')) return unavailable(ctx.root);
    ctx.root.appendChild(errorBox(messageOf(err)));
    announce(messageOf(err), 'error');
    return;
  }
  const statusText = el('span', { class: 'finding-status', 'data-status': f.status }, STATUS_LABEL[f.status] ?? f.status);
  const reasonText = el('span', {}, show(f.status_reason));
  const reason = el('textarea', { id: 'fd-reason', name: 'reason', rows: 2, maxlength: 2000 });
  const result = el('p', { class: 'action-result', role: 'status', 'aria-live': 'polite' });
  const buttons = ACTIONS.map((a) => {
    const b = el('button', { type: 'button', 'data-action': a.status, class: a.status === 'open' ? 'secondary' : '' }, a.label);
    b.addEventListener('click', async () => {
      const why = reason.value.trim();
      if (a.status !== 'open' && !why) {
        result.className = 'action-result error';
        result.textContent = `A reason is needed to mark it ${a.status}.`;
        reason.focus();
        return;
      }
      for (const x of buttons) x.disabled = true;
      try {
        const updated = await patchJson<Finding>(apiUrl(`findings/${encodeURIComponent(f.id)}`), { status: a.status, reason: why || null });
        statusText.textContent = STATUS_LABEL[updated.status] ?? updated.status;
        statusText.setAttribute('data-status', updated.status);
        reasonText.textContent = show(updated.status_reason);
        result.className = 'action-result';
        result.textContent = `Status is now ${updated.status}.`;
        announce(`Finding ${updated.status}.`);
      } catch (err) {
        result.className = 'action-result error';
        result.textContent = err instanceof ApiError && err.status === 403
          ? `${messageOf(err)} — changing a finding needs an admin token.`
          : messageOf(err);
        announce(result.textContent, 'error');
      } finally {
        for (const x of buttons) x.disabled = false;
      }
    });
    return b;
  });

  replace(ctx.root,
    el('p', {}, el('a', { href: '#/findings' }, '← All findings')),
    el('h1', { tabindex: '-1' }, f.title),
    facts([
      ['Status', statusText], ['Status reason', reasonText], ['Severity', el('span', { class: `badge severity-${f.severity}` }, f.severity)],
      ['Detector', DETECTOR_LABEL[f.detector] ?? f.detector], ['Key', f.key], ['Caller', f.source_principal ?? f.source_workload],
      ['Source namespace', f.source_namespace], ['Destination', f.destination_service ?? f.destination], ['Destination namespace', f.destination_namespace],
      ['Port', f.destination_port], ['Count', f.count], ['First seen', f.first_seen], ['Last seen', f.last_seen],
      ['Request', f.request_id ? el('a', { href: `#/request/${encodeURIComponent(f.request_id)}` }, f.request_id) : null],
    ]),
    el('section', { class: 'panel', 'aria-labelledby': 'fd-actions-h' },
      el('h2', { id: 'fd-actions-h' }, 'Triage'),
      field('Reason', reason, 'Required to acknowledge, resolve or suppress'),
      el('div', { class: 'actions' }, ...buttons),
      result),
    el('h2', {}, 'Evidence'),
    facts(Object.entries(f.evidence).map(([k, v]) => [k, typeof v === 'object' && v !== null ? el('pre', {}, JSON.stringify(v, null, 2)) : v] as const)),
    el('h2', {}, 'Sample flows'),
    f.sample_flows.length ? flowsTable(f.sample_flows, `${f.sample_flows.length} sample flows`) : el('p', { class: 'empty' }, 'No sample flows are stored any more.'));
  announce(`Finding: ${f.title}`);
}
