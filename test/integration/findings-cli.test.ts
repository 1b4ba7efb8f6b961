/**
 * `meshtrail findings`: a readable table over the stored findings, filters validated, and no
 * control character from a log value ever reaches the terminal.
 */
import path from 'node:path';
import t from 'tap';
import { findingsCli, findingsCommand } from '../../src/cli/findings.command.js';
import { openDatabase } from '../../src/store/db.js';
import { FindingsRepository, type FindingAggregate } from '../../src/store/findings.repository.js';

const agg = (o: Partial<FindingAggregate>): FindingAggregate => ({
  key: 'plaintext|ip:10.3.0.20|shop/catalog|8080', detector: 'plaintext', severity: 'critical', title: 'Plaintext traffic to shop/catalog.',
  source_principal: null, source_workload: null, source_namespace: null, destination_service: 'catalog.shop.svc.cluster.local', destination_namespace: 'shop',
  destination: '10.1.0.12:8080', destination_port: 8080, evidence: {}, first_seen: 1_770_000_000_000, last_seen: 1_770_000_060_000, count: 3,
  sample_flow_ids: [1, 2, 3], request_id: null, ...o,
});

t.test('prints a table, filters by status, strips control characters', (t) => {
  const file = path.join(t.testdir(), 'cli.db');
  const db = openDatabase(file);
  const repo = new FindingsRepository(db);
  db.transaction(() => repo.apply([
    agg({}),
    agg({
      key: 'unexpected-principal|evil|shop/cart|8080', detector: 'unexpected-principal', severity: 'high', last_seen: 1_770_000_120_000,
      source_principal: 'spiffe://cluster.local/ns/x/sa/\u001b[31mred\u001b[0m\u0007', title: 'Caller \u001b]0;pwned\u0007 answered\r\nFAKE ROW',
    }),
  ], Date.now(), 10))();
  const id = repo.list({ limit: 10 }).items.find((f) => f.detector === 'plaintext')!.id;
  repo.setStatus(id, 'resolved', 'fixed');
  db.close();

  const out = findingsCommand({ db: file });
  t.match(out, /SEVERITY\s+STATUS\s+DETECTOR\s+COUNT\s+LAST SEEN\s+SOURCE\s+DESTINATION\s+PORT\s+ID/);
  t.match(out, /HIGH\s+open\s+unexpected-principal/);
  t.match(out, /CRITICAL\s+resolved\s+plaintext\s+3\s+/);
  // eslint-disable-next-line no-control-regex
  t.notOk(/[\u0000-\u0009\u000b-\u001f\u007f]/.test(out), 'no control characters but newlines');
  t.notMatch(out, /\nFAKE ROW/, 'a CR/LF in a value cannot forge a row');

  const open = findingsCli(['--db', file, '--status', 'open'], 'unused');
  t.notMatch(open, /plaintext/);
  t.match(open, /unexpected-principal/);
  const json = findingsCli(['--db', file, '--json', '--detector', 'plaintext'], 'unused').trim().split('\n');
  t.equal(json.length, 1);
  t.equal(JSON.parse(json[0]!).status_reason, 'fixed');
  t.throws(() => findingsCli(['--db', file, '--status', 'closed'], 'unused'), { code: 'ERR_USAGE', message: /--status/ });
  t.throws(() => findingsCli(['--nope'], 'unused'), { code: 'ERR_USAGE' });
  t.equal(findingsCommand({ db: path.join(t.testdir(), 'empty.db') }), 'no findings\n');
  t.end();
});
