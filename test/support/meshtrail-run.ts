/**
 * Runs `meshtrail run --config FILE` (the built CLI in dist/) as a child process for the Kafka
 * end-to-end tests: writes the YAML config, keeps the child's stderr (its JSON logs), and makes
 * sure no child outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import YAML from 'yaml';
import { cliPath } from '../helpers/cli.js';
import { FAST_KAFKA } from './kafka-source-env.js';

/** Writes a `meshtrail run` config with one Kafka source; returns its path. */
export function writeRunConfig(dir: string, options: { brokers: string[]; topic: string; database: string; api?: boolean; source?: Record<string, unknown> }): string {
  const config = {
    database: options.database,
    api: { enabled: options.api ?? false, listen: '127.0.0.1:0' },
    sources: [{ type: 'kafka', brokers: options.brokers, topics: [options.topic], group_id: `run-${options.topic}`, ...FAST_KAFKA, ...options.source }],
    pipeline: { drain_timeout_ms: 10_000 },
  };
  const file = path.join(dir, `meshtrail-${options.topic}.yaml`);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

/** A running `meshtrail run` child. */
export interface RunProcess {
  child: ChildProcess;
  /** Everything the child wrote to stderr so far (JSON log lines). */
  stderr(): string;
  /** Parsed JSON log lines. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `meshtrail run --config file`; the child is SIGKILLed at teardown if still alive. */
export function startRun(t: { teardown(fn: () => unknown): unknown }, configFile: string, env: Record<string, string> = {}): RunProcess {
  const child = spawn(process.execPath, [cliPath, 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (process.env.KAFKA_TEST_LOG === '1') process.stderr.write(d);
  });
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    stderr: () => err,
    logs: () => err.split('\n').filter((l) => l.startsWith('{')).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    }),
    exited,
    kill: (signal) => child.kill(signal),
  };
}

/** Rows (flows + quarantine) in a meshtrail database, 0 while it does not exist yet. */
export function storedRows(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM quarantine) AS n').get() as { n: number }).n;
  } catch {
    return 0; // not migrated yet
  } finally {
    db.close();
  }
}
