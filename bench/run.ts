/**
 * meshtrail's benchmark (`npm run bench`): measures meshtrail against ceilings measured in the
 * same run on the same machine, prints a markdown table and writes the same figures as JSON.
 *
 * Usage: node dist/bench/run.js [--quick | --large] [--out FILE] [--cache DIR] [--skip kafka,query,...]
 *   --quick  small sizes: checks that every case runs (well under a minute)
 *   default  a few minutes; query latency at 1M stored flows
 *   --large  10M-line file ingest (peak RSS over the backlog) and query latency at 10M flows
 * See bench/README.md for what each figure means.
 */
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { splitCeiling, sqliteCeiling } from './ceilings.js';
import { consoleFigures } from './console.js';
import { corpusLines, writeCorpus, type LineKind } from './corpus.js';
import type { IngestChildArgs, IngestChildResult } from './ingest.child.js';
import { findKafkaSource, kafkaEndToEnd, kafkajsCeiling, mockBrokerBinary, partitionsFor, produce, startMockBroker } from './kafka.js';
import { vmHwm, RssSampler } from './memory.js';
import { parseRate } from './parse.js';
import { queryLatencies, type RouteLatency } from './query.js';
import { compare, markdownTable, type BenchResults, type Figure } from './report.js';
import { measureStorage } from './storage.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/ (this file is dist/bench/run.js). */
const distRoot = path.resolve(here, '..');
const repoRoot = path.resolve(distRoot, '..');

type Mode = BenchResults['mode'];

/** Sizes per mode. */
const SIZES: Record<Mode, { parseLines: number; parseSeconds: number; ingestLines: number; sqliteRows: number; kafkaMessages: number; queryFlows: number; queries: number }> = {
  quick: { parseLines: 3_000, parseSeconds: 0.3, ingestLines: 20_000, sqliteRows: 20_000, kafkaMessages: 5_000, queryFlows: 20_000, queries: 100 },
  default: { parseLines: 40_000, parseSeconds: 2, ingestLines: 300_000, sqliteRows: 300_000, kafkaMessages: 100_000, queryFlows: 1_000_000, queries: 100 },
  large: { parseLines: 40_000, parseSeconds: 2, ingestLines: 10_000_000, sqliteRows: 1_000_000, kafkaMessages: 200_000, queryFlows: 10_000_000, queries: 100 },
};

/** Bump when the way the cached query database is built changes. */
const CACHE_VERSION = 1;

interface Args { mode: Mode; out: string; cache: string; skip: Set<string> }

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'default', out: path.join(repoRoot, 'bench/results.json'), cache: path.join(repoRoot, 'bench/.cache'), skip: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.mode = 'quick';
    else if (a === '--large') args.mode = 'large';
    else if (a === '--out') args.out = path.resolve(argv[++i] ?? '');
    else if (a === '--cache') args.cache = path.resolve(argv[++i] ?? '');
    else if (a === '--skip') for (const s of (argv[++i] ?? '').split(',')) args.skip.add(s.trim());
    else throw new Error(`unknown argument ${a}; usage: run.js [--quick|--large] [--out FILE] [--cache DIR] [--skip parse,ingest,kafka,query,console]`);
  }
  return args;
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Runs the ingest child and parses its answer. */
function ingestChild(args: IngestChildArgs): Promise<IngestChildResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...process.execArgv, path.join(here, 'ingest.child.js'), JSON.stringify(args)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ingest child failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as IngestChildResult);
      } catch (cause) {
        reject(new Error(`ingest child printed no result: ${stdout.slice(0, 500)} ${stderr.slice(0, 500)}`, { cause }));
      }
    });
  });
}

