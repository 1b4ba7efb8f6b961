/**
 * How far V8 may grow the old generation past the live data, for the long-running commands.
 *
 * V8 sizes the old generation for throughput: after a full collection it lets the heap grow to
 * up to four times what survived before collecting again. Ingest allocates fast and promotes
 * every record that outlives a transaction, so under a backlog the heap held ~125 MB for ~25-70
 * MB of live objects: a third of a 300 MB memory bound spent on garbage waiting to be collected.
 * Holding growth to 50% collected that garbage sooner at the same ingest rate in the 1M-line soak
 * (peak RSS 256 -> 194 MB, 14.5k -> 14.3k lines/s); `--optimize-for-size` saved 20 MB more but
 * cost a quarter of the rate.
 *
 * V8 reads this flag each time it sizes the heap, so setting it at start-up takes effect even
 * though the heap exists already (unlike the semi-space size, which is fixed at start). An
 * operator's own choice (`node --heap-growing-percent=N`, or in NODE_OPTIONS) is left alone.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

const FLAG = /--heap[-_]growing[-_]percent\b/;

/** Applies the growth bound unless the operator set one; returns the flag in effect, if ours. */
export function applyHeapPolicy(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | null {
  if (execArgv.some((a) => FLAG.test(a)) || FLAG.test(nodeOptions)) return null;
  const flag = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  v8.setFlagsFromString(flag);
  return flag;
}
