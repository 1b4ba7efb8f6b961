/**
 * Soak: `meshtrail run` (the built CLI, a black box) ingests a backlog of generated access-log
 * lines from Kafka while a client queries its API, and the process is watched from outside.
 *
 *   npm run soak                                   # 10M lines (long)
 *   node dist/bench/soak.js --lines 500000 --out /tmp/soak.json
 *
 * What it checks at the end: stored flows + quarantined = produced lines and every partition's
 * stored position = its message count (nothing lost, nothing doubled; rows are unique per
 * position); lag 0; every API answer 2xx; peak RSS (VmHWM) under the bound (300 MB); open fds at
 * the end within a small slack of the start and one listening socket throughout (no fd or
 * listener leak); a clean SIGTERM exit. It writes JSON and prints a table; exit 1 when a check
 * failed.
 *
 * The backlog is rolling, not whole. librdkafka's mock broker keeps only ~5 MiB per partition
 * and drops the oldest batches beyond that (test/support/kafka-broker.ts), so 10M lines (~5 GB)
 * cannot sit in it at once. The producer (bench/soak-producer.ts, a child process) is held to
 * `--ahead` messages past the stored positions, and per partition to what fits in 3 MiB; the
 * service therefore always has a deep backlog to drain (hundreds of thousands of messages) but
 * never the whole corpus. One line per message; message i goes to partition i % P.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { mockBrokerBinary, startMockBroker, type MockBroker } from './kafka.js';
import { procSample, type ProcSample } from './proc-stats.js';
import type { ProducerArgs, ProducerReport } from './soak-producer.js';
import { QueryLoad, type RouteSummary } from './soak-queries.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/ (this file is dist/bench/soak.js). */
const distRoot = path.resolve(here, '..');
const repoRoot = path.resolve(distRoot, '..');
const MiB = 2 ** 20;
const MB = 1e6;
const TOPIC = 'soak';

export interface SoakOptions {
  lines: number;
  out: string;
  partitions: number;
  /** Most messages produced past the stored positions. */
  ahead: number;
  /** API requests per second, at most (one client, one request at a time). */
  qps: number;
  sampleMs: number;
  seed: number;
  /** Fail when the stored positions do not move for this long while lag > 0. */
  stallMs: number;
  rssBoundMb: number;
  fdSlack: number;
  /** Keep the work directory (database, config, service log). */
  keep: boolean;
  dir: string | null;
  /** Extra keys of the Kafka source's config (e.g. max_bytes_per_partition), merged over the soak's. */
  source: Record<string, unknown>;
  /** Extra top-level keys of the service's config (e.g. database_cache_mib), merged over the soak's. */
  config: Record<string, unknown>;
}

const DEFAULTS: SoakOptions = {
  lines: 10_000_000, out: path.join(repoRoot, 'bench/.cache/soak-results.json'), partitions: 128, ahead: 500_000, qps: 10, sampleMs: 1000,
  seed: 1, stallMs: 120_000, rssBoundMb: 300, fdSlack: 16, keep: false, dir: null, source: {}, config: {},
};

/** One point of the timeline. */
interface Sample extends ProcSample { t: number; produced: number; stored: number; lag: number; requests: number; non2xx: number }

interface Check { ok: boolean; detail: string }

export interface SoakResult {
  options: SoakOptions;
  startedAt: string;
  machine: { node: string; cpus: number; cpuModel: string; totalMemMiB: number };
  seconds: { total: number; ingest: number; groupJoin: number };
  produced: { lines: number; bytes: number; avgBytes: number };
  stored: { flows: number; quarantined: number; positions: number; partitionsAtEnd: number };
  ratePerSecond: number;
  backlog: { capPerPartition: number; maxLag: number; meanLag: number };
  memory: { peakRssMb: number; hwmMb: number; rssAtProgressMb: Record<string, number>; mockBrokerHwmMb: number | null; atLargestScrapeMb: Record<string, number> | null };
  fds: { beforeIngest: number; start: number; end: number; idle: number; max: number; socketsStart: number; socketsEnd: number };
  listening: { start: number; end: number; min: number; max: number };
  threads: { start: number; end: number };
  metrics: Record<string, number>;
  api: { requests: number; non2xx: number; routes: Record<string, RouteSummary> };
  exit: string;
  /** Error-level lines in the service's log (information, not a check: e.g. a retried store write). */
  errorLogs: number;
  checks: Record<string, Check>;
  ok: boolean;
  timeline: Sample[];
}

