/**
 * Fault drill: the database file is corrupt or unreadable when meshtrail starts. `meshtrail
 * ingest` and `meshtrail run` (the built CLI, as an operator runs it) must refuse to start with
 * a message naming the file and the problem, exit non-zero, and leave the file byte-identical
 * with no journal, WAL or shared-memory file created beside it.
 *
 * Cases: random bytes; a meshtrail database truncated to half, and by its last page only; a
 * text file; a directory given as the database; and, run as an unprivileged user (the test runs
 * as root here, whose permission bits are not enforced, so the CLI is spawned as uid/gid 65534
 * when the test is root), a database without read permission and a read-only one.
 */
import crypto from 'node:crypto';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { cliPath, root } from '../helpers/cli.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';

// A directory an unprivileged user can traverse (tap's fixtures may sit under a private path).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshtrail-fault-startup-'));
fs.chmodSync(dir, 0o755);
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const input = path.join(dir, 'access.log');
fs.writeFileSync(input, `${generateMeshTraffic({ requests: 300, seed: 41 }).join('\n')}\n`);
fs.chmodSync(input, 0o644);

const isRoot = process.getuid?.() === 0;

/**
 * The CLI as the unprivileged user can reach it. A checkout under a private directory (e.g. one
 * made by `mktemp -d`, mode 0700) is closed to uid 65534 whatever its own modes; then the built
 * CLI and what it loads are linked (or copied) into the traversable `dir`.
 */
function userCliPath(): string {
  if (!isRoot) return cliPath;
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(cliPath)}, require('fs').constants.R_OK)`], { uid: 65534, gid: 65534, env: {} });
  if (probe.status === 0) return cliPath;
  const app = path.join(dir, 'app');
  fs.mkdirSync(app, { mode: 0o755 });
  for (const entry of ['package.json', 'dist', 'migrations', 'node_modules']) {
    const linked = spawnSync('cp', ['-al', path.join(root, entry), app]);
    if (linked.status !== 0) spawnSync('cp', ['-r', path.join(root, entry), app]);
  }
  spawnSync('chmod', ['-R', 'a+rX', app]);
  return path.join(app, path.relative(root, cliPath));
}
const cliForUser = userCliPath();

function cli(args: string[], asUser = false): SpawnSyncReturns<string> {
  // tap's process-info hook (added to every node child through NODE_OPTIONS) writes under the
  // repo, which the unprivileged user may not: `env -u` drops it at exec time.
  const [cmd, argv] = asUser && isRoot
    ? ['/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, cliForUser, ...args]]
    : [process.execPath, [cliPath, ...args]];
  return spawnSync(cmd, argv, {
    cwd: asUser ? dir : root, encoding: 'utf8', timeout: 60_000,
    ...(asUser && isRoot ? { uid: 65534, gid: 65534 } : {}),
  });
}

/** A valid meshtrail database (checkpointed, so the file alone holds it). */
function goodDatabase(name: string): string {
  const file = path.join(dir, name);
  const r = cli(['ingest', '--db', file, input]);
  if (r.status !== 0) throw new Error(`setup ingest failed: ${r.stderr}`);
  for (const ext of ['-wal', '-shm']) fs.rmSync(`${file}${ext}`, { force: true });
  return file;
}

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const siblings = (file: string) => fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith(`${path.basename(file)}-`)).sort();

function runConfig(database: string): string {
  const file = path.join(dir, `run-${path.basename(database)}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ database, api: { enabled: false }, sources: [{ type: 'file', path: input, follow: false }] }));
  fs.chmodSync(file, 0o644);
  return file;
}

interface Case { name: string; make: () => string; message: RegExp; asUser?: boolean }

const cases: Case[] = [
  {
    name: 'random bytes',
    make: () => {
      const f = path.join(dir, 'random.db');
      fs.writeFileSync(f, crypto.randomBytes(64 * 1024));
      return f;
    },
    message: /not a usable SQLite database \(file is not a database\); refusing to touch it/,
  },
  {
    name: 'a text file (a config passed as --db)',
    make: () => {
      const f = path.join(dir, 'oops.yaml');
      fs.writeFileSync(f, 'database: ./data/meshtrail.db\nsources: []\n'.repeat(200));
      return f;
    },
    message: /not a usable SQLite database/,
  },
  {
    name: 'a meshtrail database truncated to half',
    make: () => {
      const f = goodDatabase('half.db');
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
      return f;
    },
    message: /not a usable SQLite database \(database disk image is malformed\)/,
  },
  {
    name: 'a meshtrail database missing its last page',
    make: () => {
      const f = goodDatabase('lastpage.db');
      fs.truncateSync(f, fs.statSync(f).size - 4096);
      return f;
    },
    message: /not a usable SQLite database \(database disk image is malformed\)/,
  },
  {
    name: 'a directory',
    make: () => {
      const d = path.join(dir, 'adir.db');
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'keep'), 'x');
      return d;
    },
    message: /database cannot be opened: .*adir\.db: unable to open database file/,
  },
  {
    name: 'no read permission (as an unprivileged user)',
    make: () => {
      const f = goodDatabase('noread.db');
      fs.chmodSync(f, 0o000);
      return f;
    },
    message: /database cannot be opened: .*noread\.db: unable to open database file/,
    asUser: true,
  },
  {
    name: 'read-only (as an unprivileged user)',
    make: () => {
      const f = goodDatabase('readonly.db');
      fs.chmodSync(f, 0o444);
      return f;
    },
    message: /database cannot be opened: .*readonly\.db: attempt to write a readonly database/,
    asUser: true,
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const target = c.make();
    const isDir = fs.statSync(target).isDirectory();
    const digest = isDir ? JSON.stringify(fs.readdirSync(target)) : sha(target);
    const before = siblings(target);
    for (const [what, args] of [['ingest', ['ingest', '--db', target, input]], ['run', ['run', '--config', runConfig(target)]]] as const) {
      const r = cli([...args], c.asUser);
      t.not(r.status, 0, `${what}: refuses to start (exit ${r.status})`);
      t.notOk(r.signal, `${what}: exits by itself`);
      t.match(r.stderr, c.message, `${what}: says why: ${r.stderr.trim().split('\n')[0]}`);
      t.match(r.stderr, /^meshtrail: /m, `${what}: one plain message, no stack trace`);
      t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
      t.equal(isDir ? JSON.stringify(fs.readdirSync(target)) : sha(target), digest, `${what}: the file is byte-identical`);
      t.same(siblings(target), before, `${what}: no -wal/-shm/-journal created beside it`);
    }
  });
}

t.test('control: the same commands work on a healthy database', async (t) => {
  const f = goodDatabase('healthy.db');
  const r = cli(['ingest', '--db', f, input]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /already stored: \d+/);
  if (isRoot) {
    fs.chmodSync(f, 0o666);
    fs.chmodSync(dir, 0o777);
    const u = cli(['ingest', '--db', f, input], true);
    t.equal(u.status, 0, `the unprivileged user can use a database it may write: ${u.stderr}`);
    fs.chmodSync(dir, 0o755);
  }
});