/** Hash of the migrations: a schema change invalidates cached databases. */
function schemaHash(): string {
  const dir = path.join(repoRoot, 'migrations');
  const h = crypto.createHash('sha256');
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

const MiB = 2 ** 20;
const fig = (label: string, value: number | null, unit: string, extra: Partial<Figure> = {}): Figure => ({ label, value, unit, ...extra });
const na = (label: string, unit: string, note: string, extra: Partial<Figure> = {}): Figure => ({ label, value: null, unit, note, ...extra });

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const size = SIZES[args.mode];
  const started = performance.now();
  const benchRss = new RssSampler(50);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshtrail-bench-'));
  fs.mkdirSync(args.cache, { recursive: true });
  const results: BenchResults = {
    mode: args.mode, startedAt: new Date().toISOString(), seconds: 0,
    machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', totalMemMiB: Math.round(os.totalmem() / MiB), platform: `${os.platform()} ${os.release()}` },
    params: { ...size }, ceilings: {}, measurements: {}, storage: null,
  };
  const C = results.ceilings;
  const M = results.measurements;
  try {
    // --- Parse only, per format ---------------------------------------------------------------
    if (!args.skip.has('parse')) {
      const kinds: [LineKind, string][] = [['text', 'Istio TEXT'], ['json', 'Istio JSON + identity'], ['envelope', 'shipper/CRI envelopes'], ['ztunnel', 'ztunnel plain'], ['mixed', 'generator mix']];
      for (const [kind, label] of kinds) {
        log(`parse ${kind}`);
        const r = parseRate(corpusLines(kind, size.parseLines, 11), size.parseSeconds);
        M[`parse.${kind}`] = fig(`parse only: ${label}`, r.linesPerSec, 'lines/s', { note: `${r.bytesPerLine.toFixed(0)} B/line${r.failures ? `, ${r.failures} lines failed` : ''}` });
      }
    }

    // --- File ingest: split ceiling, SQLite ceiling, ingestStream end to end (child) ----------
    if (!args.skip.has('ingest')) {
      for (const kind of ['text', 'mixed'] as const) {
        const file = path.join(work, `${kind}.log`);
        log(`writing ${size.ingestLines} ${kind} lines`);
        const corpus = writeCorpus(file, kind, size.ingestLines, 101);
        const split = splitCeiling(file);
        C[`split.${kind}`] = fig(`ceiling: read + split (${kind})`, split.lines / split.seconds, 'lines/s', { note: `${(split.bytes / MiB / split.seconds).toFixed(0)} MiB/s, ${(corpus.bytes / corpus.lines).toFixed(0)} B/line` });
        log(`file ingest ${kind}`);
        const r = await ingestChild({ input: file, db: path.join(work, `ingest-${kind}.db`), rollups: true });
        M[`ingest.file.${kind}`] = fig(`file ingest e2e (${kind})`, r.lines / r.seconds, 'lines/s', {
          ceiling: `split.${kind}`, target: kind === 'text' ? '>= 100,000 lines/s' : undefined,
          note: `${r.flows} flows${r.rollups ? ', rollups on' : ', no rollups module'}; peak RSS ${(r.peakRssBytes / MiB).toFixed(0)} MiB`,
        });
        M[`memory.ingest.${kind}`] = fig(`peak RSS, ingesting ${r.lines.toLocaleString('en-US')} ${kind} lines`, Math.max(r.peakRssBytes, r.vmHwmBytes ?? 0) / 1e6, 'MB', {
          target: args.mode === 'large' ? '< 300 MB (10M-line backlog)' : undefined,
          note: `sampled every 50 ms ${(r.peakRssBytes / MiB).toFixed(0)} MiB, VmHWM ${r.vmHwmBytes === null ? 'n/a' : (r.vmHwmBytes / MiB).toFixed(0)} MiB, at start ${(r.rssBeforeBytes / MiB).toFixed(0)} MiB`,
        });
        const st = measureStorage(path.join(work, `ingest-${kind}.db`));
        M[`storage.ingest.${kind}`] = fig(`DB bytes per flow (${kind}, ${st.flows.toLocaleString('en-US')} flows)`, st.bytesPerFlow, 'B/flow', { target: '<= 250 B/flow' });
        fs.rmSync(file, { force: true });
        for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(work, `ingest-${kind}.db${s}`), { force: true });
      }
      log('sqlite insert ceiling');
      const sq = sqliteCeiling(path.join(work, 'ceiling.db'), corpusLines('mixed', 20_000, 5), size.sqliteRows);
      C.sqlite = fig('ceiling: SQLite insert of pre-built flow rows', sq.rows / sq.seconds, 'rows/s', { note: `${sq.columns} columns, same schema + indexes, 2,000 rows/tx` });
      for (const kind of ['text', 'mixed']) {
        const m = M[`ingest.file.${kind}`];
        if (m?.value && C.sqlite.value) m.note += `; ${((m.value / C.sqlite.value) * 100).toFixed(0)}% of the SQLite ceiling`;
      }
    }

    // --- Kafka: kafkajs ceiling and meshtrail end to end ----------------------------------------
    if (!args.skip.has('kafka')) {
      const bin = mockBrokerBinary(repoRoot, args.cache);
      const e2e = await findKafkaSource(distRoot);
      if (!('path' in bin)) {
        C.kafkajs = na('ceiling: kafkajs, empty eachBatch', 'msgs/s', `no mock broker: ${bin.why}`);
        M['ingest.kafka'] = na('Kafka ingest e2e', 'msgs/s', 'no mock broker', { ceiling: 'kafkajs', target: '>= 60% of ceiling' });
      } else {
        log('kafka: starting the mock broker, producing');
        const lines = corpusLines('mixed', size.kafkaMessages, 202);
        const bytes = lines.reduce((a, l) => a + Buffer.byteLength(l), 0);
        const partitions = partitionsFor(bytes);
        const broker = await startMockBroker(bin.path);
        try {
          const topic = 'bench-access-logs';
          await broker.createTopic(topic, partitions);
          const produceSeconds = await produce(broker.bootstrap, topic, partitions, lines);
          results.params.kafkaPartitions = partitions;
          const timeout = 120_000 + size.kafkaMessages * 2;
          log('kafka: kafkajs ceiling (best of two groups)');
          const k1 = await kafkajsCeiling(broker.bootstrap, topic, lines.length, timeout);
          const k2 = await kafkajsCeiling(broker.bootstrap, topic, lines.length, timeout);
          const k = k1.messages / k1.seconds > k2.messages / k2.seconds ? k1 : k2;
          C.kafkajs = fig('ceiling: kafkajs, empty eachBatch', k.messages / k.seconds, 'msgs/s', { note: `${lines.length} msgs of ${(bytes / lines.length).toFixed(0)} B over ${partitions} partitions (produced at ${(lines.length / produceSeconds).toFixed(0)} msgs/s)` });
          if (!e2e.ok) {
            M['ingest.kafka'] = na('Kafka ingest e2e', 'msgs/s', e2e.why, { ceiling: 'kafkajs', target: '>= 60% of ceiling' });
          } else {
            log(`kafka: meshtrail end to end (${e2e.how})`);
            const dbFile = path.join(work, 'kafka.db');
            const db = openDatabase(dbFile);
            try {
              const store = new Store(db);
              const rollups = (await import('../src/store/rollups.js').catch(() => null)) as { registerRollups?: (s: Store) => void } | null;
              rollups?.registerRollups?.(store);
              const r = await kafkaEndToEnd(e2e, store, broker.bootstrap, topic, lines.length, timeout);
              M['ingest.kafka'] = fig('Kafka ingest e2e', r.records / r.seconds, 'msgs/s', { ceiling: 'kafkajs', target: '>= 60% of ceiling', note: `${r.flows} flows stored in ${r.batches} batches (${(r.records / Math.max(1, r.batches)).toFixed(0)} records/transaction), via ${e2e.how}` });
            } catch (err) {
              M['ingest.kafka'] = na('Kafka ingest e2e', 'msgs/s', `failed: ${(err as Error).message.split('\n')[0]}`, { ceiling: 'kafkajs', target: '>= 60% of ceiling' });
            } finally {
              db.close();
            }
          }
        } finally {
          await broker.stop();
        }
      }
    }

    // --- Query latency over a (cached) database of N flows --------------------------------------
    if (!args.skip.has('query')) {
      const key = `flows-mixed-${size.queryFlows}-seed303-v${CACHE_VERSION}-${schemaHash()}`;
      const dbFile = path.join(args.cache, `${key}.db`);
      const metaFile = path.join(args.cache, `${key}.json`);
      let build: IngestChildResult & { builtAt?: string };
      if (fs.existsSync(dbFile) && fs.existsSync(metaFile)) {
        build = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as IngestChildResult;
        log(`query db: cached ${dbFile}`);
      } else {
        log(`query db: generating ${size.queryFlows} lines and ingesting them (cached afterwards in ${args.cache})`);
        const file = path.join(work, 'query.log');
        writeCorpus(file, 'mixed', size.queryFlows, 303);
        const tmpDb = path.join(work, 'query.db');
        build = { ...(await ingestChild({ input: file, db: tmpDb, rollups: true, batchSize: 5000 })), builtAt: new Date().toISOString() };
        fs.rmSync(file, { force: true });
        fs.copyFileSync(tmpDb, dbFile);
        fs.rmSync(tmpDb, { force: true });
        fs.writeFileSync(metaFile, JSON.stringify(build, null, 2));
      }
      M['memory.querydb'] = fig(`peak RSS, ingesting the ${build.lines.toLocaleString('en-US')}-line query backlog`, Math.max(build.peakRssBytes, build.vmHwmBytes ?? 0) / 1e6, 'MB', {
        target: size.queryFlows >= 10_000_000 ? '< 300 MB (10M-line backlog)' : undefined,
        note: `${(build.lines / build.seconds).toFixed(0)} lines/s (5,000-line batches)${build.builtAt ? `, built ${build.builtAt}` : ''}`,
      });
      const st = measureStorage(dbFile);
      results.storage = { db: path.relative(repoRoot, dbFile), ...st };
      M['storage.query'] = fig(`DB bytes per flow (mixed, ${st.flows.toLocaleString('en-US')} flows, all indexes + rollups)`, st.bytesPerFlow, 'B/flow', { target: '<= 250 B/flow' });
      log(`queries over ${st.flows} flows`);
      const q = await queryLatencies(dbFile, size.queries);
      const at = `${(st.flows / 1e6).toFixed(st.flows < 1e6 ? 2 : 0)}M flows`;
      const route = (name: string, r: RouteLatency, target?: string) => {
        if (!r.ok) {
          M[`query.${name}.p50`] = na(`${name} p50 (${at})`, 'ms', r.why);
          M[`query.${name}.p95`] = na(`${name} p95 (${at})`, 'ms', r.why, { target });
        } else {
          M[`query.${name}.p50`] = fig(`${name} p50 (${at})`, r.p50, 'ms', { note: `${r.queries} requests to ${r.path}` });
          M[`query.${name}.p95`] = fig(`${name} p95 (${at})`, r.p95, 'ms', { target, note: `max ${r.max.toFixed(1)} ms; slowest shapes: ${r.slowest}` });
        }
      };
      route('flows', q.flows, '< 50 ms at 10M flows');
      route('edges', q.edges, '< 50 ms at 10M flows');
      route('findings', q.findings);
      route('mtls-report', q.mtlsReport, '< 2 s (30 days, from rollups)');
      M['query.mtls-report.sql'] = q.mtlsReportSql === null ? na('30-day mTLS aggregate, SQL on hourly rollups', 'ms', 'no rollup tables') : fig('30-day mTLS aggregate, SQL on hourly rollups', q.mtlsReportSql, 'ms', { note: 'stand-in for the report route: per-edge sums over 30 days' });
    }

    // --- The console's graph over ~100k edge-hours (bench/console.ts) ---------------------------
    if (!args.skip.has('console')) {
      log('console: graph API calls and render in headless Chromium');
      Object.assign(M, await consoleFigures(args.mode, args.cache, schemaHash()));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }

  const benchPeak = Math.max(benchRss.stop(), vmHwm() ?? 0);
  M['memory.bench'] = fig('peak RSS of the bench process itself', benchPeak / 1e6, 'MB', { note: 'holds corpora and pre-built rows; not a meshtrail figure' });
  results.seconds = (performance.now() - started) / 1000;
  compare(results);
  const okTarget = (f: Figure): boolean | undefined => {
    if (f.value === null || f.target === undefined) return undefined;
    const t = f.target;
    if (t.startsWith('>= 60%')) return f.ratio === null || f.ratio === undefined ? undefined : f.ratio >= 0.6;
    const n = Number(/([\d,.]+)/.exec(t)?.[1]?.replace(/,/g, ''));
    if (t.startsWith('>=')) return f.value >= n;
    if (t.startsWith('<=')) return f.value <= n;
    if (t.startsWith('<')) return f.unit === 'ms' && t.includes(' s ') ? f.value < n * 1000 : f.value < n;
    return undefined;
  };
  for (const f of Object.values(M)) {
    const met = okTarget(f);
    if (met !== undefined) f.met = met;
  }
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(markdownTable(results) + '\n');
  log(`results written to ${args.out}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