function parseArgs(argv: string[]): SoakOptions {
  const o = { ...DEFAULTS };
  const num = (i: number, name: string): number => {
    const v = Number(argv[i]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number, got ${JSON.stringify(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--lines') o.lines = Math.floor(num(++i, a));
    else if (a === '--out') o.out = path.resolve(argv[++i] ?? '');
    else if (a === '--partitions') o.partitions = Math.floor(num(++i, a));
    else if (a === '--ahead') o.ahead = Math.floor(num(++i, a));
    else if (a === '--qps') o.qps = num(++i, a);
    else if (a === '--sample-ms') o.sampleMs = num(++i, a);
    else if (a === '--seed') o.seed = Math.floor(num(++i, a));
    else if (a === '--stall-s') o.stallMs = num(++i, a) * 1000;
    else if (a === '--rss-bound-mb') o.rssBoundMb = num(++i, a);
    else if (a === '--fd-slack') o.fdSlack = Math.floor(num(++i, a));
    else if (a === '--dir') o.dir = path.resolve(argv[++i] ?? '');
    else if (a === '--keep') o.keep = true;
    else if (a === '--source') o.source = JSON.parse(argv[++i] ?? '{}') as Record<string, unknown>;
    else if (a === '--config') o.config = JSON.parse(argv[++i] ?? '{}') as Record<string, unknown>;
    else throw new Error(`unknown argument ${a}; usage: soak.js [--lines N] [--out FILE] [--partitions P] [--ahead N] [--qps Q] [--source JSON] [--config JSON] [--keep] [--dir DIR]`);
  }
  return o;
}

/** The stored position (next offset) of every partition of the topic; 0 where none is stored yet. */
function storedPositions(db: Database.Database, partitions: number): number[] {
  const pos = new Array<number>(partitions).fill(0);
  for (const r of db.prepare('SELECT key, position FROM sources WHERE key LIKE ?').all(`kafka:${TOPIC}/%`) as { key: string; position: number | null }[]) {
    const p = Number(r.key.slice(r.key.lastIndexOf('/') + 1));
    if (p >= 0 && p < partitions) pos[p] = r.position ?? 0;
  }
  return pos;
}

/** Messages of partition p when `total` messages went round-robin over `partitions`. */
const messagesOf = (total: number, partitions: number, p: number): number => (total > p ? Math.floor((total - p - 1) / partitions) + 1 : 0);

/** The pid of our child running `exe` (the mock broker, whose handle bench/kafka.ts keeps private). */
function childPidOf(exe: string): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && fs.readlinkSync(`/proc/${entry}/exe`) === fs.realpathSync(exe)) return Number(entry);
    } catch {
      // gone or not ours
    }
  }
  return null;
}

/** Sums the samples of a Prometheus metric family in an exposition text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

/** The `meshtrail run` child: its API URL (from its "API listening." log line) and exit. */
interface Service {
  child: ChildProcess;
  url: Promise<string>;
  exited: Promise<string>;
  logTail: () => string;
  /** Node's process warnings (MaxListenersExceededWarning is the listener-leak signal) and error-level log lines. */
  warnings: string[];
  errorLogs: () => number;
}

