/** Parse-only throughput: `processLine` (decode, detect, parse, enrich, validate) over lines in memory. */
import { processLine } from '../src/pipeline/process-line.js';

/**
 * Lines per second of `processLine` over `lines`: one warm-up pass (JIT), then timed passes until
 * at least `minSeconds` elapsed. Throws if a line fails, since a failing line measures the
 * failure path, not the parser.
 */
export function parseRate(lines: string[], minSeconds = 1): { linesPerSec: number; bytesPerLine: number; failures: number } {
  let failures = 0;
  for (const l of lines) if (!processLine(l, { format: 'auto' }).ok) failures++;
  let done = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    for (const l of lines) processLine(l, { format: 'auto' });
    done += lines.length;
    elapsed = (performance.now() - started) / 1000;
  } while (elapsed < minSeconds);
  const bytes = lines.reduce((a, l) => a + Buffer.byteLength(l, 'utf8'), 0);
  return { linesPerSec: done / elapsed, bytesPerLine: bytes / Math.max(1, lines.length), failures };
}
