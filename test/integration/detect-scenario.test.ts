/**
 * The scenario mesh through the real pipeline (ingestStream -> processLine -> Store with the
 * detectors registered): every known incident must be found with its severity, and benign
 * traffic (normal mTLS, PERMISSIVE migration, health checks, registered egress, lines that prove
 * nothing) must raise nothing. Prints recall and false positives for the report.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { registerDetectors } from '../../src/detect/registry.js';
import { ingestStream } from '../../src/pipeline/ingest-stream.js';
import { generateScenario } from '../../src/sample/scenario.js';
import { openDatabase } from '../../src/store/db.js';
import { assertFindingShape } from '../../src/store/findings.repository.js';
import { Store } from '../../src/store/store.js';
import { DETECTORS } from '../../schemas/finding.js';

t.test('scenario: every incident found with the right severity, nothing on benign traffic', async (t) => {
  const scenario = generateScenario();
  const dir = t.testdir({ policies: scenario.policyFiles });
  const db = openDatabase(path.join(dir, 'scenario.db'));
  t.teardown(() => db.close());
  const store = new Store(db);
  const handle = registerDetectors(store, { config: { ...scenario.config, policies_dir: path.join(dir, 'policies') } });
  t.same(handle.policyProblems.filter((p) => p.severity === 'error'), [], 'scenario policies load cleanly');

  const stats = await ingestStream(store, Readable.from([`${scenario.lines.join('\n')}\n`]), { format: 'auto', label: 'scenario', batchSize: 250 });
  t.equal(stats.quarantined, 0, 'every scenario line parses');
  t.equal(stats.flows, scenario.lines.length);

  const findings = handle.findings.list({ limit: 1000 }).items;
  for (const f of findings) assertFindingShape(f);
  const byKey = new Map(findings.map((f) => [f.key, f]));
  let found = 0;
  let rightSeverity = 0;
  for (const incident of scenario.incidents) {
    const f = byKey.get(incident.key);
    t.ok(f, `found: ${incident.what} (${incident.key})`);
    if (!f) continue;
    found++;
    t.equal(f.severity, incident.severity, `severity of ${incident.key}`);
    if (f.severity === incident.severity) rightSeverity++;
    t.equal(f.detector, incident.detector);
    t.ok(f.sample_flow_ids.length > 0 && f.sample_flow_ids.length <= 10);
  }
  const expected = new Set(scenario.incidents.map((i) => i.key));
  const falsePositives = findings.filter((f) => !expected.has(f.key));
  t.same(falsePositives.map((f) => f.key), [], 'no finding on benign traffic');
  t.ok(new Set(scenario.incidents.map((i) => i.detector)).size === DETECTORS.length, 'the scenario exercises every detector');

  // Coverage gaps and undecided evaluations are counted, not reported.
  const counters = handle.findings.counters();
  t.ok((counters.plaintext?.unknown_verdict ?? 0) > 0, 'unknown verdicts counted');
  t.ok((counters['unexpected-principal']?.undecided ?? 0) > 0, 'undecided evaluations counted');
  t.ok((counters.plaintext?.health_check ?? 0) > 0 && (counters.plaintext?.allow_listed ?? 0) > 0);

  // One event per opened finding: nothing reopened, nothing flapped.
  const events = handle.findings.outbox.list(0, 10_000);
  t.equal(events.filter((e) => e.type === 'opened').length, findings.length);

  const recall = found / scenario.incidents.length;
  t.comment(`detector scenario: ${scenario.lines.length} lines, ${scenario.incidents.length} incidents; found ${found} (recall ${(recall * 100).toFixed(1)}%), `
    + `right severity ${rightSeverity}/${scenario.incidents.length}; false positives ${falsePositives.length} of ${findings.length} findings`);
  t.comment(`counters: ${JSON.stringify(counters)}`);
});

t.test('the scenario is deterministic', (t) => {
  t.same(generateScenario().lines, generateScenario().lines);
  t.end();
});
