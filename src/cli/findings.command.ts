/**
 * `meshtrail findings [--db FILE] [--status open] [--detector D] [--severity S] [--limit N] [--json]`:
 * prints the stored findings as a readable table (or JSON lines). Values come from logs, so
 * control characters are replaced before they reach the terminal.
 */
import { parseArgs } from 'node:util';
import { FindingsQuerySchema } from '../../schemas/findings-api.js';
import type { Finding } from '../../schemas/finding.js';
import { clean, table } from '../detect/replay.js';
import { MeshtrailError } from '../errors.js';
import { openDatabase } from '../store/db.js';
import { FindingsRepository } from '../store/findings.repository.js';

/** Options of {@link findingsCommand}: filters as given on the command line. */
export interface FindingsCommandOptions {
  db: string;
  status?: string | undefined;
  detector?: string | undefined;
  severity?: string | undefined;
  source_principal?: string | undefined;
  destination_service?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

/** Usage line for the CLI's help text. */
export const FINDINGS_USAGE = 'findings [--db FILE] [--status open|acknowledged|resolved|suppressed] [--detector D] [--severity S] [--from T] [--to T] [--limit N] [--json]';

/** Renders findings as a table (pure). */
export function renderFindings(items: readonly Finding[]): string {
  if (items.length === 0) return 'no findings\n';
  const rows = items.map((f) => [
    f.severity.toUpperCase(), f.status, f.detector, String(f.count), f.last_seen.replace(/\.\d{3}Z$/, 'Z'),
    f.source_principal ?? f.source_workload ?? '-', f.destination_service ?? f.destination ?? f.destination_namespace ?? '-',
    f.destination_port === null ? '-' : String(f.destination_port), f.id.slice(0, 12),
  ]);
  const out = table(['SEVERITY', 'STATUS', 'DETECTOR', 'COUNT', 'LAST SEEN', 'SOURCE', 'DESTINATION', 'PORT', 'ID'], rows);
  return `${out.join('\n')}\n\n${items.map((f) => `${f.id.slice(0, 12)}  ${clean(f.title)}`).join('\n')}\n`;
}

/** Lists findings from the database at `o.db`; returns the text to print. */
export function findingsCommand(o: FindingsCommandOptions): string {
  const raw: Record<string, string> = {};
  for (const k of ['status', 'detector', 'severity', 'source_principal', 'destination_service', 'from', 'to', 'limit'] as const) {
    const v = o[k];
    if (v !== undefined) raw[k] = v;
  }
  const parsed = FindingsQuerySchema.safeParse(raw);
  if (!parsed.success) {
    throw new MeshtrailError('ERR_USAGE', parsed.error.issues.map((i) => `--${i.path.join('.').replace(/_/g, '-')}: ${i.message}`).join('; '));
  }
  const db = openDatabase(o.db);
  try {
    const page = new FindingsRepository(db).list({ ...parsed.data, limit: parsed.data.limit ?? 100 });
    if (o.json) return page.items.map((f) => JSON.stringify(f)).join('\n') + (page.items.length ? '\n' : '');
    return renderFindings(page.items) + (page.next_cursor ? `(more: raise --limit)\n` : '');
  } finally {
    db.close();
  }
}

/** Parses `argv` (after `findings`) and runs {@link findingsCommand}; `defaultDb` when no --db. */
export function findingsCli(argv: string[], defaultDb: string): string {
  let a;
  try {
    a = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        db: { type: 'string' }, status: { type: 'string' }, detector: { type: 'string' }, severity: { type: 'string' },
        'source-principal': { type: 'string' }, 'destination-service': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
        limit: { type: 'string' }, json: { type: 'boolean' },
      },
    });
  } catch (cause) {
    throw new MeshtrailError('ERR_USAGE', `${(cause as Error).message}\nusage: meshtrail ${FINDINGS_USAGE}`, { cause });
  }
  const v = a.values;
  return findingsCommand({
    db: v.db ?? defaultDb, status: v.status, detector: v.detector, severity: v.severity, source_principal: v['source-principal'],
    destination_service: v['destination-service'], from: v.from, to: v.to, limit: v.limit, json: v.json,
  });
}
