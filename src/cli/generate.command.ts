/**
 * `meshtrail generate`: writes sample mesh traffic (see src/sample/mesh-traffic.ts) to a file or
 * stdout. With --interval-ms it keeps appending a new round of requests at that interval, which
 * is what the docker-compose traffic service does to feed the log shipper.
 */
import fs from 'node:fs';
import { generateMeshTraffic } from '../sample/mesh-traffic.js';

export interface GenerateOptions { out?: string; requests: number; seed: number; intervalMs?: number; signal?: AbortSignal }

export async function generateCommand(o: GenerateOptions): Promise<void> {
  const write = (text: string) => (o.out ? fs.appendFileSync(o.out, text) : process.stdout.write(text));
  let round = 0;
  for (;;) {
    const lines = generateMeshTraffic({ requests: o.requests, seed: o.seed + round, end: Date.now(), malformed: round === 0 });
    write(lines.join('\n') + '\n');
    round++;
    if (o.intervalMs === undefined || o.signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs));
    if (o.signal?.aborted) return;
  }
}
