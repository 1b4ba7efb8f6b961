/**
 * Kafka topics as a {@link Source} (kafkajs consumer group): nothing lost, nothing doubled.
 *
 * Guarantees.
 * - Ack. A chunk of at most `batch_max_records` records (cut at message boundaries; one message
 *   with more lines goes alone) is handed to the pipeline together with the partition's new
 *   position (the next offset to consume), which the store writes in the same transaction as
 *   the rows. Only after that commit is the offset resolved and committed to Kafka. Kafka's
 *   committed offset therefore never runs ahead of SQLite; it may lag behind (a crash between
 *   the two commits, a commit skipped during a rebalance), which only costs a skipped re-read.
 * - Resume from SQLite, not from Kafka. On every (re)assignment each partition with a stored
 *   position is sought to it (`start` resolves once that is done). Defensively, at the start of
 *   every batch the stored position is compared again with where Kafka fetched from: messages
 *   below it are already stored and are skipped (not re-parsed); a fetch from above it (Kafka's
 *   committed offset ahead of the database, e.g. a restored backup) makes the source seek back.
 * - Gaps. If the stored position is below the partition's log start (retention deleted messages
 *   before they were stored), the gap is logged as an error, counted in
 *   `meshtrail_kafka_gap_messages_total` and `meshtrail_source_errors_total{reason="gap"}`, and
 *   consumption continues from the log start -- never silently. kafkajs uses its `fromBeginning`
 *   both for new partitions and for OFFSET_OUT_OF_RANGE resets, so it is always true here (a
 *   reset to the end would skip data unseen).
 * - New partitions. A partition with no stored position starts at the group's committed offset
 *   (a partition handed over by another instance continues where that one stored up to); with
 *   none either, at the log start, or at the end with `from_beginning: false`.
 * - Ordering. Within a partition, records are delivered in offset order, one chunk at a time
 *   (partitions are processed one at a time, as SQLite has one writer anyway).
 * - Back-pressure. The pipeline's promise is awaited inside kafkajs's `eachBatch`, so the
 *   consumer fetches nothing more until it resolves; memory is bounded by one fetch
 *   (`max_bytes_per_partition` per partition) plus one chunk. Chunks are cut from what one fetch
 *   returned (never held across fetches); `batch_max_wait_ms` is how long a fetch waits for data.
 * - Store failures. When the pipeline rejects, nothing is resolved or committed; the same chunk
 *   is offered again after a backoff (heartbeating meanwhile, so the member keeps its
 *   partitions), until it is stored, the partition is revoked or the source stops -- in the
 *   last two cases kafkajs re-delivers it later from the last resolved offset.
 * - Shutdown. `stop()` (idempotent, safe before `start`) stops handing out new chunks, lets the
 *   chunk in flight commit, then leaves the group and disconnects. Kafka commits are skipped
 *   once the consumer is stopping or the partition is stale (`!isRunning() || isStale()`); the
 *   stored positions make that harmless.
 *
 * Metrics: `meshtrail_kafka_consumer_lag{source,topic,partition}` = high watermark - next offset,
 * updated after every chunk; errors in `meshtrail_source_errors_total{source,reason}`.
 */
import kafkajs from 'kafkajs';
import type { Admin, Batch, Consumer, EachBatchPayload, KafkaMessage, LogEntry } from 'kafkajs';
import type { KafkaSourceConfig } from '../../schemas/config.js';
import type { BatchHandler, RawRecord, Source, SourceBatch } from '../pipeline/contracts.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import { MeshtrailError } from '../errors.js';
import { kafkaClientConfig, kafkaConsumerConfig, type ReadFile } from './kafka-client-options.js';
import { kafkaGapMessages } from './kafka-metrics.js';
import { kafkaStreamKey, messageRecords } from './kafka-records.js';

const { Kafka, logLevel } = kafkajs;

/** What the Kafka source needs from the process. */
export interface KafkaSourceDeps {
  /** Stored positions (`store.sources.get`) are where partitions resume. */
  store: Pick<Store, 'sources'>;
  metrics: IngestMetrics;
  logger: Logger;
  /** Reads the TLS files named in `ssl`; tests inject it. */
  readFile?: ReadFile;
  /** Backoff between deliveries of a chunk the pipeline rejected, ms. */
  retry?: { initialMs: number; maxMs: number };
}

/** Kafka errors that mean "the group is rebalancing": kafkajs must see them to rejoin. */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP']);

/**
 * The Kafka source: see the module comment. Construct with the validated config section
 * (`KafkaSourceConfigSchema` output) and the process's store, metrics and logger.
 */
