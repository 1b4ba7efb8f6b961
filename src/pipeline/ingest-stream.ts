/**
 * One-shot ingestion of a byte stream (a file or stdin): split into lines, decode, parse,
 * enrich, and write in batches, each batch one transaction with the stream's new position.
 *
 * The stream's identity is a fingerprint of its first line (as Vector's file source does), so
 * ingesting the same content again -- the same file, a copy of it, or the same lines piped on
 * stdin -- maps every line to the position it had before and stores nothing twice.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { LineFormat, LineParser } from './contracts.js';
import type { BatchRecord, Store } from '../store/store.js';
import { LineSplitter, type SplitLine } from '../sources/line-splitter.js';
import { processLine } from './process-line.js';

/** Options for {@link ingestStream}. */
export interface IngestOptions {
  format: LineFormat;
  /** Human name of the input (path or "stdin"), stored with the source. */
  label: string;
  /** Records per transaction. */
  batchSize?: number;
  /** Longer lines are quarantined as `line_too_long`. */
  maxLineBytes?: number;
  /** Extra parsers (custom templates) tried before the built-in ones. */
  parsers?: LineParser[];
  /** Called after every batch with the running totals. */
  onProgress?: (stats: IngestStats) => void;
}

/** Totals of an ingestion run. */
export interface IngestStats {
  lines: number;
  flows: number;
  quarantined: number;
  /** Lines whose position was already stored (re-ingested input). */
  duplicates: number;
  /** Whitespace-only lines: not records, counted so the totals add up. */
  blank: number;
  bytes: number;
  source: string | null;
}

/** Builds the batch record for one split line: a flow, or a failure with its reason. */
export function recordFor(line: SplitLine, source: string, options: Pick<IngestOptions, 'format' | 'parsers' | 'maxLineBytes'>): BatchRecord {
  const position = { source, pos: line.offset, line: line.lineNo };
  if (line.oversize !== undefined) {
    return {
      position,
      raw: line.bytes,
      outcome: { ok: false, reason: 'line_too_long', detail: `line is ${line.oversize} bytes, over the ${options.maxLineBytes ?? 1 << 20}-byte limit; its first ${line.bytes.length} bytes are kept` },
    };
  }
  const text = line.bytes.toString('utf8');
  return { position, raw: line.bytes, outcome: processLine(text, { format: options.format, parsers: options.parsers }) };
}

/** The source key of a stream whose first line is `first`. */
export function fingerprint(first: Buffer): string {
  return `content:${crypto.createHash('sha256').update(first.subarray(0, 8192)).digest('hex').slice(0, 24)}`;
}

/** Reads `input` to its end and stores every line; resolves with the totals. */
export async function ingestStream(store: Store, input: Readable, options: IngestOptions): Promise<IngestStats> {
  const batchSize = options.batchSize ?? 2000;
  const splitter = new LineSplitter(0, options.maxLineBytes ?? 1 << 20);
  const stats: IngestStats = { lines: 0, flows: 0, quarantined: 0, duplicates: 0, blank: 0, bytes: 0, source: null };
  let batch: BatchRecord[] = [];
  let next = 0;

  const flush = (): void => {
    if (stats.source === null) return;
    const r = store.writeBatch(batch, [{ source: stats.source, position: next }], { [stats.source]: options.label });
    stats.flows += r.flows;
    stats.quarantined += r.quarantined;
    stats.duplicates += r.duplicates;
    batch = [];
    options.onProgress?.(stats);
  };
  const take = (lines: SplitLine[]): void => {
    for (const line of lines) {
      stats.lines++;
      next = line.next;
      if (line.oversize === undefined && isBlank(line.bytes)) {
        stats.blank++;
        continue;
      }
      stats.source ??= fingerprint(line.bytes);
      batch.push(recordFor(line, stats.source, options));
      if (batch.length >= batchSize) flush();
    }
  };

  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    stats.bytes += buf.length;
    take(splitter.push(buf));
  }
  take(splitter.end());
  flush();
  return stats;
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}
