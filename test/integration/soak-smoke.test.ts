/**
 * The soak (bench/soak.ts) at small scale: the built `meshtrail run` ingests 60k generated lines
 * from the Kafka mock broker through a rolling backlog while the API is queried. Asserts the
 * invariants that are not timings: exact counts, every partition stored to its end, lag 0, every
 * API answer 2xx, open fds not growing beyond a small slack, one listening socket throughout, RSS
 * under RSS_BOUND_MB, a clean SIGTERM exit. Runs the built script, as `npm run soak` does.
 *
 * The memory bound is the 300 MB target of the full soak (`npm run soak`, 10M lines). The service
 * reports where its memory goes (meshtrail_process_memory_bytes); the soak keeps the breakdown of
 * its largest scrape, which must be there and add up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { root } from '../helpers/cli.js';
import { requireKafka } from '../support/kafka-broker.js';

const LINES = 60_000;
const RSS_BOUND_MB = 300;
const AHEAD = 20_000;
const FD_SLACK = 16;

interface Soak {
  produced: { lines: number };
  stored: { flows: number; quarantined: number; positions: number };
  backlog: { maxLag: number };
  memory: { hwmMb: number; atLargestScrapeMb: Record<string, number> | null };
  fds: { start: number; end: number; idle: number };
  listening: { min: number; max: number };
  api: { requests: number; non2xx: number; routes: Record<string, { requests: number; statuses: Record<string, number>; failures: string[] }> };
  metrics: Record<string, number>;
  exit: string;
  checks: Record<string, { ok: boolean; detail: string }>;
  ok: boolean;
  timeline: { lag: number }[];
}

if (requireKafka(t)) {
  t.test(`soak of ${LINES} lines: nothing lost or doubled, API all 2xx, no fd or listener leak, RSS bounded`, (t) => {
    const script = path.join(root, 'dist', 'bench', 'soak.js');
    t.ok(fs.existsSync(script), `${script} exists (build first)`);
    const dir = t.testdir({});
    const out = path.join(dir, 'soak.json');
    const run = spawnSync(process.execPath, [script, '--lines', String(LINES), '--partitions', '8', '--ahead', String(AHEAD), '--qps', '20', '--rss-bound-mb', String(RSS_BOUND_MB),
      '--fd-slack', String(FD_SLACK), '--out', out], { cwd: root, encoding: 'utf8', timeout: 240_000, maxBuffer: 16 << 20 });
    t.equal(run.status, 0, `soak exits 0; stdout: ${run.stdout.slice(-3000)} stderr: ${run.stderr.slice(-2000)}`);
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as Soak;

    t.equal(r.produced.lines, LINES, 'every line was produced');
    t.equal(r.stored.flows + r.stored.quarantined, LINES, 'stored flows + quarantined = produced lines');
    t.equal(r.stored.positions, LINES, 'stored positions sum to the produced messages');
    t.ok(r.checks.positions?.ok, `every partition stored up to its last message: ${r.checks.positions?.detail}`);
    t.equal(r.timeline.at(-1)?.lag, 0, 'lag drained to 0');
    t.equal(r.metrics.meshtrail_kafka_consumer_lag, 0, '/metrics reports no consumer lag at the end');
    t.equal(r.metrics.meshtrail_kafka_gap_messages_total, 0, 'the mock dropped no unconsumed message (no gap)');
    t.ok(r.backlog.maxLag > 0 && r.backlog.maxLag <= AHEAD, `the backlog stayed within --ahead ${AHEAD} (max lag ${r.backlog.maxLag})`);

    t.ok(r.api.requests > 0, `the API was queried (${r.api.requests} requests)`);
    t.equal(r.api.non2xx, 0, `every API answer was 2xx: ${JSON.stringify(Object.values(r.api.routes).flatMap((x) => x.failures).slice(0, 3))}`);
    for (const route of ['flows', 'edges', 'findings', 'principals']) t.ok((r.api.routes[route]?.requests ?? 0) > 0, `${route} was queried`);

    t.ok(r.fds.end <= r.fds.start + FD_SLACK, `fds at the end (${r.fds.end}) within ${FD_SLACK} of the start (${r.fds.start})`);
    t.ok(r.fds.idle <= r.fds.start + FD_SLACK, `fds when idle (${r.fds.idle}) within ${FD_SLACK} of the start (${r.fds.start})`);
    t.same([r.listening.min, r.listening.max], [1, 1], 'exactly one listening socket (the API) throughout');
    t.ok(r.memory.hwmMb > 0 && r.memory.hwmMb < RSS_BOUND_MB, `peak RSS ${r.memory.hwmMb} MB < ${RSS_BOUND_MB} MB`);
    const mem = r.memory.atLargestScrapeMb;
    t.ok(mem && mem.rss! > 0 && mem.heap_used! > 0 && mem.heap_total! >= mem.heap_used! && mem.heap_total! < mem.rss!,
      `the service reported its memory by kind: ${JSON.stringify(mem)}`);
    t.equal(r.exit, '0', 'SIGTERM: the service drains and exits 0');
    for (const [name, c] of Object.entries(r.checks)) t.ok(c.ok, `soak check ${name}: ${c.detail}`);
    t.ok(r.ok);
    t.end();
  });
}