export class KafkaSource implements Source {
  readonly name: string;
  /** Never resolves (a followed stream); rejects when the consumer crashed for good. */
  readonly done: Promise<void>;
  private readonly config: KafkaSourceConfig;
  private readonly deps: KafkaSourceDeps;
  private readonly log: Logger;
  private handler: BatchHandler | null = null;
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private starting: Promise<void> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  /** Per partition: the stored position whose gap was already reported. */
  private readonly gapReported = new Map<string, number>();
  /** Partitions with a lag series, per topic, so revoked ones can be dropped. */
  private readonly lagSeries = new Map<string, Set<number>>();
  private readonly wakers = new Set<() => void>();
  private rejectDone!: (err: unknown) => void;
  /** Settles once the current assignment's partitions have been positioned. */
  private assigned: Promise<void> = Promise.resolve();

  constructor(config: KafkaSourceConfig, deps: KafkaSourceDeps) {
    this.config = config;
    this.deps = deps;
    this.name = config.name ?? `kafka:${config.group_id}`;
    this.log = deps.logger.child({ component: 'kafka', source: this.name });
    this.done = new Promise<void>((_resolve, reject) => {
      this.rejectDone = reject;
    });
    // Nobody may be listening when the consumer dies; that must not crash the process by itself.
    this.done.catch(() => {});
  }

