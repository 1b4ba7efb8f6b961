/**
 * `meshtrail policy replay --policies DIR [--from T] [--to T] [--db FILE] [--json]`: evaluates the
 * stored flows against a candidate policy directory and prints what it would deny that was
 * allowed, and allow that was denied. Policy problems are returned for the caller to print.
 */
import { parseArgs } from 'node:util';
import { InstantSchema } from '../../schemas/api.js';
import { renderReplay, replayPolicies, type ReplayReport } from '../detect/replay.js';
import { MeshtrailError } from '../errors.js';
import { loadPolicies } from '../policy/load.js';
import { openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';

/** Options of {@link policyReplayCommand}. */
export interface PolicyReplayOptions {
  db: string;
  policiesDir: string;
  from?: number | undefined;
  to?: number | undefined;
  json?: boolean | undefined;
}

/** Usage line for the CLI's help text. */
export const POLICY_USAGE = 'policy replay --policies DIR [--from T] [--to T] [--db FILE] [--json]';

/** Runs the replay; returns the text to print, the report and the policy problems (errors and warnings). */
export function policyReplayCommand(o: PolicyReplayOptions): { text: string; report: ReplayReport; problems: string[] } {
  const loaded = loadPolicies(o.policiesDir);
  const problems = loaded.problems.filter((p) => p.severity !== 'ignored').map((p) => `${p.severity}: ${p.file} document ${p.document}${p.path ? ` ${p.path}` : ''}: ${p.message}`);
  const db = openDatabase(o.db);
  try {
    const report = replayPolicies(new Store(db), loaded.policies, { from: o.from, to: o.to });
    return { text: o.json ? `${JSON.stringify(report, null, 2)}\n` : renderReplay(report), report, problems };
  } finally {
    db.close();
  }
}

/** Parses `argv` (after `policy`) and runs the subcommand; `defaultDb` when no --db. */
export function policyCli(argv: string[], defaultDb: string): { text: string; problems: string[] } {
  const [sub, ...rest] = argv;
  if (sub !== 'replay') throw new MeshtrailError('ERR_USAGE', `policy needs a subcommand: replay\nusage: meshtrail ${POLICY_USAGE}`);
  let a;
  try {
    a = parseArgs({ args: rest, strict: true, allowPositionals: false, options: { db: { type: 'string' }, policies: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (cause) {
    throw new MeshtrailError('ERR_USAGE', `${(cause as Error).message}\nusage: meshtrail ${POLICY_USAGE}`, { cause });
  }
  const v = a.values;
  if (!v.policies) throw new MeshtrailError('ERR_USAGE', `policy replay needs --policies DIR\nusage: meshtrail ${POLICY_USAGE}`);
  const time = (name: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    const r = InstantSchema.safeParse(s);
    if (!r.success) throw new MeshtrailError('ERR_USAGE', `--${name} ${JSON.stringify(s)} is not an ISO-8601 time with a zone or epoch milliseconds`);
    return r.data;
  };
  const from = time('from', v.from);
  const to = time('to', v.to);
  if (from !== undefined && to !== undefined && from > to) throw new MeshtrailError('ERR_USAGE', '--from must not be after --to');
  const r = policyReplayCommand({ db: v.db ?? defaultDb, policiesDir: v.policies, from, to, json: v.json });
  return { text: r.text, problems: r.problems };
}
