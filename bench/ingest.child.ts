/**
 * Child process of the bench: ingests one file into a fresh database with `ingestStream`, as
 * `meshtrail ingest` does, and prints one JSON line with the rate and the memory it took. A child
 * so that its peak RSS is meshtrail's alone, not the bench's (which holds corpora and rows).
 *
 * Usage: node dist/bench/ingest.child.js '<json IngestChildArgs>'
 */
import fs from 'node:fs';
import { ingestStream } from '../src/pipeline/ingest-stream.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { applyHeapPolicy } from '../src/util/heap-policy.js';
import { RssSampler, vmHwm } from './memory.js';

/** What the parent asks for. */
export interface IngestChildArgs {
  input: string;
  db: string;
  /** Register the rollup hook (as the long-running service does) when the module has it. */
  rollups: boolean;
  batchSize?: number;
}

/** What the child prints. */
export interface IngestChildResult {
  lines: number;
  flows: number;
  quarantined: number;
  bytes: number;
  seconds: number;
  rollups: boolean;
  peakRssBytes: number;
  vmHwmBytes: number | null;
  rssBeforeBytes: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as IngestChildArgs;
  // As `meshtrail ingest` runs.
  applyHeapPolicy();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(args.db + suffix, { force: true });
  const rssBefore = process.memoryUsage.rss();
  const sampler = new RssSampler(50);
  const db = openDatabase(args.db);
  const store = new Store(db);
  let rollups = false;
  if (args.rollups) {
    // Looked up at run time: the rollups module may not exist in every revision the bench runs on.
    const mod = (await import('../src/store/rollups.js').catch(() => null)) as { registerRollups?: (s: Store) => void } | null;
    if (mod?.registerRollups) {
      mod.registerRollups(store);
      rollups = true;
    }
  }
  const started = performance.now();
  const stats = await ingestStream(store, fs.createReadStream(args.input, { highWaterMark: 1 << 20 }), {
    format: 'auto',
    label: args.input,
    ...(args.batchSize ? { batchSize: args.batchSize } : {}),
    onProgress: () => sampler.sample(),
  });
  const seconds = (performance.now() - started) / 1000;
  const peak = sampler.stop();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const result: IngestChildResult = {
    lines: stats.lines, flows: stats.flows, quarantined: stats.quarantined, bytes: stats.bytes, seconds, rollups,
    peakRssBytes: peak, vmHwmBytes: vmHwm(), rssBeforeBytes: rssBefore,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
