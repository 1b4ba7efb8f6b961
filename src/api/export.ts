/**
 * Streamed exports (`format=ndjson|csv`) of list endpoints. Memory stays bounded whatever the
 * export size: rows are read with a lazy iterator in chunks, each chunk is written as one
 * string, and when `res.write` reports a full socket buffer the export waits for 'drain'.
 *
 * A chunk's iterator is always closed before the export awaits anything, and the next chunk
 * re-seeks by the last row's key: no statement stays open across ticks, so other requests and
 * the ingest writer keep using the shared connection while a long export runs. A client that
 * disconnects stops the export at the next chunk.
 */
import { setImmediate as nextTick } from 'node:timers/promises';
import type { Response } from 'express';
import type { Keyed } from '../store/flows.query.js';
import { csvHeader, csvRow, type CsvColumn } from './csv.js';

/** Rows per chunk: bounds how long one tick holds the event loop. */
const CHUNK_ROWS = 1000;
/** Characters per write. */
const CHUNK_CHARS = 64 * 1024;

/** What to export. */
export interface ExportSpec<T, K> {
  format: 'ndjson' | 'csv';
  /** File name stem for Content-Disposition. */
  name: string;
  columns: CsvColumn[];
  /** Rows after `after` (all rows when undefined), lazily. */
  rows: (after: K | undefined) => Iterable<Keyed<T, K>>;
  /** Resume after this key (the request's cursor). */
  after?: K | undefined;
  /** At most this many rows. */
  limit?: number | undefined;
}

/** Waits until `res` can take more data (or is gone). */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Streams every row of `spec` to `res`; resolves with the number of rows sent. */
export async function streamExport<T, K>(res: Response, spec: ExportSpec<T, K>): Promise<number> {
  const csv = spec.format === 'csv';
  res.status(200);
  res.type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  res.set('Content-Disposition', `attachment; filename="${spec.name}.${csv ? 'csv' : 'ndjson'}"`);
  const encode = csv ? (item: T) => csvRow(spec.columns.map((c) => c.get(item))) : (item: T) => `${JSON.stringify(item)}\n`;
  const max = spec.limit ?? Number.POSITIVE_INFINITY;
  let after = spec.after;
  let sent = 0;
  let buf = csv ? csvHeader(spec.columns) : '';
  for (;;) {
    let more = false;
    let n = 0;
    for (const row of spec.rows(after)) {
      buf += encode(row.item);
      after = row.key;
      sent++;
      if (sent >= max) break;
      if (++n >= CHUNK_ROWS || buf.length >= CHUNK_CHARS) { more = true; break; }
    }
    if (res.destroyed) return sent;
    const flushed = buf === '' || res.write(buf);
    buf = '';
    if (!more) break;
    if (!flushed) await drained(res);
    else await nextTick();
    if (res.destroyed) return sent;
  }
  res.end();
  return sent;
}
