/**
 * `meshtrail demo` (behind `npm start`): writes bundled sample mesh traffic to a log file,
 * ingests it, and serves the API on localhost -- a working meshtrail in one command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateMeshTraffic } from '../sample/mesh-traffic.js';
import { ingestCommand, summary } from './ingest.command.js';

/** Writes the sample log (deterministic, ending at the current hour) and ingests it. */
export async function prepareDemo(dataDir: string, dbFile: string): Promise<string> {
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'sample-access.log');
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  fs.writeFileSync(logFile, generateMeshTraffic({ requests: 2000, seed: 7, end: hour }).join('\n') + '\n');
  const stats = await ingestCommand(logFile, dbFile, 'auto');
  return `sample traffic: ${logFile}\n${summary(stats, dbFile)}`;
}
