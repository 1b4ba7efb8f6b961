import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { migrate, readMigrations } from '../../../src/store/migrate.js';
import { openDatabase } from '../../../src/store/db.js';

t.test('applies every shipped migration once, in order, and records it', (t) => {
  const db = new Database(':memory:');
  const shipped = readMigrations();
  t.ok(shipped.length >= 1);
  t.same(migrate(db), shipped.map((m) => m.version));
  t.same(migrate(db), [], 'second run applies nothing');
  const rows = db.prepare('SELECT version, name, sha256 FROM schema_migrations ORDER BY version').all();
  t.same(rows, shipped.map((m) => ({ version: m.version, name: m.name, sha256: m.sha256 })));
  t.end();
});

t.test('refuses a database whose applied migration was edited afterwards', (t) => {
  const dir = t.testdir({ '0001_first.sql': 'CREATE TABLE a (x INTEGER);', '0002_second.sql': 'CREATE TABLE b (y INTEGER);' });
  const db = new Database(':memory:');
  migrate(db, readMigrations(dir));
  fs.writeFileSync(path.join(dir, '0002_second.sql'), 'CREATE TABLE b (y INTEGER, z TEXT);');
  t.throws(() => migrate(db, readMigrations(dir)), { code: 'ERR_MIGRATION_EDITED', message: /0002_second\.sql/ });
  t.end();
});

t.test('refuses a database that has migrations this version does not ship', (t) => {
  const dir = t.testdir({ '0001_first.sql': 'CREATE TABLE a (x INTEGER);', '0002_second.sql': 'CREATE TABLE b (y INTEGER);' });
  const db = new Database(':memory:');
  migrate(db, readMigrations(dir));
  fs.rmSync(path.join(dir, '0002_second.sql'));
  t.throws(() => migrate(db, readMigrations(dir)), { code: 'ERR_MIGRATION_UNKNOWN' });
  t.end();
});

t.test('a failing migration leaves neither its DDL nor its record behind', (t) => {
  const dir = t.testdir({ '0001_first.sql': 'CREATE TABLE a (x INTEGER);', '0002_broken.sql': 'CREATE TABLE b (y INTEGER); SELECT * FROM missing_table;' });
  const db = new Database(':memory:');
  t.throws(() => migrate(db, readMigrations(dir)));
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((r) => (r as { name: string }).name);
  t.same(tables, ['a', 'schema_migrations']);
  t.same(db.prepare('SELECT version FROM schema_migrations').all(), [{ version: 1 }]);
  t.end();
});

t.test('refuses to open a file that is not a SQLite database, and leaves it untouched', (t) => {
  const dir = t.testdir({ 'notes.db': 'these are my notes, not a database\n'.repeat(200) });
  const file = path.join(dir, 'notes.db');
  const before = fs.readFileSync(file);
  t.throws(() => openDatabase(file), { code: 'ERR_DB_NOT_MESHTRAIL' });
  t.same(fs.readFileSync(file), before);
  t.end();
});

t.test('the page cache is what the caller asked for, 32 MiB by default', (t) => {
  const dir = t.testdir({});
  const byDefault = openDatabase(path.join(dir, 'a.db'));
  const small = openDatabase(path.join(dir, 'b.db'), { cacheMib: 8 });
  try {
    t.equal(byDefault.pragma('cache_size', { simple: true }), -32 * 1024, 'negative: KiB');
    t.equal(small.pragma('cache_size', { simple: true }), -8 * 1024);
  } finally {
    byDefault.close();
    small.close();
  }
  t.end();
});
