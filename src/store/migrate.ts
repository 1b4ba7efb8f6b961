/**
 * Applies the numbered SQL files in migrations/ in order. Each file and its bookkeeping row are
 * applied in one transaction, so a crash never leaves a half-applied migration recorded (or an
 * applied one unrecorded). A database whose applied history is not a prefix of the shipped
 * files, or whose applied file has since been edited (checksum), is refused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { MeshtrailError } from '../errors.js';
import { migrationsDir } from '../paths.js';

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

/** Reads `NNNN_name.sql` files from `dir`, sorted by version. */
export function readMigrations(dir: string = migrationsDir()): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  return files.map((file) => {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`migration file name ${file} does not match NNNN_snake_case.sql`);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    return {
      version: Number(match[1]),
      name: match[2]!,
      sql,
      sha256: crypto.createHash('sha256').update(sql).digest('hex'),
    };
  });
}

/** Brings `db` up to the newest migration; returns the versions applied now. */
export function migrate(db: Database.Database, migrations: Migration[] = readMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = db.prepare('SELECT version, name, sha256 FROM schema_migrations ORDER BY version').all() as {
    version: number; name: string; sha256: string;
  }[];
  for (const [i, row] of applied.entries()) {
    const file = migrations[i];
    if (!file || file.version !== row.version) {
      throw new MeshtrailError('ERR_MIGRATION_UNKNOWN',
        `database has migration ${row.version} (${row.name}) that this meshtrail does not ship; use the newer meshtrail that created it`);
    }
    if (file.sha256 !== row.sha256) {
      throw new MeshtrailError('ERR_MIGRATION_EDITED',
        `migration ${String(file.version).padStart(4, '0')}_${file.name}.sql was applied with checksum ${row.sha256.slice(0, 12)} but the file now has ${file.sha256.slice(0, 12)}; landed migrations must never be edited, add a new one instead`);
    }
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)');
  const done: number[] = [];
  for (const m of migrations.slice(applied.length)) {
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, m.sha256, new Date().toISOString());
    })();
    done.push(m.version);
  }
  return done;
}
