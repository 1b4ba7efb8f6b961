/**
 * Kafka topics as a {@link Source} (kafkajs consumer group): nothing lost, nothing doubled.
 *
 * Guarantees.
 * - Ack. Records are gathered across kafkajs batches and partitions into one store
 *   transaction (see kafka-pending.ts) of at most `batch_max_records` records (cut at message
 *   boundaries; one message with more lines goes alone), handed to the pipeline when it is full
 *   or `batch_max_wait_ms` after its first record. It carries every partition's new position
 *   (the next offset to consume), which the store writes in the same transaction as the rows.
 *   Only after that commit are the offsets committed to Kafka, all partitions in one request.
 *   Kafka's committed offset therefore never runs ahead of SQLite; it may lag behind (a crash
 *   between the two commits, a commit skipped during a rebalance), which only costs a re-read.
 * - Fetching ahead. kafkajs's resolved offset is only where its next fetch starts (autoCommit is
 *   off, and the source commits explicit offsets), so a batch's last offset is resolved as soon
 *   as its records are taken: kafkajs fetches the next messages while earlier ones wait for
 *   their transaction. Positions not yet stored live only in memory; anything that drops them
 *   (a rebalance, a stop, a crash) leaves SQLite's positions, where consumption resumes.
 * - Resume from SQLite, not from Kafka. On every (re)assignment each partition with a stored
 *   position is sought to it (`start` resolves once that is done). Defensively, at the start of
 *   every batch the stored (or pending) position is compared again with where Kafka fetched
 *   from: messages below it are already taken and are skipped (not re-parsed); a fetch from above
 *   it (Kafka's committed offset ahead of the database, e.g. a restored backup) makes the source
 *   seek back.
 * - Gaps. If the stored position is below the partition's log start (retention deleted messages
 *   before they were stored), the gap is logged as an error, counted in
 *   `meshtrail_kafka_gap_messages_total` and `meshtrail_source_errors_total{reason="gap"}`, and
 *   consumption continues from the log start -- never silently. kafkajs uses its `fromBeginning`
 *   both for new partitions and for OFFSET_OUT_OF_RANGE resets, so it is always true here (a
 *   reset to the end would skip data unseen).
 * - New partitions. A partition with no stored position starts at the group's committed offset
 *   (a partition handed over by another instance continues where that one stored up to); with
 *   none either, at the log start, or at the end with `from_beginning: false`.
 * - Ordering. Within a partition, records are delivered in offset order; one transaction is
 *   stored at a time (SQLite has one writer anyway).
 * - Back-pressure and memory. When the pending transaction is full, `eachBatch` awaits its
 *   commit (heartbeating meanwhile), so kafkajs fetches nothing more: memory is bounded by one
 *   fetch (`max_bytes_per_partition` per partition) plus one transaction being stored plus one
 *   being gathered (`batch_max_records` each).
 * - Rebalance. A new assignment drops the records still pending (unstored, unacknowledged) for
 *   every partition, waits for the transaction in flight, then positions the assigned partitions
 *   from SQLite: revoked partitions are left to their new owner, kept ones are re-read from
 *   their stored position.
 * - Store failures. When the pipeline rejects, nothing is committed to Kafka; the same
 *   transaction is offered again after a backoff until it is stored, a rebalance makes it stale
 *   or the source stops -- in the last two cases its records are re-read later from SQLite's
 *   positions.
 * - Lost membership. When kafkajs gives up on the consumer because the group no longer knows
 *   the member (evicted after a missed session timeout), the source joins again with a new
 *   member after a backoff (`meshtrail_source_errors_total{reason="consumer_replaced"}`); other
 *   crashes kafkajs does not restart from (authentication, authorisation) end the source.
 * - Shutdown. `stop()` (idempotent, safe before `start`) stops taking records, drops what is
 *   pending, lets the transaction in flight commit (and its Kafka commit), then leaves the group
 *   and disconnects. The stored positions make anything dropped harmless.
 *
 * Metrics: `meshtrail_kafka_consumer_lag{source,topic,partition}` = high watermark - next offset,
 * updated after every chunk; errors in `meshtrail_source_errors_total{source,reason}`.
 */
