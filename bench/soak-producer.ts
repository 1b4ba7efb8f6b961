/**
 * The soak's producer, a child process forked by bench/soak.ts: generates the mixed corpus
 * (bench/corpus.ts) and produces one line per message, message i to partition i % P, but only up
 * to the credit the parent grants over IPC. Generation costs ~30 µs a line; running it here keeps
 * those synchronous chunks out of the parent's event loop, where they would inflate the API
 * latencies the parent measures.
 *
 * Protocol. argv[2] is the JSON {@link ProducerArgs}. Parent -> child: `{ credit }`, the total
 * number of messages that may have been produced so far (only grows). Child -> parent:
 * `{ produced, bytes }` after every acknowledged send, `{ done: true }` after the last one, and
 * `{ error }` before exiting 1.
 */
import kafkajs from 'kafkajs';
import { corpusChunks } from './corpus.js';

const { Kafka, logLevel } = kafkajs;

/** What the parent passes in argv[2]. */
export interface ProducerArgs {
  brokers: string[];
  topic: string;
  partitions: number;
  lines: number;
  seed: number;
}

/** Messages sent to the parent. */
export type ProducerReport = { produced: number; bytes: number } | { done: true } | { error: string };

const PER_SEND = 1000;

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ProducerArgs;
  const send = (m: ProducerReport) => process.send?.(m);
  let credit = 0;
  let wake: (() => void) | null = null;
  process.on('message', (m: { credit?: number }) => {
    if (typeof m.credit === 'number' && m.credit > credit) {
      credit = m.credit;
      wake?.();
    }
  });
  // The parent going away (IPC closed) ends the producer too.
  process.on('disconnect', () => process.exit(0));
  const waitForCredit = () => new Promise<void>((resolve) => { wake = () => { wake = null; resolve(); }; });

  const producer = new Kafka({
    clientId: 'meshtrail-soak', brokers: args.brokers, logLevel: logLevel.ERROR, connectionTimeout: 1000, requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  let bytes = 0;
  try {
    for (const chunk of corpusChunks('mixed', args.lines, args.seed)) {
      let i = 0;
      while (i < chunk.length) {
        // Small sends only at the very end; otherwise wait for credit for a full one.
        const want = Math.min(PER_SEND, chunk.length - i, args.lines - produced);
        while (credit - produced < want) await waitForCredit();
        const slice = chunk.slice(i, i + want);
        const messages = slice.map((value, j) => ({ value, partition: (produced + j) % args.partitions }));
        await producer.send({ topic: args.topic, acks: 1, messages });
        for (const v of slice) bytes += Buffer.byteLength(v);
        produced += slice.length;
        i += slice.length;
        send({ produced, bytes });
      }
    }
    send({ done: true });
  } finally {
    await producer.disconnect();
  }
}

main().then(
  () => process.disconnect?.(),
  (err: unknown) => {
    process.send?.({ error: (err as Error).stack ?? String(err) } satisfies ProducerReport, () => process.exit(1));
  },
);
