/**
 * Bench input: wraps the sample generator (src/sample/mesh-traffic.ts) to produce large,
 * deterministic corpora per line kind without holding them in memory, and adds ztunnel lines,
 * which the generator does not write.
 */
import fs from 'node:fs';
import { generateMeshTraffic, type TrafficOptions, prng } from '../src/sample/mesh-traffic.js';

/** The line kinds the bench measures separately. */
export type LineKind = 'text' | 'json' | 'envelope' | 'ztunnel' | 'mixed';

/** Generator shares per kind: `mixed` is the generator's own default mix (25% JSON, 20% enveloped). */
const SHARES: Record<Exclude<LineKind, 'ztunnel'>, Pick<TrafficOptions, 'jsonShare' | 'envelopeShare'>> = {
  text: { jsonShare: 0, envelopeShare: 0 },
  json: { jsonShare: 1, envelopeShare: 0 },
  envelope: { jsonShare: 0.25, envelopeShare: 1 },
  mixed: {},
};

/** Requests per generator call: ~86k lines, small enough to keep memory flat. */
const CHUNK_REQUESTS = 10_000;
const DAY = 86_400_000;
/** End of the generated period. */
export const CORPUS_END = Date.parse('2026-01-31T00:00:00Z');

/**
 * Yields arrays of lines until `count` lines were produced. Chunks use successive seeds and are
 * spread evenly over `spanDays` before {@link CORPUS_END} (each chunk covers the hour before its end).
 */
export function* corpusChunks(kind: LineKind, count: number, seed = 1, spanDays = 30): Generator<string[]> {
  let produced = 0;
  const chunks = Math.max(1, Math.ceil(count / (CHUNK_REQUESTS * 8)));
  for (let i = 0; produced < count; i++) {
    const end = CORPUS_END - Math.floor(((chunks - 1 - (i % chunks)) / chunks) * spanDays * DAY) - Math.floor(i / chunks) * 3_600_000;
    let lines: string[];
    if (kind === 'ztunnel') lines = ztunnelLines(Math.min(CHUNK_REQUESTS * 8, count - produced), seed + i, end);
    else lines = generateMeshTraffic({ requests: CHUNK_REQUESTS, seed: seed + i, end, malformed: false, ...SHARES[kind] });
    if (produced + lines.length > count) lines = lines.slice(0, count - produced);
    produced += lines.length;
    yield lines;
  }
}

/** All lines of a corpus in memory (for the small parse-only sets). */
export function corpusLines(kind: LineKind, count: number, seed = 1): string[] {
  const all: string[] = [];
  for (const chunk of corpusChunks(kind, count, seed)) for (const l of chunk) all.push(l);
  return all;
}

/** Writes a corpus to `file`, one line per record; returns its line and byte counts. */
export function writeCorpus(file: string, kind: LineKind, count: number, seed = 1): { lines: number; bytes: number } {
  const fd = fs.openSync(file, 'w');
  let lines = 0;
  let bytes = 0;
  try {
    for (const chunk of corpusChunks(kind, count, seed)) {
      const buf = Buffer.from(chunk.join('\n') + '\n', 'utf8');
      fs.writeSync(fd, buf);
      lines += chunk.length;
      bytes += buf.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { lines, bytes };
}


const ZT_WORKLOADS = [
  { app: 'frontend', ns: 'shop', sa: 'frontend', ip: '10.60.1.' },
  { app: 'cart', ns: 'shop', sa: 'cart', ip: '10.60.2.' },
  { app: 'checkout', ns: 'shop', sa: 'checkout', ip: '10.60.3.' },
  { app: 'cache', ns: 'infra', sa: 'cache', ip: '10.60.4.' },
  { app: 'billing-worker', ns: 'billing', sa: 'worker', ip: '10.60.5.' },
] as const;

/**
 * ztunnel (ambient) access lines in its tab-separated plain layout: `connection complete` with
 * src/dst address, workload, namespace, identity, direction, bytes and duration. A share of
 * them are inbound, and a few carry an `error` (a denied or refused connection).
 */
export function ztunnelLines(count: number, seed: number, end: number): string[] {
  const rnd = prng(seed);
  const out: string[] = [];
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 36).toString(36)).join('');
  for (let i = 0; i < count; i++) {
    const src = ZT_WORKLOADS[Math.floor(rnd() * ZT_WORKLOADS.length)]!;
    const dst = ZT_WORKLOADS[Math.floor(rnd() * ZT_WORKLOADS.length)]!;
    const srcIp = `${src.ip}${1 + Math.floor(rnd() * 200)}`;
    const dstIp = `${dst.ip}${1 + Math.floor(rnd() * 200)}`;
    const port = [6379, 8080, 9080, 5432][Math.floor(rnd() * 4)]!;
    const inbound = rnd() < 0.5;
    const t = new Date(end - 3_600_000 + Math.floor((i / Math.max(1, count)) * 3_600_000)).toISOString().replace('Z', '123Z');
    const failed = rnd() < 0.02;
    const fields = [
      `src.addr=${srcIp}:${30000 + Math.floor(rnd() * 30000)}`,
      `src.workload="${src.app}-${hex(9)}-${hex(5)}"`, `src.namespace="${src.ns}"`, `src.identity="spiffe://cluster.local/ns/${src.ns}/sa/${src.sa}"`,
      inbound ? `dst.addr=${dstIp}:${port}` : `dst.addr=${dstIp}:15008`, `dst.hbone_addr=${dstIp}:${port}`,
      `dst.service="${dst.app}.${dst.ns}.svc.cluster.local"`, `dst.workload="${dst.app}-${hex(9)}-${hex(5)}"`, `dst.namespace="${dst.ns}"`,
      `dst.identity="spiffe://cluster.local/ns/${dst.ns}/sa/${dst.sa}"`, `direction="${inbound ? 'inbound' : 'outbound'}"`,
      `bytes_sent=${Math.floor(rnd() * 20000)}`, `bytes_recv=${Math.floor(rnd() * 4000)}`, `duration="${1 + Math.floor(rnd() * 900)}ms"`,
      ...(failed ? ['error="connection closed due to policy rejection"'] : []),
    ];
    out.push(`${t}\tinfo\taccess\tconnection complete\t${fields.join(' ')}`);
  }
  return out;
}
