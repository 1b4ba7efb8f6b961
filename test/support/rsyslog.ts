/**
 * A real rsyslog receiver for sink tests: `rsyslogd -n -f <conf> -i <pidfile>` started as a child
 * process with its own config, listening with imtcp on a free loopback port (plain TCP, or TLS
 * through the OpenSSL stream driver `ossl` with mutual certificate checks), no system sockets
 * (no imuxsock/imklog), `workDirectory` in the test's directory, and every received message
 * written to a file with the template `%rawmsg%\n`, so the test sees the message exactly as the
 * sink framed it (octet-counting framing removed by imtcp).
 *
 * Needs Debian's `rsyslog` and, for TLS, `rsyslog-openssl` (module lmnsd_ossl). Policy as for
 * Kafka ({@link requireRsyslog}): under CI=true a missing rsyslog is a failure; on a developer
 * machine the file is skipped with a loud banner. `stop()` kills the daemon (SIGTERM, then
 * SIGKILL); a process-exit hook kills it too, so a crashed test leaves nothing running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { SkipOrFail } from './kafka-broker.js';

/** TLS material for the receiver (PEM paths). */
export interface RsyslogTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** `x509/certvalid`: clients must present a certificate signed by caFile (default). */
  authMode?: 'anon' | 'x509/certvalid';
}

/** A running (or stopped) receiver; `start()` again reuses the same port and output file. */
export interface Rsyslog {
  readonly port: number;
  /** File the received messages are appended to, one per line. */
  readonly outFile: string;
  /** Received messages so far (complete lines only). */
  messages(): string[];
  /** Starts the daemon and resolves once its port accepts connections. */
  start(): Promise<void>;
  /** Stops the daemon; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** The daemon's stderr tail, for failure messages. */
  stderr(): string;
}

const START_TIMEOUT_MS = 15_000;

/** The rsyslogd binary (not always on a non-root PATH: Debian installs it in /usr/sbin). */
export function rsyslogdPath(): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    const p = path.join(dir, 'rsyslogd');
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function renderConf(dir: string, port: number, outFile: string, tls?: RsyslogTls): string {
  const q = (s: string): string => JSON.stringify(s);
  const globals = [`workDirectory=${q(dir)}`, 'maxMessageSize="64k"'];
  let mod = 'module(load="imtcp")';
  if (tls) {
    globals.push('defaultNetstreamDriver="ossl"', `defaultNetstreamDriverCAFile=${q(tls.caFile)}`,
      `defaultNetstreamDriverCertFile=${q(tls.certFile)}`, `defaultNetstreamDriverKeyFile=${q(tls.keyFile)}`);
    mod = `module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode=${q(tls.authMode ?? 'x509/certvalid')})`;
  }
  return [
    `global(${globals.join(' ')})`,
    mod,
    'template(name="raw" type="string" string="%rawmsg%\\n")',
    // Only what arrives on our input reaches the file: rsyslog's own messages stay out of it.
    `ruleset(name="remote") { action(type="omfile" file=${q(outFile)} template="raw") }`,
    `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="remote")`,
    '',
  ].join('\n');
}

type Availability = { ok: true } | { ok: false; why: string };
const availability = new Map<string, Availability>();

/** Whether rsyslogd (with the ossl TLS driver if `tls`) can run here; validates a config with -N1. */
export function rsyslogAvailable(opts: { tls?: boolean } = {}): Availability {
  const k = opts.tls ? 'tls' : 'tcp';
  const cached = availability.get(k);
  if (cached) return cached;
  let result: Availability;
  const bin = rsyslogdPath();
  if (!bin) {
    result = { ok: false, why: 'rsyslogd not found (apt-get install -y rsyslog)' };
  } else if (opts.tls && !findModule('lmnsd_ossl.so')) {
    result = { ok: false, why: 'rsyslog TLS driver lmnsd_ossl.so missing (apt-get install -y rsyslog-openssl)' };
  } else {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'rsyslog-check-'));
    try {
      fs.writeFileSync(path.join(dir, 'check.conf'), renderConf(dir, 1, path.join(dir, 'out.log')));
      execFileSync(bin, ['-N1', '-f', path.join(dir, 'check.conf')], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
      result = { ok: true };
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      result = { ok: false, why: `rsyslogd -N1 failed: ${e.stderr?.toString().trim() || e.message}` };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  availability.set(k, result);
  return result;
}

function findModule(name: string): boolean {
  for (const dir of ['/usr/lib/rsyslog', '/usr/lib64/rsyslog', ...fs.readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => `/usr/lib/${d}/rsyslog`)]) {
    if (fs.existsSync(path.join(dir, name))) return true;
  }
  return false;
}

/**
 * The project's policy for a missing rsyslog, like `requireKafka`: returns whether the test can
 * go on. CI=true: a test FAILURE. Developer machine: a loud banner on stderr and zero planned
 * tests (the file shows as skipped with the reason). Never silent.
 */
export function requireRsyslog(t: SkipOrFail, opts: { tls?: boolean } = {}): boolean {
  const a = rsyslogAvailable(opts);
  if (a.ok) return true;
  const msg = `rsyslog receiver unavailable: ${a.why}`;
  if (process.env.CI === 'true') {
    t.fail(`${msg} (CI=true: a missing receiver is a failure; install rsyslog rsyslog-openssl openssl)`);
  } else {
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!!! SKIPPING RSYSLOG SINK TESTS\n!!! ${msg}\n!!! Fix: apt-get install -y rsyslog rsyslog-openssl openssl\n${bar}\n\n`);
    t.plan(0, msg);
  }
  return false;
}

/** A free loopback TCP port (bound and released; the daemon takes it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Creates a receiver in `dir` (a fresh test directory) and starts it. */
export async function startRsyslog(dir: string, opts: { tls?: RsyslogTls } = {}): Promise<Rsyslog> {
  const bin = rsyslogdPath();
  if (!bin) throw new Error('rsyslogd not found (apt-get install -y rsyslog)');
  const port = await freePort();
  const work = path.join(dir, 'rsyslog-work');
  fs.mkdirSync(work, { recursive: true });
  const outFile = path.join(dir, 'received.log');
  const conf = path.join(dir, 'rsyslog.conf');
  const pidFile = path.join(dir, 'rsyslog.pid');
  fs.writeFileSync(conf, renderConf(work, port, outFile, opts.tls));

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let tail = '';
  const killOnExit = (): void => { child?.kill('SIGKILL'); };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    child = null;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const hard = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(hard);
    }
    process.removeListener('exit', killOnExit);
  };

  const start = async (): Promise<void> => {
    if (child) return;
    fs.rmSync(pidFile, { force: true });
    const c = spawn(bin, ['-n', '-f', conf, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    process.once('exit', killOnExit);
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    const keep = (d: Buffer): void => { tail = (tail + d.toString()).slice(-4000); };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        await stop();
        throw new Error(`rsyslogd exited during start (code ${c.exitCode}, signal ${c.signalCode}): ${tail.trim()}`);
      }
      if (await canConnect(port)) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`rsyslogd did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms: ${tail.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await start();
  return {
    port,
    outFile,
    messages: () => {
      if (!fs.existsSync(outFile)) return [];
      const text = fs.readFileSync(outFile, 'utf8');
      const lines = text.split('\n');
      lines.pop(); // an unterminated last line is still being written
      return lines;
    },
    start,
    stop,
    stderr: () => tail,
  };
}
