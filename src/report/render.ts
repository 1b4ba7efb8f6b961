/**
 * Renders a signed mTLS report as a self-contained HTML page (inline CSS, no external assets,
 * printable) or as Markdown. The signature block is shown so a printed copy can be matched to
 * its JSON.
 */
import type { SignedMtlsReport } from '../../schemas/report.js';

const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);
const mdCell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const kv = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k}: ${v}`).join('; ') || '–';

export function renderHtml({ report: r, signature: s }: SignedMtlsReport): string {
  const rows = r.destinations.map((d) => `<tr class="${d.status}"><td>${esc(d.namespace ?? '?')}</td><td>${esc(d.workload)}</td><td>${esc(d.port ?? '?')}</td>
<td class="n">${d.requests}</td><td class="n">${d.mtls_verified} <small>${pct(d.mtls_verified, d.requests)}</small></td><td class="n">${d.plaintext}</td>
<td class="n">${d.unknown}</td><td>${esc(d.effective_mode)}${d.mode_source ? `<br><small>${esc(d.mode_source)}</small>` : ''}</td><td>${esc(d.status.replace(/_/g, ' '))}</td>
<td><small>${esc(d.plaintext_callers.map((c) => `${c.caller} (${c.requests})`).join(', ') || '–')}</small></td><td><small>${esc(kv(d.tls_versions))}</small></td>
<td><small>${esc(kv(d.unknown_reasons))}</small></td></tr>`).join('\n');
  const ns = r.namespaces.map((n) => `<tr><td>${esc(n.namespace)}</td><td>${esc(n.mode)}</td><td class="n">${n.requests}</td><td class="n">${n.plaintext}</td><td>${esc(n.readiness)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mTLS enforcement evidence ${esc(r.window.from)} – ${esc(r.window.to)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111;margin:2rem;max-width:1400px}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #bbb;padding:.3rem .45rem;vertical-align:top;text-align:left}
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}small{color:#444}
tr.violation td{background:#fde2e1}tr.plaintext_seen td{background:#fff1d6}tr.enforced td{background:#e3f5e6}
.sig{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all;background:#f6f6f6;padding:.6rem}
@media print{body{margin:0;font-size:11px}h2{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>mTLS enforcement evidence</h1>
<p>Window <b>${esc(r.window.from)}</b> to <b>${esc(r.window.to)}</b>${r.namespace ? `, namespace <b>${esc(r.namespace)}</b>` : ''}. Generated ${esc(r.generated_at)} by meshtrail.</p>
<p>Requests observed on the server side: <b>${r.totals.requests}</b>; with a verified peer identity: <b>${r.totals.mtls_verified}</b> (${pct(r.totals.mtls_verified, r.totals.requests)});
plaintext: <b>${r.totals.plaintext}</b>; unknown: <b>${r.totals.unknown}</b>; destinations: ${r.totals.destinations}.</p>
<h2>Controls supported</h2><ul>${r.controls.map((c) => `<li><b>${esc(c.id)}</b> – ${esc(c.title)}</li>`).join('')}</ul>
<h2>Policy set</h2><p>${r.policy.sha256 ? `SHA-256 <code>${esc(r.policy.sha256)}</code> (${r.policy.resources} resources). ` : ''}${esc(r.policy.note)}.</p>
<h2>Namespaces</h2><table><thead><tr><th>Namespace</th><th>Mode</th><th>Requests</th><th>Plaintext</th><th>Readiness / status</th></tr></thead><tbody>${ns || '<tr><td colspan="5">none</td></tr>'}</tbody></table>
<h2>Destinations</h2><table><thead><tr><th>Namespace</th><th>Workload</th><th>Port</th><th>Requests</th><th>mTLS verified</th><th>Plaintext</th><th>Unknown</th><th>Effective mode</th><th>Status</th><th>Plaintext callers</th><th>TLS versions</th><th>Why unknown</th></tr></thead>
<tbody>${rows || '<tr><td colspan="12">no server-side flows in the window</td></tr>'}</tbody></table>
<h2>Coverage</h2><p>${esc(r.coverage.statement)}</p><p>Destinations with server-side evidence: ${r.coverage.destinations_with_server_side_evidence}.
${r.coverage.destinations_seen_only_from_clients.length ? `Seen only from clients (unproven): ${esc(r.coverage.destinations_seen_only_from_clients.join(', '))}.` : ''}</p>
<h2>Caveats</h2><ul>${r.caveats.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>
<h2>Signature</h2><div class="sig">Ed25519 over the canonical JSON of the report<br>SHA-256 ${esc(s.sha256)}<br>key fingerprint ${esc(s.key_fingerprint)}<br>signature ${esc(s.value)}</div>
<p><small>Verify the JSON form with <code>meshtrail report verify FILE --public-key KEY</code>.</small></p>
</body></html>
`;
}

export function renderMarkdown({ report: r, signature: s }: SignedMtlsReport): string {
  const lines = [
    `# mTLS enforcement evidence`,
    '',
    `Window ${r.window.from} to ${r.window.to}${r.namespace ? `, namespace ${r.namespace}` : ''}. Generated ${r.generated_at}.`,
    '',
    `Server-side requests: ${r.totals.requests}; mTLS verified: ${r.totals.mtls_verified} (${pct(r.totals.mtls_verified, r.totals.requests)}); plaintext: ${r.totals.plaintext}; unknown: ${r.totals.unknown}.`,
    '',
    '## Controls', '', ...r.controls.map((c) => `- **${c.id}**: ${c.title}`), '',
    '## Policy set', '', r.policy.sha256 ? `SHA-256 \`${r.policy.sha256}\` (${r.policy.resources} resources). ${r.policy.note}.` : `${r.policy.note}.`, '',
    '## Namespaces', '', '| namespace | mode | requests | plaintext | readiness |', '|---|---|---:|---:|---|',
    ...r.namespaces.map((n) => `| ${mdCell(n.namespace)} | ${mdCell(n.mode)} | ${n.requests} | ${n.plaintext} | ${mdCell(n.readiness)} |`), '',
    '## Destinations', '', '| namespace | workload | port | requests | mTLS verified | plaintext | unknown | mode | status | plaintext callers |', '|---|---|---:|---:|---:|---:|---:|---|---|---|',
    ...r.destinations.map((d) => `| ${mdCell(d.namespace ?? '?')} | ${mdCell(d.workload)} | ${d.port ?? '?'} | ${d.requests} | ${d.mtls_verified} | ${d.plaintext} | ${d.unknown} | ${mdCell(d.effective_mode)} | ${d.status} | ${mdCell(d.plaintext_callers.map((c) => `${c.caller} (${c.requests})`).join(', '))} |`), '',
    '## Coverage', '', r.coverage.statement, '', r.coverage.destinations_seen_only_from_clients.length ? `Seen only from clients (unproven): ${r.coverage.destinations_seen_only_from_clients.join(', ')}` : '', '',
    '## Caveats', '', ...r.caveats.map((c) => `- ${c}`), '',
    '## Signature', '', `Ed25519, SHA-256 \`${s.sha256}\`, key fingerprint \`${s.key_fingerprint}\``, '', `\`${s.value}\``, '',
  ];
  return lines.join('\n');
}
