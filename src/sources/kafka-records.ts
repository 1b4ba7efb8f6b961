/**
 * Pure helpers of the Kafka source: the stream key of a partition, and the split of a Kafka
 * message value into raw records with their positions.
 *
 * A message may hold one access-log line, one shipper record (Fluent Bit / Vector JSON), or
 * several newline-separated lines; each non-blank line becomes one record at
 * `offset * 65536 + index of the line`. Blank lines are skipped but still counted, so the
 * position of a line never depends on its neighbours' content.
 */
import type { RawRecord } from '../pipeline/contracts.js';

/** How many line positions one Kafka offset spans (see `Position.pos`). */
export const LINES_PER_MESSAGE = 65_536;

/** The stream key of a partition in the `sources` table: `kafka:<topic>/<partition>`. */
export function kafkaStreamKey(topic: string, partition: number): string {
  return `kafka:${topic}/${partition}`;
}

/** The records of one message, and whether it had more lines than positions (see below). */
export interface MessageRecords {
  records: RawRecord[];
  /**
   * True when the message held more than {@link LINES_PER_MESSAGE} lines: the lines from the
   * last index on were kept together as one record (which then fails to parse and is
   * quarantined with its bytes) rather than overflow into the next offset's positions.
   */
  overflow: boolean;
}

/** Splits a message value into records positioned at `offset * 65536 + line index`. */
export function messageRecords(source: string, offset: number, value: Buffer | null): MessageRecords {
  if (value === null || value.length === 0) return { records: [], overflow: false };
  const whole = value.toString('utf8');
  const base = offset * LINES_PER_MESSAGE;
  // Most messages hold one line: no split, no intermediate array (this runs once per message).
  if (!whole.includes('\n')) {
    const text = whole.endsWith('\r') ? whole.slice(0, -1) : whole;
    return { records: text.trim() === '' ? [] : [{ text, position: { source, pos: base, line: null } }], overflow: false };
  }
  const lines = whole.split('\n');
  let overflow = false;
  if (lines.length > LINES_PER_MESSAGE) {
    overflow = true;
    lines.splice(LINES_PER_MESSAGE - 1, lines.length, lines.slice(LINES_PER_MESSAGE - 1).join('\n'));
  }
  const records: RawRecord[] = [];
  lines.forEach((raw, index) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    records.push({ text, position: { source, pos: base + index, line: null } });
  });
  return { records, overflow };
}
