#!/usr/bin/env node
/**
 * The meshtrail command line: the composition root and the only place that exits the process.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MeshtrailError } from '../errors.js';
import { LINE_FORMATS, type LineFormat } from '../pipeline/contracts.js';
import { prepareDemo } from './demo.command.js';
import { generateCommand } from './generate.command.js';
import { ingestCommand, summary } from './ingest.command.js';
import { parseCommand } from './parse.command.js';
import { serveCommand, tryUrls } from './serve.command.js';

const USAGE = `usage: meshtrail <command> [options]

commands:
  parse  [--format auto|istio-text|istio-json] [FILE|-]     print each line as a normalised flow (JSON)
  ingest [--db FILE] [--format ...] FILE|-                  store flows in SQLite; bad lines are quarantined
  serve  [--db FILE] [--listen 127.0.0.1:8080]              serve the API over a database
  demo   [--data DIR] [--listen 127.0.0.1:8080]             ingest bundled sample traffic and serve it
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
  switch (command) {
    case 'parse': {
      const a = args(rest, { format: { type: 'string' } });
      await parseCommand(a.positionals[0], formatOf(a.values.format as string | undefined));
      return 0;
    }
    case 'ingest': {
      const a = args(rest, { db: { type: 'string' }, format: { type: 'string' } });
      if (a.positionals.length !== 1) throw new MeshtrailError('ERR_USAGE', `ingest takes one input (a file or -)\n\n${USAGE}`);
      const db = (a.values.db as string | undefined) ?? DEFAULT_DB;
      const stats = await ingestCommand(a.positionals[0], db, formatOf(a.values.format as string | undefined));
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
