/**
 * Policy replay over the scenario history: a candidate mesh-wide deny-all plus ALLOW rules must
 * list exactly the requests it would break (and the one it would newly allow), via the library,
 * the CLI command and the HTTP endpoint.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { replayPolicies } from '../../src/detect/replay.js';
import { policyCli, policyReplayCommand } from '../../src/cli/policy.command.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { loadPolicies } from '../../src/policy/load.js';
import { generateScenario } from '../../src/sample/scenario.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import type { ReplayGroup } from '../../src/detect/replay.js';

const sig = (g: { caller: string; destination: string; method: string | null; path: string | null; port: number | null }) =>
  `${g.caller} -> ${g.destination}:${g.port ?? '-'} ${g.method ?? '-'} ${g.path ?? '-'}`;

t.test('replay lists exactly what the candidate would break', async (t) => {
  const scenario = generateScenario();
  const dir = t.testdir({ candidate: scenario.replay.candidateFiles });
  const dbFile = path.join(dir, 'replay.db');
  const db = openDatabase(dbFile);
  const store = new Store(db);
  await ingestStream(store, Readable.from([`${scenario.lines.join('\n')}\n`]), { format: 'auto', label: 'scenario' });

  const candidate = loadPolicies(path.join(dir, 'candidate'));
  t.same(candidate.problems.filter((p) => p.severity === 'error'), []);
  const labels = (scenario.config.service_labels ?? {}) as Record<string, Record<string, string>>;
  const report = replayPolicies(store, candidate.policies, { serviceLabels: labels });
  t.same(report.would_deny.map(sig).sort(), scenario.replay.wouldDeny.map(sig).sort(), 'would deny: exactly the unlisted callers');
  t.same(report.would_allow.map(sig).sort(), scenario.replay.wouldAllow.map(sig).sort(), 'would allow: the RBAC-denied DELETE');
  t.equal(report.totals.unresolved, 0);
  t.equal(report.truncated, false);
  // Counts and last seen are per group.
  const catalogToCart = report.would_deny.find((g: ReplayGroup) => g.caller.endsWith('/sa/catalog'))!;
  t.equal(catalogToCart.count, 2);
  t.equal(catalogToCart.last_seen, new Date(scenario.start + 21 * 60_000).toISOString());
  t.match(catalogToCart.reason, /ALLOW policies select the workload/);
  // TEXT lines without a principal are undecided, never guessed.
  t.ok(report.undecided.length > 0 && report.undecided.every((g) => g.caller === 'unknown-identity'));

  // A time window narrows it: only flows after minute 19.
  const late = replayPolicies(store, candidate.policies, { from: scenario.start + 19 * 60_000, to: scenario.start + 22 * 60_000, serviceLabels: labels });
  t.ok(late.would_deny.some((g) => g.destination === 'payments/ledger' && g.path === '/ledger/balance'));
  t.notOk(late.would_deny.some((g) => g.destination === 'shop/checkout' && g.method === null), 'the minute-15 one-way TLS attempt is outside the window');
  db.close();

  // The CLI command reads the same database and prints a table with the same groups.
  const cli = policyReplayCommand({ db: dbFile, policiesDir: path.join(dir, 'candidate') });
  t.same(cli.report.would_deny.map(sig).sort(), scenario.replay.wouldDeny.map(sig).sort());
  t.match(cli.text, /WOULD DENY \(was allowed\)/);
  t.match(cli.text, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/recommender\s+shop\/cart\s+8080\s+DELETE\s+\/cart\/items/);
  const viaArgs = policyCli(['replay', '--policies', path.join(dir, 'candidate'), '--db', dbFile, '--json'], 'unused.db');
  t.equal(JSON.parse(viaArgs.text).totals.would_allow, 1);
  t.throws(() => policyCli(['replay', '--db', dbFile], 'x'), { code: 'ERR_USAGE' });
  t.throws(() => policyCli(['replay', '--policies', dir, '--from', 'yesterday'], 'x'), { code: 'ERR_USAGE' });
});