import kafkajs from 'kafkajs';
import type { Admin, Batch, Consumer, EachBatchPayload, LogEntry } from 'kafkajs';
import type { KafkaSourceConfig } from '../../schemas/config.js';
import type { BatchHandler, Source } from '../pipeline/contracts.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import { MeshtrailError } from '../errors.js';
import { kafkaClientConfig, kafkaConsumerConfig, type ReadFile } from './kafka-client-options.js';
import { kafkaGapMessages } from './kafka-metrics.js';
import { kafkaStreamKey, LINES_PER_MESSAGE, messageRecords } from './kafka-records.js';
import { PendingBatch } from './kafka-pending.js';

const { Kafka, logLevel } = kafkajs;

/** What the Kafka source needs from the process. */
export interface KafkaSourceDeps {
  /** Stored positions (`store.sources.get`) are where partitions resume. */
  store: Pick<Store, 'sources'>;
  metrics: IngestMetrics;
  logger: Logger;
  /** Reads the TLS files named in `ssl`; tests inject it. */
  readFile?: ReadFile;
  /** Backoff between deliveries of a transaction the pipeline rejected, ms. */
  retry?: { initialMs: number; maxMs: number };
}

/** Kafka errors that mean "the group is rebalancing": kafkajs must see them to rejoin. */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP']);

/**
 * True for a crash kafkajs does not restart from although a new member would work: the group
 * coordinator no longer knows the member. kafkajs heartbeats only from its fetch loop, so a loop
 * stuck longer than the session timeout (a downed partition leader, a long pause) gets the member
 * evicted; its next commit answers UNKNOWN_MEMBER_ID and kafkajs stops for good
 * (tulios/kafkajs#1568, #1630). Authentication or authorisation failures stay fatal.
 */
