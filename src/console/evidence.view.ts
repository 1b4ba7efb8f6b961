/// <reference lib="dom" />
/**
 * The mTLS evidence report of a window: the signed JSON from /api/v1/reports/mtls rendered as
 * a printable page (totals, destinations, namespaces, coverage, caveats, signature), with the
 * exact signed bytes offered as a download so an auditor can verify the signature offline.
 */
import type { SignedMtlsReport } from '../../schemas/report.js';
import { apiUrl, getText, messageOf } from './api.client.js';
import { download, el, facts, field, replace, show } from './dom.js';
import { announce, defaultRange, errorBox, hashLink, type ViewContext } from './view.js';

/** The Evidence view. */
export async function evidenceView(ctx: ViewContext): Promise<void> {
  const range = defaultRange();
  const q = { from: ctx.params.get('from') ?? range.from, to: ctx.params.get('to') ?? range.to, namespace: ctx.params.get('namespace') ?? '' };
  const from = el('input', { id: 'e-from', name: 'from', value: q.from, autocomplete: 'off', spellcheck: 'false' });
  const to = el('input', { id: 'e-to', name: 'to', value: q.to, autocomplete: 'off', spellcheck: 'false' });
  const ns = el('input', { id: 'e-namespace', name: 'namespace', value: q.namespace, autocomplete: 'off', spellcheck: 'false' });
  const form = el('form', { class: 'filters no-print', 'aria-label': 'Report window' },
    field('From', from, 'ISO-8601 with a zone, or epoch ms'), field('To', to), field('Namespace', ns, 'Optional: only destinations in it'),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Build report')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = hashLink('evidence', { from: from.value.trim(), to: to.value.trim(), namespace: ns.value.trim() });
  });
  const out = el('div', { class: 'report' });
  replace(ctx.root, el('h1', { tabindex: '-1' }, 'mTLS evidence'), form, out);

  announce('Building the report…');
  const url = apiUrl('reports/mtls', { from: q.from, to: q.to, namespace: q.namespace, format: 'json' });
  let raw: string;
  let signed: SignedMtlsReport;
  try {
    raw = await getText(url);
    signed = JSON.parse(raw) as SignedMtlsReport;
  } catch (err) {
    replace(out, errorBox(messageOf(err)));
    announce(messageOf(err), 'error');
    return;
  }
  const r = signed.report;
  const stamp = `${r.window.from}_${r.window.to}`.replace(/[^0-9A-Za-z_-]/g, '');
  const print = el('button', { type: 'button', class: 'secondary' }, 'Print');
  print.addEventListener('click', () => window.print());
  const save = el('button', { type: 'button', 'data-download': 'signed-json' }, 'Download signed JSON');
  // The bytes the server signed, untouched: re-serialising could reorder nothing that matters, but the raw text is the evidence.
  save.addEventListener('click', () => download(new Blob([raw], { type: 'application/json' }), `mtls-report-${stamp}.json`));

  const total = (key: keyof typeof r.totals, label: string) =>
    el('div', { class: `total total-${key}`, 'data-total': key }, el('span', { class: 'total-value' }, r.totals[key]), el('span', { class: 'total-label' }, label));
  const destRows = r.destinations.map((d) => el('tr', { 'data-status': d.status },
    el('td', {}, show(d.namespace)), el('td', { class: 'wrap' }, d.workload), el('td', {}, show(d.port)),
    el('td', { class: 'num' }, d.requests), el('td', { class: 'num' }, d.mtls_verified), el('td', { class: 'num' }, d.plaintext), el('td', { class: 'num' }, d.unknown),
    el('td', {}, d.effective_mode), el('td', {}, el('span', { class: `badge status-${d.status}` }, d.status.replace(/_/g, ' '))),
    el('td', { class: 'wrap' }, d.plaintext_callers.map((c) => `${c.caller} (${c.requests})`).join(', ') || '—')));
  replace(out,
    el('div', { class: 'toolbar no-print' }, el('div', {}, print, save)),
    facts([['Window', `${r.window.from} – ${r.window.to}`], ['Namespace', r.namespace ?? 'all'], ['Generated', r.generated_at],
      ['Policy', `${r.policy.resources} resources${r.policy.sha256 ? `, sha256 ${r.policy.sha256}` : ''}: ${r.policy.note}`]]),
    el('div', { class: 'totals', role: 'group', 'aria-label': 'Totals' },
      total('requests', 'requests'), total('mtls_verified', 'mTLS verified'), total('plaintext', 'plaintext'), total('unknown', 'unknown'), total('destinations', 'destinations')),
    el('h2', {}, 'Destinations'),
    el('div', { class: 'table-wrap' }, el('table', { class: 'data' },
      el('caption', {}, 'Per destination: requests by verdict and the PeerAuthentication mode in force'),
      el('thead', {}, el('tr', {}, ...['Namespace', 'Workload', 'Port', 'Requests', 'Verified', 'Plaintext', 'Unknown', 'Mode', 'Status', 'Plaintext callers'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...destRows))),
    r.namespaces.length ? el('h2', {}, 'Namespaces') : null,
    r.namespaces.length ? el('div', { class: 'table-wrap' }, el('table', { class: 'data' },
      el('thead', {}, el('tr', {}, ...['Namespace', 'Mode', 'Requests', 'Plaintext', 'STRICT readiness'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...r.namespaces.map((n) => el('tr', {}, el('td', {}, n.namespace), el('td', {}, n.mode), el('td', { class: 'num' }, n.requests), el('td', { class: 'num' }, n.plaintext), el('td', { class: 'wrap' }, n.readiness)))))) : null,
    el('h2', {}, 'Coverage'),
    el('p', {}, r.coverage.statement),
    r.coverage.destinations_seen_only_from_clients.length
      ? el('p', {}, 'Seen only from clients: ', r.coverage.destinations_seen_only_from_clients.join(', ')) : null,
    el('h2', {}, 'Caveats'),
    el('ul', {}, ...r.caveats.map((c) => el('li', {}, c))),
    el('h2', {}, 'Signature'),
    facts([['Algorithm', signed.signature.algorithm], ['Report SHA-256', signed.signature.sha256], ['Key fingerprint', signed.signature.key_fingerprint]]));
  announce(`Report: ${r.totals.requests} requests, ${r.totals.plaintext} plaintext, ${r.totals.unknown} unknown.`);
}
