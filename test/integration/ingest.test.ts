import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { meshtrail } from '../helpers/cli.js';

const count = (db: string, table: string) => {
  const d = new Database(db, { readonly: true });
  try { return (d.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n; } finally { d.close(); }
};

t.test('ingest stores every line as a flow or a quarantined record, and re-ingesting duplicates nothing', (t) => {
  const lines = generateMeshTraffic({ requests: 300, seed: 3 });
  const garbage = ['this is not an access log', '{"log": 42}', '[2026-01-15T02:59:59.002Z] "GET /cut HTTP/1.1" 200'];
  const all = [...lines.slice(0, 100), ...garbage, ...lines.slice(100)];
  const dir = t.testdir({ 'access.log': all.join('\n') + '\n' });
  const db = path.join(dir, 'db', 'meshtrail.db');

  const first = meshtrail(['ingest', '--db', db, path.join(dir, 'access.log')]);
  t.equal(first.status, 0, first.stderr);
  const flows = count(db, 'flows');
  const quarantined = count(db, 'quarantine');
  t.equal(flows + quarantined, all.length, 'every line is accounted for');
  t.ok(quarantined >= garbage.length, 'the garbage lines are quarantined');
  t.match(first.stdout, new RegExp(`lines read: ${all.length}, flows stored: ${flows}, lines quarantined: ${quarantined}`));

  const again = meshtrail(['ingest', '--db', db, path.join(dir, 'access.log')]);
  t.equal(again.status, 0, again.stderr);
  t.equal(count(db, 'flows'), flows, 'no flow stored twice');
  t.equal(count(db, 'quarantine'), quarantined, 'no quarantine entry stored twice');
  t.match(again.stdout, /flows stored: 0, lines quarantined: 0, already stored: \d+/);

  // The same content through stdin is the same stream (fingerprinted by its first line).
  const piped = meshtrail(['ingest', '--db', db, '-'], { input: all.join('\n') + '\n' });
  t.equal(piped.status, 0, piped.stderr);
  t.equal(count(db, 'flows'), flows);

  // Appending lines stores only the new ones.
  fs.appendFileSync(path.join(dir, 'access.log'), lines.slice(0, 5).join('\n') + '\n');
  const appended = meshtrail(['ingest', '--db', db, path.join(dir, 'access.log')]);
  t.equal(appended.status, 0, appended.stderr);
  t.equal(count(db, 'flows'), flows + 5);
  t.end();
});

t.test('quarantined lines keep reason, raw text and position', (t) => {
  const dir = t.testdir({ 'in.log': `${generateMeshTraffic({ requests: 1, seed: 1, malformed: false })[0]}\nnot a log line\n` });
  const db = path.join(dir, 'm.db');
  t.equal(meshtrail(['ingest', '--db', db, path.join(dir, 'in.log')]).status, 0);
  const d = new Database(db, { readonly: true });
  const row = d.prepare('SELECT q.line, q.pos, q.reason, q.raw, s.label FROM quarantine q JOIN sources s ON s.id = q.source_id').get() as Record<string, unknown>;
  d.close();
  const firstLineBytes = Buffer.byteLength(fs.readFileSync(path.join(dir, 'in.log'), 'utf8').split('\n')[0]!) + 1;
  t.equal(row.line, 2);
  t.equal(row.pos, firstLineBytes, 'byte offset of the line');
  t.equal(String(row.raw), 'not a log line');
  t.equal(row.label, path.join(dir, 'in.log'));
  t.type(row.reason, 'string');
  t.end();
});

t.test('clear errors and non-zero exits for a missing file and an unwritable database', (t) => {
  const dir = t.testdir({ 'in.log': 'x\n', 'afile': 'not a directory' });
  const missing = meshtrail(['ingest', '--db', path.join(dir, 'm.db'), path.join(dir, 'nope.log')]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /input file not found: .*nope\.log/);
  const unwritable = meshtrail(['ingest', '--db', path.join(dir, 'afile', 'm.db'), path.join(dir, 'in.log')]);
  t.equal(unwritable.status, 1);
  t.match(unwritable.stderr, /database cannot be opened/);
  const usage = meshtrail(['ingest']);
  t.equal(usage.status, 2);
  t.match(usage.stderr, /usage: meshtrail/);
  t.end();
});
