/**
 * The Kafka source's open store transaction: records gathered from any number of kafkajs
 * batches and partitions, with the position each partition reaches once they are stored.
 *
 * kafkajs hands over what one fetch returned for one partition (tens of messages with small
 * producer batches); committing each of those alone makes the SQLite commit and the per-batch
 * fixed costs dominate. Gathering them here lets one transaction hold `batch_max_records`
 * records from every partition, with every partition's position written in it.
 */
import type { RawRecord, SourceBatch } from '../pipeline/contracts.js';

/** What one partition contributes to a pending batch. */
export interface PartitionSpan {
  /** Stream key, `kafka:<topic>/<partition>`. */
  key: string;
  topic: string;
  partition: number;
  /** Offset of the first message taken (its records may be none: blank messages). */
  from: number;
  /** The partition's position once stored: the offset after the last message taken. */
  next: number;
  /** The partition's high watermark when its last message was fetched (for the lag metric). */
  highWatermark: number;
  /** Records of this partition in the batch. */
  records: number;
}

/**
 * Records of several partitions, in offset order within each partition. Created for one
 * consumer-group generation (`epoch`): a rebalance makes it stale, and it is dropped unstored.
 */
export class PendingBatch {
  readonly records: RawRecord[] = [];
  private readonly spans = new Map<string, PartitionSpan>();

  constructor(readonly epoch: number) {}

  /** Records held. */
  get size(): number {
    return this.records.length;
  }

  /** True when no message was taken (a batch of only blank messages still moves positions). */
  get empty(): boolean {
    return this.spans.size === 0;
  }

  /** The position `key` reaches once this batch is stored, or undefined when it has no part in it. */
  next(key: string): number | undefined {
    return this.spans.get(key)?.next;
  }

  /** Takes the records of the message at `offset` (offsets of one partition must come in order). */
  add(key: string, topic: string, partition: number, offset: number, records: readonly RawRecord[], highWatermark: number): void {
    let span = this.spans.get(key);
    if (!span) this.spans.set(key, (span = { key, topic, partition, from: offset, next: offset + 1, highWatermark, records: 0 }));
    // One message can hold up to 65,536 lines: push one by one rather than spread them as arguments.
    for (const record of records) this.records.push(record);
    span.next = offset + 1;
    span.highWatermark = highWatermark;
    span.records += records.length;
  }

  /** Every partition's part, in the order they were first added. */
  partitions(): PartitionSpan[] {
    return [...this.spans.values()];
  }

  /** What the pipeline stores in one transaction: the records and every partition's new position. */
  toSourceBatch(): SourceBatch {
    const positions: SourceBatch['positions'] = [];
    const labels: Record<string, string> = {};
    for (const span of this.spans.values()) {
      positions.push({ source: span.key, position: span.next });
      labels[span.key] = `${span.topic}/${span.partition}`;
    }
    return { records: this.records, positions, labels };
  }
}
