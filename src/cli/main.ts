#!/usr/bin/env node
/**
 * The meshtrail command line: the composition root and the only place that exits the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MeshtrailError } from '../errors.js';
import { applyHeapPolicy } from '../util/heap-policy.js';
import { LINE_FORMATS, type LineFormat, type LineParser } from '../pipeline/contracts.js';
import { prepareDemo } from './demo.command.js';
import { generateCommand } from './generate.command.js';
import { ingestCommand, summary } from './ingest.command.js';
import { parseCommand } from './parse.command.js';
import { startRun } from './run.command.js';
import { doctorCommand, loadFormatTemplate, parseDoctorArgs } from './doctor.command.js';
import { registeredParsers } from '../parse/registry.js';
import { loadPolicies } from '../policy/load.js';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { findingsCli, FINDINGS_USAGE } from './findings.command.js';
import { policyCli, POLICY_USAGE } from './policy.command.js';
import { mtlsReportCommand, verifyReportCommand } from './report.command.js';
import { serveCommand, tryUrls } from './serve.command.js';

const USAGE = `usage: meshtrail <command> [options]

commands:
  run    --config meshtrail.yaml                            run the configured sources, the store and the API
  parse  [--format auto|istio-text|istio-json] [FILE|-]     print each line as a normalised flow (JSON)
  doctor [--format-template FILE] [--sample N] [--json] [--snippet labels|text] [FILE|-]
                                                            what identity/TLS facts your log format carries, and the Telemetry snippet that adds the rest
  ingest [--db FILE] [--format ...] FILE|-                  store flows in SQLite; bad lines are quarantined
  serve  [--db FILE] [--listen 127.0.0.1:8080]              serve the API over a database
  demo   [--data DIR] [--listen 127.0.0.1:8080]             ingest bundled sample traffic and serve it
  report mtls --from T --to T [--db FILE] [--namespace NS] [--policies DIR] [--format json|html|md] [--out FILE]
                                                            signed mTLS-enforcement evidence for a time window
  report verify FILE [--public-key FILE]                    check a JSON report's digest and signature
  ${FINDINGS_USAGE}
  ${POLICY_USAGE}
  generate [--out FILE] [--requests N] [--seed N] [--interval-ms MS]   write sample mesh traffic

defaults: --db ./data/meshtrail.db, --format auto, --listen 127.0.0.1:8080`;

const DEFAULT_DB = path.join('data', 'meshtrail.db');

function formatOf(value: string | undefined): LineFormat {
  const f = value ?? 'auto';
  if (!(LINE_FORMATS as readonly string[]).includes(f)) throw new MeshtrailError('ERR_USAGE', `--format must be one of ${LINE_FORMATS.join(', ')}, not ${JSON.stringify(f)}`);
  return f as LineFormat;
}

function args(argv: string[], options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new MeshtrailError('ERR_USAGE', `${(cause as Error).message}\n\n${USAGE}`, { cause });
  }
}

/** Loads --policies DIR for commands that evaluate policies, printing every problem. */
function cliPolicies(dir: unknown): PolicySet | null {
  if (typeof dir !== 'string') return null;
  const { policies, problems } = loadPolicies(dir);
  for (const p of problems) if (p.severity !== 'ignored') console.error(`meshtrail: policy ${p.severity}: ${p.file} document ${p.document}: ${p.path}: ${p.message}`);
  return policies;
}

/** The detection list with a user's accessLogFormat template (or labels map) tried first. */
function templateParsers(file: unknown): LineParser[] | undefined {
  if (typeof file !== 'string') return undefined;
  return [loadFormatTemplate(file), ...registeredParsers()];
}

/** Parses an ISO-8601 time with a zone, or epoch milliseconds. */
function instant(name: string, v: unknown): number {
  if (typeof v !== 'string') throw new MeshtrailError('ERR_USAGE', `${name} is required (ISO-8601 with a zone, e.g. 2026-01-01T00:00:00Z)`);
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : /(Z|[+-]\d{2}:?\d{2})$/.test(v) || /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw new MeshtrailError('ERR_USAGE', `${name} ${JSON.stringify(v)} is not an ISO-8601 time with a zone or epoch milliseconds`);
  return ms;
}