  /**
   * Connects, subscribes and joins the group; resolves once the consumer is running. Rejects
   * with an error naming the brokers when they cannot be reached. A no-op after `stop`.
   */
  start(handler: BatchHandler): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.handler) return Promise.reject(new Error(`${this.name}: already started`));
    this.handler = handler;
    this.starting = this.connectAndRun();
    return this.starting;
  }

  /** Stops intake, lets the chunk in flight commit, leaves the group and disconnects. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      for (const wake of [...this.wakers]) wake();
      await this.starting?.catch(() => {});
      await this.release();
      this.log.info('Kafka source stopped.');
    })();
    return this.stopped;
  }

  private async connectAndRun(): Promise<void> {
    const brokers = this.config.brokers.join(',');
    const kafka = new Kafka({ ...kafkaClientConfig(this.config, this.deps.readFile), logLevel: this.kafkajsLevel(), logCreator: () => (e) => this.kafkajsLog(e) });
    const consumer = kafka.consumer(kafkaConsumerConfig(this.config));
    this.consumer = consumer;
    this.admin = kafka.admin();
    let fatal: unknown = null;
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      this.deps.metrics.sourceErrors.inc({ source: this.name, reason: restart ? 'consumer_restart' : 'consumer_crash' });
      if (restart) {
        this.log.warn({ err: error }, 'Kafka consumer failed; kafkajs restarts it (uncommitted chunks are re-delivered).');
        return;
      }
      fatal = error;
      this.log.error({ err: error }, 'Kafka consumer crashed and will not restart.');
      this.rejectDone(new MeshtrailError('ERR_INPUT_UNREADABLE', `${this.name}: Kafka consumer crashed: ${error.message}`, { cause: error }));
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment;
      this.log.info({ assignment, leader: e.payload.isLeader }, 'Joined the consumer group.');
      this.dropLagOfRevoked(assignment);
      // Batches wait for this (see onBatch), so nothing is processed from a position not yet decided.
      this.assigned = this.positionAssigned(assignment).catch((err: unknown) => {
        // Not fatal: the per-batch check still refuses to skip past a stored position.
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'resume_failed' });
        this.log.error({ err }, 'Could not position the assigned partitions.');
      });
    });
    try {
      await consumer.connect();
      await this.admin.connect();
    } catch (cause) {
      await this.release();
      throw new MeshtrailError('ERR_INPUT_UNREADABLE', `${this.name}: cannot connect to Kafka brokers ${brokers}: ${(cause as Error).message}`, { cause });
    }
    if (this.stopping) return;
    // Always from the beginning: kafkajs uses this also when a position fell off the log
    // (OFFSET_OUT_OF_RANGE), and jumping to the end there would skip data silently. A
    // `from_beginning: false` start is applied by positionAssigned instead.
    await consumer.subscribe({ topics: [...this.config.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    // The first join happened inside run(); `start` resolves once its partitions are positioned.
    await this.assigned;
    if (fatal) {
      await this.release();
      throw new MeshtrailError('ERR_INPUT_UNREADABLE', `${this.name}: Kafka consumer for brokers ${brokers} failed to start: ${(fatal as Error).message}`, { cause: fatal });
    }
    this.log.info({ brokers, topics: this.config.topics, group: this.config.group_id }, 'Kafka source started.');
  }

  private async release(): Promise<void> {
    // disconnect() stops the runner, which waits for the eachBatch in flight before leaving.
    const results = await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: r.reason }, 'Kafka disconnect failed.');
  }

  /** One kafkajs batch: the messages of one partition from one fetch. */
  private async onBatch(p: EachBatchPayload): Promise<void> {
    await this.assigned;
    // Fetched before the partition was positioned (a seek is pending): drop it, kafkajs refetches.
    if (p.isStale()) return;
    const { batch } = p;
    const { topic, partition } = batch;
    const key = kafkaStreamKey(topic, partition);
    const firstMessage = batch.messages[0];
    if (!firstMessage) return;
    const first = Number(firstMessage.offset);
    const stored = this.deps.store.sources.get(key)?.position ?? null;

    if (stored !== null && first > stored) {
      // Where kafkajs fetched from (the offset asked for; `first` may be later when offsets in
      // between hold no messages: compaction, transaction markers).
      const fetched = Number((batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? first);
      if (fetched > stored) {
        const from = await this.resumePoint(topic, partition, stored);
        if (fetched > from) {
          this.log.warn({ topic, partition, stored, fetched, seekTo: from }, 'Kafka is past the stored position; seeking back to it.');
          this.consumer!.seek({ topic, partition, offset: String(from) });
          return;
        }
      }
    }

    const messages = stored === null ? batch.messages : batch.messages.filter((m) => Number(m.offset) >= stored);
    if (messages.length === 0) {
      // Everything in this batch is already stored: move on, and let Kafka catch up with SQLite.
      const last = batch.messages[batch.messages.length - 1]!;
      p.resolveOffset(last.offset);
      await this.commit(p, topic, partition, Number(last.offset) + 1);
      return;
    }

    let chunk: RawRecord[] = [];
    let chunkLast: KafkaMessage | null = null;
    for (const message of messages) {
      const offset = Number(message.offset);
      const { records, overflow } = messageRecords(key, offset, message.value);
      if (overflow) {
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'too_many_lines' });
        this.log.error({ topic, partition, offset }, 'Kafka message has more than 65536 lines; the rest is kept as one record (quarantined).');
      }
      if (chunk.length > 0 && chunk.length + records.length > this.config.batch_max_records) {
        if (!(await this.deliver(p, batch, chunk, chunkLast!))) return;
        chunk = [];
      }
      chunk.push(...records);
      chunkLast = message;
    }
    await this.deliver(p, batch, chunk, chunkLast!);
  }

  /**
   * Where a partition whose stored position Kafka is past continues: the stored position, or
   * the log start when retention deleted messages before they were stored (a gap, logged and
   * counted once per stored position).
   */
  private async resumePoint(topic: string, partition: number, stored: number): Promise<number> {
    const offsets = await this.admin!.fetchTopicOffsets(topic);
    const low = Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
    if (stored >= low) return stored;
    const key = kafkaStreamKey(topic, partition);
    if (this.gapReported.get(key) !== stored) {
      this.gapReported.set(key, stored);
      const lost = low - stored;
      kafkaGapMessages(this.deps.metrics.registry).inc({ source: this.name, topic, partition: String(partition) }, lost);
      this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'gap' });
      this.log.error({ stage: 'receiving', reason: 'gap', topic, partition, stored, logStart: low, lost },
        'Kafka retention deleted messages before they were stored; continuing from the log start.');
    }
    return low;
  }

  /**
   * On (re)assignment, points every partition with a stored position at it: SQLite, not Kafka,
   * says where to resume. With `from_beginning: false`, a partition with neither a stored
   * position nor a committed group offset starts at its end.
   */
  private async positionAssigned(assignment: Record<string, number[]>): Promise<void> {
    if (this.stopping) return;
    const resume: Record<string, number> = {};
    const unpositioned: { topic: string; partition: number }[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const stored = this.deps.store.sources.get(kafkaStreamKey(topic, partition))?.position ?? null;
        if (stored === null) {
          unpositioned.push({ topic, partition });
          continue;
        }
        this.consumer!.seek({ topic, partition, offset: String(stored) });
        resume[`${topic}/${partition}`] = stored;
      }
    }
    if (Object.keys(resume).length > 0) this.log.info({ resume }, 'Resuming partitions from their stored positions.');
    if (this.config.from_beginning || unpositioned.length === 0) return;
    const topics = [...new Set(unpositioned.map((u) => u.topic))];
    const committed = await this.admin!.fetchOffsets({ groupId: this.config.group_id, topics });
    const latest: Record<string, number> = {};
    for (const topic of topics) {
      const fresh = unpositioned.filter((u) => u.topic === topic && Number(
        committed.find((c) => c.topic === topic)?.partitions.find((x) => x.partition === u.partition)?.offset ?? -1) < 0);
      if (fresh.length === 0) continue;
      const offsets = await this.admin!.fetchTopicOffsets(topic);
      for (const { partition } of fresh) {
        const high = offsets.find((o) => o.partition === partition)?.high;
        if (high === undefined) continue;
        this.consumer!.seek({ topic, partition, offset: high });
        latest[`${topic}/${partition}`] = Number(high);
      }
    }
    if (Object.keys(latest).length > 0) this.log.info({ latest }, 'New partitions start at their end (from_beginning: false).');
  }

  /**
   * Delivers one chunk and, once stored, resolves and commits its last offset. Retries a
   * rejected delivery while the partition is still ours. Returns false when processing of this
   * kafkajs batch must end (stopping, stale, or given up).
   */
  private async deliver(p: EachBatchPayload, batch: Batch, records: RawRecord[], last: KafkaMessage): Promise<boolean> {
    const { topic, partition } = batch;
    const key = kafkaStreamKey(topic, partition);
    const next = Number(last.offset) + 1;
    const sourceBatch: SourceBatch = {
      records,
      positions: [{ source: key, position: next }],
      labels: { [key]: `${topic}/${partition}` },
    };
    const retry = this.deps.retry ?? { initialMs: 200, maxMs: 10_000 };
    for (let attempt = 1; ; attempt++) {
      if (!p.isRunning() || p.isStale() || this.stopping) return false;
      try {
        this.log.debug({ topic, partition, from: records[0]?.position.pos ?? null, next, records: records.length }, 'Delivering chunk.');
        await this.handler!(sourceBatch);
        break;
      } catch (err) {
        const delayMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (attempt - 1));
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'deliver_failed' });
        this.log.error({ err, stage: 'processing', reason: 'deliver_failed', topic, partition, next, attempt, delayMs },
          'Storing a Kafka chunk failed; offsets not committed, retrying.');
        await this.pause(p, delayMs);
      }
    }
    p.resolveOffset(last.offset);
    this.setLag(topic, partition, Number(batch.highWatermark) - next);
    await this.commit(p, topic, partition, next);
    if (p.isRunning() && !p.isStale()) await p.heartbeat();
    return true;
  }

  /** Commits `next` for the partition to Kafka, unless stopping or stale. */
  private async commit(p: EachBatchPayload, topic: string, partition: number, next: number): Promise<void> {
    if (!p.isRunning() || p.isStale()) return;
    try {
      await p.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(next) }] }] });
    } catch (err) {
      // kafkajs must see a rebalance to rejoin; any other failure is only a lagging Kafka
      // offset (SQLite holds the truth) that the next commit repairs.
      if (REBALANCE_ERRORS.has((err as { type?: string }).type ?? '')) throw err;
      this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'commit_failed' });
      this.log.warn({ err, topic, partition, next }, 'Committing the Kafka offset failed; SQLite has the position, the next commit catches up.');
    }
  }

  /** Waits `ms` while heartbeating, so a slow retry does not cost the partition; ends early on stop. */
  private async pause(p: EachBatchPayload, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!this.stopping && p.isRunning() && !p.isStale()) {
      const left = end - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, this.config.heartbeat_interval_ms));
        this.wakers.add(wake);
      });
      if (!this.stopping) await p.heartbeat();
    }
  }

  private dropLagOfRevoked(assignment: Record<string, number[]>): void {
    for (const [topic, partitions] of this.lagSeries) {
      const mine = new Set(assignment[topic] ?? []);
      for (const partition of partitions) {
        if (mine.has(partition)) continue;
        this.deps.metrics.consumerLag.delete({ source: this.name, topic, partition: String(partition) });
        partitions.delete(partition);
      }
    }
  }

  private setLag(topic: string, partition: number, lag: number): void {
    this.deps.metrics.consumerLag.set({ source: this.name, topic, partition: String(partition) }, Math.max(0, lag));
    let partitions = this.lagSeries.get(topic);
    if (!partitions) this.lagSeries.set(topic, (partitions = new Set()));
    partitions.add(partition);
  }

  private kafkajsLevel(): number {
    return this.log.isLevelEnabled('debug') ? logLevel.INFO : logLevel.WARN;
  }

  private kafkajsLog(entry: LogEntry): void {
    const { message, error, groupId, retryCount, retryTime, broker, topic, partition } = entry.log as unknown as Record<string, unknown>;
    // A whitelist: kafkajs entries can carry request payloads; only these fields are logged.
    const fields = { kafkajs: entry.namespace, error, groupId, retryCount, retryTime, broker, topic, partition };
    const text = `kafkajs: ${String(message)}`;
    if (entry.level === logLevel.ERROR) this.log.error(fields, text);
    else if (entry.level === logLevel.WARN) this.log.warn(fields, text);
    else if (entry.level === logLevel.INFO) this.log.debug(fields, text);
    else this.log.trace(fields, text);
  }
}
