/**
 * The /api/docs page: a self-contained HTML list of the routes and their parameters, rendered
 * from the OpenAPI document on the server. No script and no external asset, so its CSP allows
 * only its own inline style (by hash).
 */
import crypto from 'node:crypto';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = 'body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}code{background:#f3f3f3;padding:0 .2em}'
  + 'h2{font-size:1.05em;margin:1.4em 0 .3em}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}';

/** The page and the Content-Security-Policy that lets it render. */
export function renderDocs(doc: Record<string, unknown>): { html: string; csp: string } {
  const paths = doc.paths as Record<string, Record<string, { summary?: string; parameters?: { name: string; in: string; required: boolean; description?: string }[] }>>;
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const rows = (op.parameters ?? []).map((p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : ''}</td><td>${escapeHtml(p.description ?? '')}</td></tr>`).join('');
      sections.push(`<h2><code>${method.toUpperCase()} ${escapeHtml(path)}</code></h2><p>${escapeHtml(op.summary ?? '')}</p>`
        + (rows ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>meaning</th></tr>${rows}</table>` : ''));
    }
  }
  const info = doc.info as { title: string; version: string };
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title><style>${STYLE}</style></head>`
    + `<body><h1>${escapeHtml(info.title)} ${escapeHtml(info.version)}</h1><p>Machine-readable: <a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a>.</p>`
    + `${sections.join('\n')}</body></html>`;
  const hash = crypto.createHash('sha256').update(STYLE).digest('base64');
  return { html, csp: `default-src 'none'; style-src 'sha256-${hash}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'` };
}
