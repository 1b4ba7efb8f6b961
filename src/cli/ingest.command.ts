/**
 * `meshtrail ingest`: stores every line of a file (or stdin) as a flow or a quarantined record.
 * Safe to repeat: lines already stored are recognised by position and counted, not duplicated.
 */
import type { LineFormat, LineParser } from '../pipeline/contracts.js';
import { ingestStream, type IngestStats } from '../pipeline/ingest-stream.js';
import { Store } from '../store/store.js';
import { openDatabase } from '../store/db.js';
import { registerRollups } from '../store/rollups.js';
import { registerDetectors } from '../detect/registry.js';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { openInput } from './input.js';

export async function ingestCommand(file: string | undefined, dbFile: string, format: LineFormat, err: NodeJS.WriteStream = process.stderr, parsers?: LineParser[], policies?: PolicySet | null): Promise<IngestStats> {
  const input = openInput(file);
  const db = openDatabase(dbFile);
  try {
    const store = new Store(db);
    registerRollups(store);
    // Findings are kept in the same transaction as the flows, whichever command writes them.
    registerDetectors(store, { policies: policies ?? null });
    let last = 0;
    const tty = err.isTTY === true;
    const stats = await ingestStream(store, input.stream, {
      format,
      parsers,
      label: input.label,
      onProgress: (s) => {
        const now = Date.now();
        if (!tty || now - last < 250) return;
        last = now;
        err.write(`\r${s.lines.toLocaleString()} lines, ${s.flows.toLocaleString()} flows, ${s.quarantined.toLocaleString()} quarantined`);
      },
    });
    if (tty) err.write('\r\x1b[K');
    return stats;
  } finally {
    db.close();
  }
}

/** The summary printed at the end of an ingestion. */
export function summary(stats: IngestStats, dbFile: string): string {
  const parts = [
    `lines read: ${stats.lines}`,
    `flows stored: ${stats.flows}`,
    `lines quarantined: ${stats.quarantined}`,
  ];
  if (stats.duplicates) parts.push(`already stored: ${stats.duplicates}`);
  if (stats.blank) parts.push(`blank: ${stats.blank}`);
  return `${parts.join(', ')} (database ${dbFile})`;
}