function startService(configFile: string, logFile: string): Service {
  const cli = path.join(distRoot, 'src/cli/main.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  // The service runs as an operator runs it: without NODE_OPTIONS inherited from whatever started
  // the soak (a test runner's loader and hooks would be measured as the service's memory).
  const { NODE_OPTIONS: _inherited, ...env } = process.env;
  const child = spawn(process.execPath, [cli, 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  const log = fs.createWriteStream(logFile);
  let tail = '';
  const warnings: string[] = [];
  let errorLogs = 0;
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const url = new Promise<string>((res, rej) => { resolveUrl = res; rejectUrl = rej; });
  url.catch(() => {});
  child.stdout!.pipe(log, { end: false });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.write(`${line}\n`);
    tail = (tail + line + '\n').slice(-4000);
    if (/^\(node:\d+\) \w*Warning/.test(line) && warnings.length < 20) warnings.push(line);
    // pino: level 50 is error, 60 fatal.
    if (/^\{"level":(5|6)0,/.test(line)) errorLogs++;
    if (line.includes('API listening.')) {
      try {
        resolveUrl(String((JSON.parse(line) as { url: string }).url));
      } catch {
        // not the JSON line we look for
      }
    }
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => {
    log.end();
    rejectUrl(new Error(`meshtrail run exited (${code ?? signal}) before its API listened: ${tail}`));
    resolve(String(code ?? signal));
  }));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  void exited.then(() => process.removeListener('exit', kill));
  return { child, url, exited, logTail: () => tail, warnings, errorLogs: () => errorLogs };
}

function writeConfig(dir: string, brokers: string[], database: string, source: Record<string, unknown>, extra: Record<string, unknown>): string {
  const config = {
    database,
    // A soak client must not be throttled by the per-address limit meant for untrusted callers.
    api: { listen: '127.0.0.1:0', rate_limit: { requests_per_second: 10_000, burst: 10_000 } },
    sources: [{
      type: 'kafka', brokers, topics: [TOPIC], group_id: 'soak', from_beginning: true,
      // Shorter than the defaults so the mock's group join (held for session timeout - 1 s) is
      // short, long enough that a busy 2-core machine does not miss heartbeats.
      session_timeout_ms: 6000, rebalance_timeout_ms: 6000, heartbeat_interval_ms: 500, connection_timeout_ms: 1000,
      ...source,
    }],
    pipeline: { drain_timeout_ms: 30_000 },
    // The corpus is dated January 2026 (bench/corpus.ts): retention would delete it as it arrives
    // and the stored rows could not be compared with the produced lines.
    retention: { enabled: false },
    ...extra,
  };
  const file = path.join(dir, 'meshtrail-soak.yaml');
  // JSON is YAML.
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const until = async (cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

export async function runSoak(options: Partial<SoakOptions> = {}, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<SoakResult> {
  const o: SoakOptions = { ...DEFAULTS, ...options };
  const started = performance.now();
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'meshtrail-soak-'));
  fs.mkdirSync(dir, { recursive: true });
  const database = path.join(dir, 'soak.db');
  const bin = mockBrokerBinary(repoRoot, path.join(repoRoot, 'bench/.cache'));
  if (!('path' in bin)) throw new Error(`Kafka mock broker unavailable: ${bin.why}`);
  const broker: MockBroker = await startMockBroker(bin.path);
  const brokerPid = childPidOf(bin.path);
  let service: Service | null = null;
  let producer: ChildProcess | null = null;
  let queries: QueryLoad | null = null;
  let sampler: NodeJS.Timeout | null = null;
  let memorySampler: NodeJS.Timeout | null = null;
  let db: Database.Database | null = null;
  try {
    await broker.createTopic(TOPIC, o.partitions);
    service = startService(writeConfig(dir, broker.bootstrap, database, o.source, o.config), path.join(dir, 'meshtrail.log'));
    const svc = service;
    const url = await Promise.race([svc.url, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no API URL in 60 s: ${svc.logTail()}`)), 60_000).unref())]);
    const pid = svc.child.pid!;
    const baseline = procSample(pid);
    log(`soak: meshtrail run pid ${pid}, API ${url}, ${o.lines} lines over ${o.partitions} partitions, work dir ${dir}`);

    db = new Database(database, { readonly: true, fileMustExist: true });
    const live = db;
    const positions = (): number[] => storedPositions(live, o.partitions);

    const prodState = { produced: 0, bytes: 0, done: false, error: null as string | null };
    const pargs: ProducerArgs = { brokers: broker.bootstrap, topic: TOPIC, partitions: o.partitions, lines: o.lines, seed: o.seed };
    producer = fork(path.join(here, 'soak-producer.js'), [JSON.stringify(pargs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' } });
    producer.on('message', (m: ProducerReport) => {
      if ('produced' in m) { prodState.produced = m.produced; prodState.bytes = m.bytes; }
      else if ('done' in m) prodState.done = true;
      else prodState.error = m.error;
    });
    const producerExit = new Promise<number | null>((resolve) => producer!.once('exit', (code) => resolve(code)));
    void producerExit.then((code) => { if (code !== 0 && !prodState.error) prodState.error = `producer exited with ${code}`; });

    queries = new QueryLoad(url, 1000 / o.qps, o.seed);
    queries.start();
    const q = queries;

    // Per partition, what fits in 3 MiB of the mock's 5 MiB, at the mean line size so far (+25% for
    // record overhead); the total is held to --ahead.
    const capPerPartition = (): number => {
      const avg = prodState.produced > 0 ? prodState.bytes / prodState.produced : 1024;
      return Math.max(1, Math.min(Math.ceil(o.ahead / o.partitions), Math.floor((3 * MiB) / (avg * 1.25))));
    };
    const timeline: Sample[] = [];
    let credit = 0;
    let firstStoredAt = 0;
    let lastProgress = { stored: -1, at: performance.now() };
    let failure: string | null = null;
    let maxLag = 0;
    let lagSum = 0;
    const tick = () => {
      const pos = positions();
      const stored = pos.reduce((a, b) => a + b, 0);
      const now = performance.now();
      if (stored > 0 && firstStoredAt === 0) firstStoredAt = now;
      if (stored !== lastProgress.stored) lastProgress = { stored, at: now };
      const cap = capPerPartition();
      let allowed = o.lines;
      for (let p = 0; p < o.partitions; p++) allowed = Math.min(allowed, (pos[p]! + cap) * o.partitions + p);
      allowed = Math.min(allowed, stored + o.ahead);
      if (allowed > credit && producer?.connected) { credit = allowed; producer.send({ credit }); }
      const ps = procSample(pid);
      const lag = prodState.produced - stored;
      maxLag = Math.max(maxLag, lag);
      lagSum += lag;
      const totals = q.totals();
      if (ps) timeline.push({ t: Math.round(now - started), produced: prodState.produced, stored, lag, ...totals, ...ps });
      if (stored < o.lines && now - lastProgress.at > o.stallMs) failure = `no progress for ${Math.round(o.stallMs / 1000)} s at ${stored} stored`;
      if (prodState.error) failure = `producer failed: ${prodState.error}`;
    };
    tick();
    sampler = setInterval(tick, o.sampleMs);
    // Where the memory goes: the service's own breakdown (meshtrail_process_memory_bytes), kept
    // from the scrape with the largest RSS.
    let largestScrape: Record<string, number> | null = null;
    const scrapeMemory = async (): Promise<void> => {
      const text = await fetch(`${url}/metrics`).then((r) => r.text()).catch(() => '');
      const kinds: Record<string, number> = {};
      for (const m of text.matchAll(/^meshtrail_process_memory_bytes\{kind="(\w+)"\} (\d+)$/gm)) kinds[m[1]!] = +(Number(m[2]) / MB).toFixed(1);
      if (kinds.rss !== undefined && kinds.rss > (largestScrape?.rss ?? -1)) largestScrape = kinds;
    };
    void scrapeMemory();
    memorySampler = setInterval(() => void scrapeMemory(), 2000);
    let lastLog = 0;
    await until(() => {
      if (failure || svc.child.exitCode !== null || svc.child.signalCode !== null) return true;
      const last = timeline[timeline.length - 1];
      if (last && performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        log(`soak: ${Math.round(last.t / 1000)} s: produced ${last.produced}, stored ${last.stored}, lag ${last.lag}, RSS ${(last.rss / MB).toFixed(0)} MB (peak ${(last.hwm / MB).toFixed(0)}), fds ${last.fds}, API ${last.requests} requests (${last.non2xx} non-2xx)`);
      }
      return prodState.done && (timeline[timeline.length - 1]?.stored ?? 0) >= o.lines;
    }, Number.MAX_SAFE_INTEGER, () => 'the backlog to drain');
    const drainedAt = performance.now();
    if (svc.child.exitCode !== null || svc.child.signalCode !== null) failure ??= `meshtrail run exited early (${svc.child.exitCode ?? svc.child.signalCode}): ${svc.logTail()}`;
    clearInterval(sampler);
    sampler = null;
    clearInterval(memorySampler);
    memorySampler = null;
    tick();
    const atEnd = timeline[timeline.length - 1]!;
    const metricsText = await fetch(`${url}/metrics`).then((r) => r.text()).catch(() => '');
    await queries.stop();
    // Idle: keep-alive sockets of the query client close, timers settle.
    await new Promise((r) => setTimeout(r, 6000));
    const idle = procSample(pid);
    log(`soak: drained after ${((drainedAt - started) / 1000).toFixed(1)} s; stopping the service`);
    svc.child.kill('SIGTERM');
    const exit = await Promise.race([svc.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000).unref())]);
    log(`soak: service exited (${exit}) at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // After a failure the producer may still wait for credit.
    if (!prodState.done) producer.kill('SIGTERM');
    await producerExit;
    db.close();
    db = null;

    const final = new Database(database, { readonly: true, fileMustExist: true });
    let flows: number, quarantined: number, endPositions: number[];
    try {
      flows = (final.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
      quarantined = (final.prepare('SELECT count(*) AS n FROM quarantine').get() as { n: number }).n;
      endPositions = storedPositions(final, o.partitions);
    } finally {
      final.close();
    }
    const brokerSample = brokerPid ? procSample(brokerPid) : null;

    // The fd baseline is the first sample with the consumer at work (its broker connections open).
    const working = timeline.filter((s) => s.stored > 0);
    const first = working[0] ?? timeline[0]!;
    const hwm = Math.max(...timeline.map((s) => s.hwm), idle?.hwm ?? 0);
    const peakRss = Math.max(...timeline.map((s) => s.rss));
    const rssAtProgress: Record<string, number> = {};
    for (const share of [0.25, 0.5, 0.75, 1]) {
      const s = timeline.find((x) => x.stored >= share * o.lines);
      if (s) rssAtProgress[`${share * 100}%`] = +(s.rss / MB).toFixed(1);
    }
    const routes = queries.summary();
    const api = queries.totals();
    const wrongPartitions = endPositions.map((p, i) => ({ i, p, want: messagesOf(o.lines, o.partitions, i) })).filter((x) => x.p !== x.want);
    const listeningAll = timeline.map((s) => s.listening);
    const checks: Record<string, Check> = {
      completed: { ok: failure === null, detail: failure ?? 'the backlog drained' },
      counts: { ok: flows + quarantined === o.lines, detail: `flows ${flows} + quarantined ${quarantined} = ${flows + quarantined}, produced ${o.lines}` },
      positions: { ok: wrongPartitions.length === 0, detail: wrongPartitions.length ? `${wrongPartitions.length} partitions off, e.g. ${JSON.stringify(wrongPartitions.slice(0, 3))}` : `all ${o.partitions} partitions stored up to their last message` },
      lag: { ok: atEnd.lag === 0 && metricSum(metricsText, 'meshtrail_kafka_consumer_lag') === 0, detail: `produced - stored = ${atEnd.lag}; /metrics consumer lag ${metricsText ? metricSum(metricsText, 'meshtrail_kafka_consumer_lag') : 'unread'}` },
      api2xx: { ok: api.requests > 0 && api.non2xx === 0, detail: `${api.non2xx} of ${api.requests} answers not 2xx` },
      rss: { ok: hwm < o.rssBoundMb * MB, detail: `peak ${(hwm / MB).toFixed(1)} MB (VmHWM), bound ${o.rssBoundMb} MB` },
      fds: { ok: atEnd.fds <= first.fds + o.fdSlack && (idle?.fds ?? Infinity) <= first.fds + o.fdSlack, detail: `fds ${first.fds} at start, ${atEnd.fds} at the end, ${idle?.fds ?? '?'} idle (slack ${o.fdSlack})` },
      listeners: { ok: listeningAll.every((n) => n === 1) && idle?.listening === 1, detail: `listening sockets min ${Math.min(...listeningAll)} max ${Math.max(...listeningAll)}, idle ${idle?.listening ?? '?'}` },
      warnings: { ok: svc.warnings.length === 0, detail: svc.warnings.length ? svc.warnings.slice(0, 3).join(' | ') : 'no process warnings (e.g. MaxListenersExceededWarning) from the service' },
      exit: { ok: exit === '0', detail: `SIGTERM -> ${exit}` },
    };
    const ingestSeconds = (drainedAt - (firstStoredAt || drainedAt)) / 1000;
    const result: SoakResult = {
      options: o,
      startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
      machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', totalMemMiB: Math.round(os.totalmem() / MiB) },
      seconds: { total: (performance.now() - started) / 1000, ingest: ingestSeconds, groupJoin: ((firstStoredAt || drainedAt) - started) / 1000 },
      produced: { lines: prodState.produced, bytes: prodState.bytes, avgBytes: prodState.produced ? Math.round(prodState.bytes / prodState.produced) : 0 },
      stored: { flows, quarantined, positions: endPositions.reduce((a, b) => a + b, 0), partitionsAtEnd: endPositions.filter((p) => p > 0).length },
      ratePerSecond: ingestSeconds > 0 ? Math.round(o.lines / ingestSeconds) : 0,
      backlog: { capPerPartition: capPerPartition(), maxLag, meanLag: Math.round(lagSum / Math.max(1, timeline.length)) },
      memory: { peakRssMb: +(peakRss / MB).toFixed(1), hwmMb: +(hwm / MB).toFixed(1), rssAtProgressMb: rssAtProgress, mockBrokerHwmMb: brokerSample ? +(brokerSample.hwm / MB).toFixed(1) : null, atLargestScrapeMb: largestScrape },
      fds: { beforeIngest: baseline?.fds ?? -1, start: first.fds, end: atEnd.fds, idle: idle?.fds ?? -1, max: Math.max(...timeline.map((s) => s.fds)), socketsStart: first.sockets, socketsEnd: atEnd.sockets },
      listening: { start: first.listening, end: atEnd.listening, min: Math.min(...listeningAll), max: Math.max(...listeningAll) },
      threads: { start: first.threads, end: atEnd.threads },
      metrics: Object.fromEntries(['meshtrail_records_consumed_total', 'meshtrail_flows_stored_total', 'meshtrail_records_quarantined_total', 'meshtrail_kafka_consumer_lag', 'meshtrail_kafka_gap_messages_total']
        .map((m) => [m, metricSum(metricsText, m)])),
      api: { ...api, routes },
      exit,
      errorLogs: svc.errorLogs(),
      checks,
      ok: Object.values(checks).every((c) => c.ok),
      timeline,
    };
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    fs.writeFileSync(o.out, JSON.stringify(result, null, 2));
    return result;
  } finally {
    if (sampler) clearInterval(sampler);
    if (memorySampler) clearInterval(memorySampler);
    await queries?.stop();
    db?.close();
    if (producer && producer.exitCode === null) producer.kill('SIGKILL');
    if (service && service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    await broker.stop();
    if (!o.keep && !o.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures as a markdown table. */
export function soakTable(r: SoakResult): string {
  const rows: [string, string][] = [
    ['lines produced (one per message)', `${r.produced.lines.toLocaleString('en')} (${(r.produced.bytes / MB).toFixed(0)} MB, ${r.produced.avgBytes} B/line) over ${r.options.partitions} partitions`],
    ['stored: flows + quarantined', `${r.stored.flows.toLocaleString('en')} + ${r.stored.quarantined.toLocaleString('en')}`],
    ['ingest rate (first commit to drained)', `${r.ratePerSecond.toLocaleString('en')} lines/s over ${r.seconds.ingest.toFixed(0)} s (start + group join ${r.seconds.groupJoin.toFixed(1)} s)`],
    ['rolling backlog: cap / max lag / mean lag', `${r.backlog.capPerPartition * r.options.partitions} (${r.backlog.capPerPartition}/partition) / ${r.backlog.maxLag} / ${r.backlog.meanLag} messages`],
    ['peak RSS (VmHWM) / bound', `${r.memory.hwmMb} MB / ${r.options.rssBoundMb} MB`],
    ['service memory at its largest scraped RSS', r.memory.atLargestScrapeMb ? Object.entries(r.memory.atLargestScrapeMb).map(([k, v]) => `${k} ${v}`).join(', ') + ' MB' : 'n/a'],
    ['RSS at 25/50/75/100% stored', Object.values(r.memory.rssAtProgressMb).map((v) => `${v}`).join(' / ') + ' MB'],
    ['open fds: before ingest / start / end / idle / max', `${r.fds.beforeIngest} / ${r.fds.start} / ${r.fds.end} / ${r.fds.idle} / ${r.fds.max} (sockets ${r.fds.socketsStart} -> ${r.fds.socketsEnd})`],
    ['listening sockets: min / max', `${r.listening.min} / ${r.listening.max}`],
    ['threads: start / end', `${r.threads.start} / ${r.threads.end}`],
    ['mock broker peak RSS', r.memory.mockBrokerHwmMb === null ? 'n/a' : `${r.memory.mockBrokerHwmMb} MB`],
    ['API requests / non-2xx', `${r.api.requests} / ${r.api.non2xx}`],
    ...Object.entries(r.api.routes).map(([route, s]): [string, string] => [`  ${route} p50 / p95 / p99 / max`, `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(0)} ms (${s.requests} requests)`]),
    ['service log: error-level lines', String(r.errorLogs)],
    ['SIGTERM exit', r.exit],
  ];
  const checks = Object.entries(r.checks).map(([k, c]) => `| ${k} | ${c.ok ? 'ok' : '**FAILED**'} | ${c.detail} |`);
  return [
    '| figure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`), '',
    '| check | result | detail |', '|---|---|---|', ...checks, '',
    r.ok ? 'soak: all checks passed' : 'soak: CHECKS FAILED',
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const result = await runSoak(options);
  process.stdout.write(`${soakTable(result)}\nresults: ${options.out}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 2;
  });
}
