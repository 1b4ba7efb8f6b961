/// <reference lib="dom" />
/**
 * One request across the mesh: every hop (each proxy's line) sharing an x-request-id, in time
 * order, with the caller's and the server's identities and the TLS facts side by side, so a
 * reader sees at which hop a principal went missing or TLS stopped being proven.
 */
import type { RequestHop } from '../../schemas/api.js';
import { apiUrl, getJson, messageOf } from './api.client.js';
import { el, facts, field, replace } from './dom.js';
import { announce, errorBox, hashLink, mtlsBadge, type ViewContext } from './view.js';

type HopsPage = { request_id: string; items: RequestHop[]; next_cursor: string | null };

/** The Request view (`#/request/<id>`). */
export async function requestView(ctx: ViewContext): Promise<void> {
  const id = ctx.arg ?? ctx.params.get('id') ?? '';
  const input = el('input', { id: 'r-id', name: 'request_id', value: id, autocomplete: 'off', spellcheck: 'false', required: true });
  const form = el('form', { class: 'filters', 'aria-label': 'Request lookup' },
    field('Request id', input, 'The x-request-id every hop shares'), el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Show hops')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (input.value.trim()) location.hash = `#/request/${encodeURIComponent(input.value.trim())}`;
  });
  const out = el('div');
  replace(ctx.root, el('h1', { tabindex: '-1' }, 'Request'), form, out);
  if (!id) {
    announce('Enter a request id.');
    return;
  }
  announce('Loading hops…');
  let page: HopsPage;
  try {
    page = await getJson<HopsPage>(apiUrl(`requests/${encodeURIComponent(id)}`, { limit: 1000 }));
  } catch (err) {
    replace(out, errorBox(messageOf(err)));
    announce(messageOf(err), 'error');
    return;
  }
  if (page.items.length === 0) {
    replace(out, el('p', { class: 'empty' }, 'No flow carries this request id.'));
    announce('No hops found.');
    return;
  }
  replace(out,
    el('p', {}, `${page.items.length} hop${page.items.length === 1 ? '' : 's'} of request `, el('code', {}, page.request_id), '. ',
      el('a', { href: hashLink('flows', { request_id: page.request_id, from: '', to: '' }) }, 'As flows')),
    el('ol', { class: 'hops' }, ...page.items.map(hopCard)),
    page.next_cursor ? el('p', { class: 'hint' }, 'More hops exist than shown (1000).') : null);
  announce(`${page.items.length} hops.`);
}

function hopCard(h: RequestHop): HTMLElement {
  const title = `Hop ${h.hop}: ${h.direction ?? 'direction unknown'}, reported by ${h.reporter.kind}${h.reporter.pod ? ` ${h.reporter.pod}` : ''}`;
  return el('li', { class: 'hop panel', 'data-hop': h.hop, 'data-flow-id': h.flow_id },
    el('h2', {}, title),
    el('p', { class: 'request-line' },
      el('code', {}, `${h.method ?? '—'} ${h.path ?? ''}`), ` → ${h.response_code ?? 'no response'}`,
      h.response_flags.length ? ` (${h.response_flags.join(',')})` : '', h.duration !== null ? ` in ${h.duration} ms` : '', h.start_time ? ` at ${h.start_time}` : ''),
    el('div', { class: 'sides' },
      el('section', { class: 'side', 'aria-label': `Hop ${h.hop} source` }, el('h3', {}, 'Source (caller)'), facts([
        ['Principal', h.source.principal], ['Namespace', h.source.namespace], ['Service account', h.source.service_account],
        ['Workload', h.source.workload], ['Address', h.source.address]])),
      el('section', { class: 'side', 'aria-label': `Hop ${h.hop} destination` }, el('h3', {}, 'Destination (server)'), facts([
        ['Principal', h.destination.principal], ['Namespace', h.destination.namespace], ['Service account', h.destination.service_account],
        ['Workload', h.destination.workload], ['Service', h.destination.service], ['Port', h.destination.port], ['Upstream host', h.destination.upstream_host]])),
      el('section', { class: 'side', 'aria-label': `Hop ${h.hop} TLS` }, el('h3', {}, 'TLS'), facts([
        ['Verdict', mtlsBadge(h.tls.mtls)], ['Evidence', h.tls.mtls_evidence], ['Version', h.tls.tls_version],
        ['Cipher', h.tls.tls_cipher], ['SNI', h.tls.requested_server_name]]))));
}
