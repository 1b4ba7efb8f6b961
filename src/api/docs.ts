/**
 * The /api/docs page: a self-contained HTML list of the routes, their parameters and the fields
 * of their JSON request bodies, rendered from the OpenAPI document on the server. No script and
 * no external asset, so its CSP allows only its own inline style (by hash).
 */
import crypto from 'node:crypto';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = 'body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}code{background:#f3f3f3;padding:0 .2em}'
  + 'h2{font-size:1.05em;margin:1.4em 0 .3em}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}';

interface JsonSchema { type?: string | string[]; enum?: unknown[]; description?: string; properties?: Record<string, JsonSchema>; required?: string[]; items?: JsonSchema; anyOf?: JsonSchema[] }
interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; required: boolean; description?: string }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

/** A short type for a table cell: `string`, `"a" | "b"`, `array of object`, `string | null`. */
function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' | ');
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  return Array.isArray(s.type) ? s.type.join(' | ') : s.type ?? 'any';
}

/** The JSON body's top-level fields, as the rows of a table. */
function bodyRows(op: Operation): string {
  const schema = op.requestBody?.content['application/json']?.schema;
  if (!schema?.properties) return '';
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, p]) =>
    `<tr><td><code>${escapeHtml(name)}</code></td><td>body (JSON)</td><td>${required.has(name) ? 'yes' : ''}</td><td>${escapeHtml([typeOf(p), p.description].filter(Boolean).join(': '))}</td></tr>`).join('');
}

/** The page and the Content-Security-Policy that lets it render. */
export function renderDocs(doc: Record<string, unknown>): { html: string; csp: string } {
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const rows = (op.parameters ?? []).map((p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : ''}</td><td>${escapeHtml(p.description ?? '')}</td></tr>`).join('')
        + bodyRows(op);
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
