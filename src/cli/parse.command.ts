/**
 * `meshtrail parse`: one JSON object per non-blank input line, in input order -- the normalised
 * flow, or `{"error": {"line", "reason", "detail"}}`. Nothing is stored.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { LineFormat, LineParser } from '../pipeline/contracts.js';
import { recordFor } from '../pipeline/ingest-stream.js';
import { LineSplitter } from '../sources/line-splitter.js';
import { openInput } from './input.js';

export async function parseCommand(file: string | undefined, format: LineFormat, out: Writable = process.stdout, parsers?: LineParser[]): Promise<void> {
  const { stream } = openInput(file);
  const splitter = new LineSplitter();
  let buffer = '';
  const write = async (force: boolean) => {
    if (buffer.length < 1 << 16 && !force) return;
    const ok = out.write(buffer);
    buffer = '';
    if (!ok) await once(out, 'drain');
  };
  const handle = async (lines: ReturnType<LineSplitter['push']>) => {
    for (const line of lines) {
      if (line.oversize === undefined && line.bytes.toString('utf8').trim() === '') continue;
      const r = recordFor(line, 'parse', { format, parsers });
      buffer += JSON.stringify(r.outcome.ok ? r.outcome.flow : { error: { line: line.lineNo, reason: r.outcome.reason, detail: r.outcome.detail } }) + '\n';
      await write(false);
    }
  };
  for await (const chunk of stream) await handle(splitter.push(chunk as Buffer));
  await handle(splitter.end());
  await write(true);
}
