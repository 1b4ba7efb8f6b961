/// <reference lib="dom" />
/**
 * Flow search: the /api/v1/flows filters as a form (kept in the URL hash, so a search can be
 * linked and the Graph view can open one), a results table with cursor paging, and CSV/NDJSON
 * exports fetched with the token and handed over as a blob download (a plain link could not
 * carry the Authorization header).
 */
import { apiUrl, getBlob, getJson, messageOf } from './api.client.js';
import { download, el, field, replace, select } from './dom.js';
import { announce, defaultRange, errorBox, flowsTable, hashLink, type StoredFlow, type ViewContext } from './view.js';

/** The /flows filters the form offers (every filter of the API but the cursor and format). */
const TEXT_FILTERS = [
  ['from', 'From', 'ISO-8601 with a zone, or epoch ms'],
  ['to', 'To', 'End, exclusive'],
  ['source_principal', 'Caller principal', 'Exact SPIFFE ID, ns/<namespace>, or a prefix ending in *'],
  ['destination_service', 'Destination service', 'Host, exact'],
  ['namespace', 'Namespace', 'Source or destination namespace'],
  ['request_id', 'Request id', 'x-request-id, exact'],
  ['response_code', 'Response code', 'e.g. 503 or 5xx'],
  ['response_flag', 'Response flag', 'One Envoy flag, e.g. UH'],
  ['reporter_pod', 'Reporter pod', 'Pod of the proxy that wrote the line'],
] as const;
const FILTER_NAMES = [...TEXT_FILTERS.map(([n]) => n), 'direction', 'mtls'] as const;
const PAGE_SIZES = ['25', '50', '100', '250'] as const;

type FlowsPage = { items: StoredFlow[]; next_cursor: string | null };

/** The Flows view. */
export async function flowsView(ctx: ViewContext): Promise<void> {
  const filter: Record<string, string> = {};
  for (const n of FILTER_NAMES) {
    const v = ctx.params.get(n);
    if (v) filter[n] = v;
  }
  const hasFilter = Object.keys(filter).length > 0;
  // A bare #/flows opens on the last 24 hours rather than the whole store.
  if (!hasFilter) Object.assign(filter, defaultRange());
  const limit = PAGE_SIZES.includes(ctx.params.get('limit') as (typeof PAGE_SIZES)[number]) ? ctx.params.get('limit')! : '50';

  const inputs = TEXT_FILTERS.map(([name, label, hint]) => {
    const input = el('input', { id: `f-${name}`, name, value: filter[name] ?? '', autocomplete: 'off', spellcheck: 'false' });
    return { name, node: field(label, input, hint), input };
  });
  const direction = select('f-direction', 'direction', [['', 'Any'], ['outbound', 'Outbound'], ['inbound', 'Inbound']], filter.direction ?? '');
  const mtls = select('f-mtls', 'mtls', [['', 'Any'], ['true', 'mTLS verified'], ['false', 'Plaintext'], ['unknown', 'Unknown']], filter.mtls ?? '');
  const size = select('f-limit', 'limit', PAGE_SIZES.map((s) => [s, s] as const), limit);
  const form = el('form', { class: 'filters', 'aria-label': 'Flow filters' },
    ...inputs.map((i) => i.node), field('Direction', direction), field('mTLS', mtls), field('Page size', size),
    el('div', { class: 'actions' },
      el('button', { type: 'submit' }, 'Search'),
      el('a', { class: 'button secondary', href: '#/flows?from=&to=' }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next: Record<string, string> = {};
    for (const i of inputs) next[i.name] = i.input.value.trim();
    next.direction = direction.value;
    next.mtls = mtls.value;
    next.limit = size.value;
    location.hash = hashLink('flows', next);
  });

  const exportCsv = el('button', { type: 'button', class: 'secondary', 'data-export': 'csv' }, 'Export CSV');
  const exportNdjson = el('button', { type: 'button', class: 'secondary', 'data-export': 'ndjson' }, 'Export NDJSON');
  const prev = el('button', { type: 'button', disabled: true }, '← Previous');
  const next = el('button', { type: 'button', disabled: true }, 'Next →');
  const pageInfo = el('span', { class: 'page-info', 'aria-live': 'polite' });
  const results = el('div', { class: 'results' });
  replace(ctx.root,
    el('h1', { tabindex: '-1' }, 'Flows'),
    form,
    el('div', { class: 'toolbar' },
      el('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages' }, prev, pageInfo, next),
      el('div', { class: 'exports' }, exportCsv, exportNdjson, el('small', { class: 'hint' }, 'Exports hold every matching row.'))),
    results);

  // stack[i] is the cursor that fetched page i (null for the first page).
  const stack: (string | null)[] = [null];
  let nextCursor: string | null = null;
  const load = async () => {
    const cursor = stack[stack.length - 1] ?? null;
    prev.disabled = next.disabled = true;
    announce('Loading flows…');
    try {
      const page = await getJson<FlowsPage>(apiUrl('flows', { ...filter, limit, cursor }));
      nextCursor = page.next_cursor;
      replace(results, page.items.length ? flowsTable(page.items, `Flows, page ${stack.length}`) : el('p', { class: 'empty' }, 'No flows match.'));
      pageInfo.textContent = `Page ${stack.length} · ${page.items.length} flows`;
      results.setAttribute('data-page', String(stack.length));
      prev.disabled = stack.length <= 1;
      next.disabled = nextCursor === null;
      announce(`Page ${stack.length}: ${page.items.length} flows${nextCursor ? '; more available' : ''}.`);
    } catch (err) {
      replace(results, errorBox(messageOf(err)));
      announce(messageOf(err), 'error');
    }
  };
  next.addEventListener('click', () => { if (nextCursor) { stack.push(nextCursor); void load(); } });
  prev.addEventListener('click', () => { if (stack.length > 1) { stack.pop(); void load(); } });
  const exporter = (format: 'csv' | 'ndjson') => async () => {
    announce(`Preparing the ${format.toUpperCase()} export…`);
    try {
      const blob = await getBlob(apiUrl('flows', { ...filter, format }));
      download(blob, `flows.${format}`);
      announce(`${format.toUpperCase()} export downloaded (${blob.size} bytes).`);
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };
  exportCsv.addEventListener('click', exporter('csv'));
  exportNdjson.addEventListener('click', exporter('ndjson'));
  await load();
}