/** Keeps the process alive until SIGINT/SIGTERM, then runs `stop`. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  applyHeapPolicy();
  switch (command) {
    case 'run': {
      const a = args(rest, { config: { type: 'string' } });
      const file = a.values.config as string | undefined;
      if (!file) throw new MeshtrailError('ERR_USAGE', `run needs --config FILE\n\n${USAGE}`);
      const running = await startRun(file);
      if (running.url) console.log(tryUrls(running.url));
      // A run whose sources are all finite (follow: false) ends when they are done.
      await Promise.race([untilSignal(() => running.stop()), running.done.then(() => running.stop())]);
      return 0;
    }
    case 'findings': {
      process.stdout.write(findingsCli(rest, DEFAULT_DB));
      return 0;
    }
    case 'policy': {
      const r = policyCli(rest, DEFAULT_DB);
      for (const p of r.problems) console.error(`meshtrail: policy problem: ${p}`);
      process.stdout.write(r.text);
      return 0;
    }
    case 'doctor': {
      await doctorCommand(parseDoctorArgs(rest));
      return 0;
    }
    case 'parse': {
      const a = args(rest, { format: { type: 'string' }, 'format-template': { type: 'string' } });
      await parseCommand(a.positionals[0], formatOf(a.values.format as string | undefined), process.stdout, templateParsers(a.values['format-template']));
      return 0;
    }
    case 'ingest': {
      const a = args(rest, { db: { type: 'string' }, format: { type: 'string' }, 'format-template': { type: 'string' }, policies: { type: 'string' } });
      if (a.positionals.length !== 1) throw new MeshtrailError('ERR_USAGE', `ingest takes one input (a file or -)\n\n${USAGE}`);
      const db = (a.values.db as string | undefined) ?? DEFAULT_DB;
      const policies = cliPolicies(a.values.policies);
      const stats = await ingestCommand(a.positionals[0], db, formatOf(a.values.format as string | undefined), process.stderr, templateParsers(a.values['format-template']), policies);
      console.log(summary(stats, db));
      return 0;
    }
    case 'serve': {
      const a = args(rest, { db: { type: 'string' }, listen: { type: 'string' } });
      const server = await serveCommand((a.values.db as string | undefined) ?? DEFAULT_DB, (a.values.listen as string | undefined) ?? '127.0.0.1:8080');
      console.log(tryUrls(server.url));
      await untilSignal(async () => {
        await server.close();
        server.db.close();
      });
      return 0;
    }
    case 'demo': {
      const a = args(rest, { data: { type: 'string' }, listen: { type: 'string' } });
      const dataDir = (a.values.data as string | undefined) ?? 'data';
      const dbFile = path.join(dataDir, 'meshtrail.db');
      console.log(await prepareDemo(dataDir, dbFile));
      const server = await serveCommand(dbFile, (a.values.listen as string | undefined) ?? '127.0.0.1:8080');
      console.log(tryUrls(server.url));
      console.log('Press Ctrl-C to stop.');
      await untilSignal(async () => {
        await server.close();
        server.db.close();
      });
      return 0;
    }
    case 'generate': {
      const a = args(rest, { out: { type: 'string' }, requests: { type: 'string' }, seed: { type: 'string' }, 'interval-ms': { type: 'string' } });
      const num = (name: string, v: unknown, dflt: number | undefined) => {
        if (v === undefined) return dflt;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new MeshtrailError('ERR_USAGE', `--${name} must be a non-negative integer`);
        return n;
      };
      const controller = new AbortController();
      process.once('SIGTERM', () => controller.abort());
      process.once('SIGINT', () => controller.abort());
      await generateCommand({
        out: a.values.out as string | undefined,
        requests: num('requests', a.values.requests, 100)!,
        seed: num('seed', a.values.seed, 1)!,
        intervalMs: num('interval-ms', a.values['interval-ms'], undefined),
        signal: controller.signal,
      });
      return 0;
    }
    case 'report': {
      const [sub, ...more] = rest;
      if (sub === 'mtls') {
        const a = args(more, { db: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, namespace: { type: 'string' },
          policies: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, key: { type: 'string' } });
        const format = (a.values.format as string | undefined) ?? 'json';
        if (!['json', 'html', 'md'].includes(format)) throw new MeshtrailError('ERR_USAGE', '--format must be json, html or md');
        const from = instant('--from', a.values.from);
        const to = instant('--to', a.values.to);
        if (from >= to) throw new MeshtrailError('ERR_USAGE', '--from must be before --to');
        const r = mtlsReportCommand({ db: (a.values.db as string | undefined) ?? DEFAULT_DB, from, to, namespace: a.values.namespace as string | undefined,
          policiesDir: a.values.policies as string | undefined, format: format as 'json', keyFile: a.values.key as string | undefined });
        for (const p of r.problems) console.error(`meshtrail: policy problem: ${p}`);
        if (a.values.out) {
          fs.writeFileSync(a.values.out as string, r.text);
          console.error(`wrote ${a.values.out}: ${r.signed.report.totals.requests} server-side requests, ${r.signed.report.totals.plaintext} plaintext; signed by key ${r.signed.signature.key_fingerprint.slice(0, 16)}`);
        } else process.stdout.write(r.text);
        return 0;
      }
      if (sub === 'verify') {
        const a = args(more, { 'public-key': { type: 'string' } });
        if (a.positionals.length !== 1) throw new MeshtrailError('ERR_USAGE', `report verify takes one FILE\n\n${USAGE}`);
        const v = verifyReportCommand(a.positionals[0]!, a.values['public-key'] as string | undefined);
        if (v.ok) { console.log(`OK: signature and digest verify (key fingerprint ${v.key_fingerprint})`); return 0; }
        console.error(`FAILED: ${v.problems.join('; ')}`);
        return 1;
      }
      throw new MeshtrailError('ERR_USAGE', `report needs a subcommand: mtls or verify\n\n${USAGE}`);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new MeshtrailError('ERR_USAGE', `unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof MeshtrailError) {
      console.error(`meshtrail: ${err.message}`);
      process.exitCode = err.code === 'ERR_USAGE' ? 2 : 1;
    } else if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
      process.exitCode = 0;
    } else {
      console.error('meshtrail: unexpected error:', err);
      process.exitCode = 70;
    }
  },
);