export function lostMembership(error: unknown): boolean {
  for (let e = error as { type?: string; name?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (e.type && MEMBERSHIP_ERRORS.has(e.type)) return true;
    if (e.name === 'KafkaJSGroupCoordinatorNotFound') return true;
    if (typeof e.message === 'string' && /coordinator is not aware of this member|specified group generation id is not valid/i.test(e.message)) return true;
  }
  return false;
}
const MEMBERSHIP_ERRORS = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR_FOR_GROUP', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR']);

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
  /** Consumer-group generation as seen here: a new assignment makes pending records stale. */
  private epoch = 0;
  /** The transaction being gathered. */
  private pending = new PendingBatch(0);
  /** The transaction being stored, if any. */
  private inflight: PendingBatch | null = null;
  /** Flushes run one after another on this chain; it never rejects. */
  private flushes: Promise<boolean> = Promise.resolve(true);
  /** Flushes a partly filled transaction `batch_max_wait_ms` after its first record. */
  private linger: NodeJS.Timeout | null = null;
  /** The latest kafkajs payload: its commit and liveness checks serve flushes started by the timer. */
  private payload: EachBatchPayload | null = null;

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

  /** Stops intake, lets the transaction in flight commit, leaves the group and disconnects. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.dropPending();
      for (const wake of [...this.wakers]) wake();
      await this.starting?.catch(() => {});
      await this.flushes;
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
    let running = false;
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      if (!restart && running && !this.stopping && lostMembership(error)) {
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'consumer_replaced' });
        this.log.warn({ err: error }, 'Kafka consumer lost its group membership and kafkajs will not restart it; joining with a new member (records not yet stored are re-read from the stored positions).');
        running = false;
        this.starting = this.replaceConsumer();
        return;
      }
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
      // Records gathered under the previous generation are dropped unstored (revoked partitions
      // belong to another member now; kept ones are re-read from their stored position), and a
      // transaction in flight gives up its retries.
      this.epoch++;
      this.dropPending();
      for (const wake of [...this.wakers]) wake();
      // Batches wait for this (see onBatch), so nothing is processed from a position not yet
      // decided; the transaction in flight settles first, so the stored positions are final.
      this.assigned = this.flushes.then(() => this.positionAssigned(assignment)).catch((err: unknown) => {
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
    running = true;
    this.log.info({ brokers, topics: this.config.topics, group: this.config.group_id }, 'Kafka source started.');
  }

  /**
   * Replaces a consumer kafkajs gave up on after losing its group membership (see
   * {@link lostMembership}): drops what is pending, lets the transaction in flight settle (its
   * Kafka commit may fail; SQLite holds the positions), disconnects, and joins again as a new
   * member -- retrying with backoff while the brokers are unreachable, until `stop`.
   */
  private async replaceConsumer(): Promise<void> {
    this.epoch++;
    this.dropPending();
    for (const wake of [...this.wakers]) wake();
    await this.flushes.catch(() => {});
    await this.release();
    for (let attempt = 1; !this.stopping; attempt++) {
      await this.sleep(Math.min(30_000, 250 * 2 ** (attempt - 1)));
      if (this.stopping) return;
      try {
        await this.connectAndRun();
        return;
      } catch (err) {
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'consumer_replace_failed' });
        this.log.error({ err, attempt }, 'Could not rejoin the Kafka consumer group; retrying.');
      }
    }
  }

  private async release(): Promise<void> {
    // disconnect() stops the runner, which waits for the eachBatch in flight before leaving.
    const results = await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: r.reason }, 'Kafka disconnect failed.');
  }

  /**
   * One kafkajs batch: the messages of one partition from one fetch. Their records join the
   * pending transaction; this returns once they are taken (or, when the transaction is full,
   * once it is stored), so kafkajs fetches on while they wait for their commit.
   */
  private async onBatch(p: EachBatchPayload): Promise<void> {
    await this.assigned;
    // Fetched before the partition was positioned (a seek is pending): drop it, kafkajs refetches.
    if (p.isStale() || this.stopping) return;
    this.payload = p;
    const epoch = this.epoch;
    const { batch } = p;
    const { topic, partition } = batch;
    const key = kafkaStreamKey(topic, partition);
    const firstMessage = batch.messages[0];
    if (!firstMessage) return;
    const first = Number(firstMessage.offset);
    // Where this partition continues: after what is pending or in flight, else the stored position.
    const taken = this.pending.next(key) ?? this.inflight?.next(key);
    const stored = this.deps.store.sources.get(key)?.position ?? null;
    const from = taken ?? stored;

    if (from !== null && first > from) {
      // Where kafkajs fetched from (the offset asked for; `first` may be later when offsets in
      // between hold no messages: compaction, transaction markers).
      const fetched = Number((batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? first);
      if (fetched > from) {
        const resume = await this.resumePoint(topic, partition, from);
        if (epoch !== this.epoch) return;
        if (fetched > resume) {
          this.log.warn({ topic, partition, stored: from, fetched, seekTo: resume }, 'Kafka is past the stored position; seeking back to it.');
          this.consumer!.seek({ topic, partition, offset: String(resume) });
          return;
        }
      }
    }

    const messages = from === null ? batch.messages : batch.messages.filter((m) => Number(m.offset) >= from);
    const last = batch.messages[batch.messages.length - 1]!;
    if (messages.length === 0) {
      // Everything in this batch is already taken: move on, and, when it is all stored, let
      // Kafka catch up with SQLite.
      p.resolveOffset(last.offset);
      if (taken === undefined) await this.commit(p, topic, partition, Number(last.offset) + 1);
      return;
    }

    const max = this.config.batch_max_records;
    const highWatermark = Number(batch.highWatermark);
    for (const message of messages) {
      const offset = Number(message.offset);
      const { records, overflow } = messageRecords(key, offset, message.value);
      if (overflow) {
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'too_many_lines' });
        this.log.error({ topic, partition, offset }, 'Kafka message has more than 65536 lines; the rest is kept as one record (quarantined).');
      }
      if (this.pending.size > 0 && this.pending.size + records.length > max) {
        // Full: store it before taking more (back-pressure). Offsets taken so far are resolved
        // first, so the partition's fetch position is right whatever happens next.
        if (this.pending.next(key) !== undefined) p.resolveOffset(String(this.pending.next(key)! - 1));
        if (!(await this.awaitHeartbeating(p, this.flush()))) return;
        if (epoch !== this.epoch || this.stopping || p.isStale()) return;
      }
      this.pending.add(key, topic, partition, offset, records, highWatermark);
    }
    p.resolveOffset(last.offset);
    if (this.pending.size >= max) {
      await this.awaitHeartbeating(p, this.flush());
    } else if (!this.pending.empty && this.linger === null) {
      this.linger = setTimeout(() => {
        this.linger = null;
        void this.flush();
      }, this.config.batch_max_wait_ms);
    }
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
   * Stores the pending transaction once the one in flight (if any) is done. Resolves true when
   * what was pending is stored (or nothing was), false when it was dropped (rebalance, stop).
   * Never rejects.
   */
  private flush(): Promise<boolean> {
    this.flushes = this.flushes.then(async () => {
      if (this.linger) clearTimeout(this.linger);
      this.linger = null;
      const batch = this.pending;
      if (batch.empty) return true;
      this.pending = new PendingBatch(this.epoch);
      this.inflight = batch;
      try {
        return await this.store(batch);
      } finally {
        this.inflight = null;
      }
    }).catch((err: unknown) => {
      // store() handles its own failures; this only keeps the chain alive if that ever breaks.
      this.log.error({ err }, 'Flushing a Kafka transaction failed unexpectedly.');
      return false;
    });
    return this.flushes;
  }

  /**
   * Hands one transaction to the pipeline, retrying a rejection with backoff while it is still
   * current, then commits every partition's new position to Kafka.
   */
  private async store(batch: PendingBatch): Promise<boolean> {
    const sourceBatch = batch.toSourceBatch();
    const spans = batch.partitions();
    const retry = this.deps.retry ?? { initialMs: 200, maxMs: 10_000 };
    for (let attempt = 1; ; attempt++) {
      if (this.stopping || batch.epoch !== this.epoch) return false;
      try {
        if (this.log.isLevelEnabled('debug')) {
          for (const s of spans) {
            this.log.debug({ topic: s.topic, partition: s.partition, from: s.from * LINES_PER_MESSAGE, next: s.next, records: s.records }, 'Delivering chunk.');
          }
        }
        await this.handler!(sourceBatch);
        break;
      } catch (err) {
        const delayMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (attempt - 1));
        this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'deliver_failed' });
        this.log.error({ err, stage: 'processing', reason: 'deliver_failed', partitions: spans.length, records: batch.size, attempt, delayMs },
          'Storing a Kafka transaction failed; offsets not committed, retrying.');
        await this.sleep(delayMs);
      }
    }
    for (const s of spans) this.setLag(s.topic, s.partition, s.highWatermark - s.next);
    const p = this.payload;
    if (p && batch.epoch === this.epoch) {
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const s of spans) {
        let partitions = byTopic.get(s.topic);
        if (!partitions) byTopic.set(s.topic, (partitions = []));
        partitions.push({ partition: s.partition, offset: String(s.next) });
      }
      await this.commitOffsets(p, [...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
    }
    return true;
  }

  /** Commits `next` for one partition to Kafka, unless stopping or stale. */
  private async commit(p: EachBatchPayload, topic: string, partition: number, next: number): Promise<void> {
    if (p.isStale()) return;
    await this.commitOffsets(p, [{ topic, partitions: [{ partition, offset: String(next) }] }]);
  }

  /**
   * Commits offsets to Kafka, unless the consumer is stopping. A failure is only a lagging Kafka
   * offset (SQLite holds the truth) that the next commit repairs; kafkajs learns of a rebalance
   * from its own heartbeat.
   */
  private async commitOffsets(p: EachBatchPayload, topics: { topic: string; partitions: { partition: number; offset: string }[] }[]): Promise<void> {
    if (!p.isRunning()) return;
    try {
      await p.commitOffsetsIfNecessary({ topics });
    } catch (err) {
      if (REBALANCE_ERRORS.has((err as { type?: string }).type ?? '')) {
        this.log.debug({ err, topics }, 'Kafka offset commit refused during a rebalance; SQLite has the positions.');
        return;
      }
      this.deps.metrics.sourceErrors.inc({ source: this.name, reason: 'commit_failed' });
      this.log.warn({ err, topics }, 'Committing Kafka offsets failed; SQLite has the positions, the next commit catches up.');
    }
  }

  /** Drops the transaction being gathered: nothing of it was stored or acknowledged. */
  private dropPending(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    this.pending = new PendingBatch(this.epoch);
  }

  /**
   * Waits for `work` inside kafkajs's eachBatch, heartbeating so a slow store does not cost the
   * partitions. A heartbeat that reports a rebalance rejects, so kafkajs rejoins.
   */
  private async awaitHeartbeating(p: EachBatchPayload, work: Promise<boolean>): Promise<boolean> {
    let result: boolean | null = null;
    const done = work.then((ok) => {
      result = ok;
    });
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.config.heartbeat_interval_ms); });
      await Promise.race([done, tick]);
      clearTimeout(timer);
      if (result !== null) return result;
      if (!this.stopping && p.isRunning() && !p.isStale()) await p.heartbeat();
    }
  }

  /** Waits `ms`; ends early on stop or a new assignment. */
  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
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
