/**
 * Drains the findings outbox into every configured sink.
 *
 * Guarantees:
 * - Each sink has its own lane (a loop) and its own cursor in `sink_cursors`: a slow or dead
 *   receiver delays only its own lane, never the others.
 * - Order and at-least-once: a lane reads up to `batch_max_events` events after its cursor, in
 *   seq order, and moves the cursor past them only when the sink answered `'ok'` (the receiver
 *   acknowledged). On `retry` the SAME events are sent again after an exponential backoff with
 *   jitter (`retry.initial_ms` .. `retry.max_ms`, at least the receiver's Retry-After), for as
 *   long as it takes: a receiver down for an hour delays delivery and loses nothing. Receivers
 *   may see an event twice (after a timeout or a crash between ack and cursor write) and
 *   deduplicate by `event_id`.
 * - `reject` (the receiver refused the configuration: bad token, bad index, TLS verification)
 *   parks the lane: it stops sending, logs at error, counts the failure and shows
 *   `state: parked` with the reason in `status()` / `GET /api/v1/sinks`, until restart or
 *   {@link SinkDispatcher.unpark}. Nothing is skipped: the cursor stays where it was.
 * - A row of the outbox that does not decode parks the lane too (code `outbox_row_invalid`)
 *   rather than being skipped.
 *
 * Raw flows (a sink with `flows:`): the same lane also forwards the flows its filter selects, from
 * its own flow cursor (flow-feed.ts), in separate batches and only when no findings event is
 * waiting, so findings always go first. Flows keep their own failure state: a flows batch that
 * fails waits its own backoff without delaying findings, and one the receiver rejects parks flow
 * forwarding only. Flows deleted by retention before the sink read them are counted (`lost`:
 * metric, warn log, `GET /api/v1/sinks`), never skipped silently.
 *
 * Shutdown: `stop(deadline)` stops starting new sends, lets in-flight sends finish until the
 * deadline (then aborts them; an aborted batch is simply resent after restart), closes the sinks.
 * `start` and `stop` are idempotent; `stop` before `start` is a no-op.
 */
import type { SinkFlowsFilter, SinkRetry, SinkStatus } from '../../schemas/sinks-config.js';
import type { Logger } from '../telemetry/logger.js';
import type { Registry } from '../telemetry/metrics.js';
import type { FlowFeed } from './flow-feed.js';
import { sinkMetrics, type SinkMetrics } from './metrics.js';
import { OutboxRowError, type SinkStateStore } from './outbox.js';
import { backoffMs } from './retry.js';
import type { SendResult, Sink } from './sink.js';

/** How a lane delivers: the per-sink knobs of the `sinks:` config. */
export interface LaneConfig {
  batch_max_events: number;
  poll_interval_ms: number;
  retry: SinkRetry;
  /** Also forward the flows this filter selects (absent: findings only). */
  flows?: SinkFlowsFilter | undefined;
}

/** What a lane is doing right now. */
export type LaneState = SinkStatus['state'];

/** Constructor input of {@link SinkDispatcher}. */
export interface DispatcherOptions {
  outbox: SinkStateStore;
  /** Raw flows, needed when any sink has `flows`. */
  flows?: FlowFeed;
  sinks: { sink: Sink; config: LaneConfig }[];
  logger: Logger;
  /** Registry to create the sink metrics on (or ready-made metrics). */
  metrics?: Registry | SinkMetrics;
  /** Jitter source; tests inject a fixed one. */
  random?: () => number;
}

/** Longest Retry-After honoured. */
const MAX_RETRY_AFTER_MS = 3_600_000;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Failure state of a lane's raw-flow forwarding, kept apart from the findings' own. */
class FlowStream {
  state: LaneState = 'starting';
  started = false;
  consecutive = 0;
  retryAt: number | null = null;
  parked: { code: string; message: string; at: number } | null = null;
  constructor(readonly filter: SinkFlowsFilter, readonly feed: FlowFeed) {}
}

class Lane {
  state: LaneState = 'starting';
  consecutive = 0;
  nextAttemptAt: number | null = null;
  parked: { code: string; message: string; at: number } | null = null;
  inflight: AbortController | null = null;
  done: Promise<void> = Promise.resolve();
  readonly flows: FlowStream | null;
  private wake: (() => void) | null = null;
  private readonly log: Logger;

  constructor(readonly sink: Sink, readonly config: LaneConfig, private readonly d: SinkDispatcher, logger: Logger) {
    this.log = logger.child({ component: 'sink', sink: sink.name, sink_type: sink.type });
    if (config.flows && !d.flowFeed) throw new Error(`sink ${sink.name} forwards flows but the dispatcher has no flow feed`);
    if (config.flows && !sink.sendFlows) throw new Error(`sink ${sink.name} (${sink.type}) cannot forward flows`);
    this.flows = config.flows && d.flowFeed ? new FlowStream(config.flows, d.flowFeed) : null;
  }

  /** Ends a wait early (new events, unpark, stop). */
  interrupt(only?: LaneState): void {
    if (only && this.state !== only) return;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => { this.wake = null; resolve(); }, ms) : null;
      this.wake = () => { if (timer) clearTimeout(timer); this.wake = null; resolve(); };
    });
  }

  unpark(): void {
    if (!this.parked) return;
    this.log.warn({ code: this.parked.code }, 'Sink unparked; delivery resumes from its cursor.');
    this.parked = null;
    this.consecutive = 0;
    this.d.metrics.parked.set({ sink: this.sink.name }, 0);
    this.interrupt();
  }

  private park(code: string, message: string): void {
    this.parked = { code, message, at: Date.now() };
    this.state = 'parked';
    this.nextAttemptAt = null;
    this.d.outbox.recordError(this.sink.name, code, message);
    this.d.metrics.failures.inc({ sink: this.sink.name, outcome: 'reject', reason: code });
    this.d.metrics.parked.set({ sink: this.sink.name }, 1);
    this.log.error({ stage: 'sending', reason: code, err_message: message, cursor: this.d.outbox.getCursor(this.sink.name) },
      'Sink PARKED: the receiver rejected the configuration; nothing more is sent to it until the configuration is fixed and meshtrail restarted. No event is lost: delivery resumes from the cursor.');
  }

  async run(): Promise<void> {
    const name = this.sink.name;
    this.d.metrics.parked.set({ sink: name }, 0);
    while (!this.d.stopping) {
      if (this.parked) {
        this.state = 'parked';
        await this.sleep(Infinity);
        continue;
      }
      let events;
      try {
        events = this.d.outbox.read(this.d.outbox.getCursor(name), this.config.batch_max_events);
      } catch (err) {
        if (err instanceof OutboxRowError) { this.park(err.code, err.message); continue; }
        await this.failed({ retry: 'outbox_read', detail: `reading the outbox failed: ${(err as Error).message}` });
        continue;
      }
      if (events.length === 0) {
        if (this.flows && await this.flowStep(this.flows)) continue;
        this.state = 'idle';
        await this.sleep(this.idleMs());
        continue;
      }
      const result = await this.attempt((signal) => this.sink.send(events, signal));
      if (result === 'ok') {
        const last = events[events.length - 1]!;
        this.d.outbox.setCursor(name, last.seq, events.length);
        this.d.metrics.delivered.inc({ sink: name }, events.length);
        if (this.consecutive > 0) this.log.info({ failures: this.consecutive, cursor: last.seq }, 'Sink recovered; receiver acknowledged again.');
        this.consecutive = 0;
        this.nextAttemptAt = null;
        this.log.debug({ events: events.length, cursor: last.seq }, 'Batch delivered.');
      } else if ('retry' in result) {
        await this.failed(result);
      } else {
        this.park(result.code, result.reject);
      }
    }
    this.state = 'stopped';
    if (this.flows) this.flows.state = 'stopped';
  }

  /** How long an idle lane waits: the poll interval, or less when a flows retry is due sooner. */
  private idleMs(): number {
    const at = this.flows?.parked ? null : this.flows?.retryAt ?? null;
    return at === null ? this.config.poll_interval_ms : Math.max(0, Math.min(this.config.poll_interval_ms, at - Date.now()));
  }

  /**
   * One step of raw-flow forwarding, run when no findings event is waiting: reads the next
   * window after the flow cursor and sends its matching flows. Returns whether it did any work
   * (so the lane looks at findings again before idling).
   */
  private async flowStep(fs: FlowStream): Promise<boolean> {
    if (fs.parked) return false;
    if (fs.retryAt !== null) {
      if (Date.now() < fs.retryAt) return false;
      fs.retryAt = null;
    }
    const name = this.sink.name;
    let batch;
    try {
      if (!fs.started) {
        const { state, created } = fs.feed.start(name);
        fs.started = true;
        if (created) this.log.info({ flow_cursor: state.flow_id, filter: fs.filter }, 'Flow forwarding starts with the flows stored from now on; older flows are not forwarded.');
        else this.log.info({ flow_cursor: state.flow_id, lag: fs.feed.lag(name), filter: fs.filter }, 'Flow forwarding resumes after its cursor.');
      }
      batch = fs.feed.read(name, fs.filter, this.config.batch_max_events);
    } catch (err) {
      this.flowsFailed(fs, { retry: 'flows_read', detail: `reading flows failed: ${(err as Error).message}` });
      return true;
    }
    if (!batch) {
      fs.state = 'idle';
      return false;
    }
    let result: SendResult = 'ok';
    if (batch.flows.length > 0) {
      fs.state = 'sending';
      const flows = batch.flows;
      result = await this.attempt((signal) => this.sink.sendFlows!(flows, signal));
    }
    if (result === 'ok') {
      fs.feed.advance(name, batch);
      if (batch.flows.length > 0) this.d.metrics.flowsDelivered.inc({ sink: name }, batch.flows.length);
      if (batch.lost > 0) {
        this.d.metrics.flowsLost.inc({ sink: name }, batch.lost);
        this.log.warn({ stream: 'flows', lost: batch.lost, after_flow_id: batch.after, to_flow_id: batch.end },
          'Flows were deleted by retention before this sink forwarded them: the receiver will never get them. Counted in meshtrail_sink_flows_lost_total and GET /api/v1/sinks; keep the receiver up or raise retention.flows_days.');
      }
      if (fs.consecutive > 0) this.log.info({ stream: 'flows', failures: fs.consecutive, flow_cursor: batch.end }, 'Flow forwarding recovered; receiver acknowledged again.');
      fs.consecutive = 0;
      fs.state = 'idle';
    } else if ('retry' in result) {
      this.flowsFailed(fs, result);
    } else {
      fs.parked = { code: result.code, message: result.reject, at: Date.now() };
      fs.state = 'parked';
      this.d.outbox.recordError(name, result.code, result.reject);
      this.d.metrics.failures.inc({ sink: name, outcome: 'reject', reason: result.code });
      this.log.error({ stage: 'sending', stream: 'flows', reason: result.code, err_message: result.reject, flow_cursor: batch.after },
        'Flow forwarding PARKED: the receiver rejected a flows batch; findings are still delivered. No flow is skipped: after fixing the configuration, restart meshtrail and flows resume from the cursor.');
    }
    return true;
  }

  /** A failed flows send: schedule its retry without blocking findings. */
  private flowsFailed(fs: FlowStream, result: { retry: string; afterMs?: number; detail?: string }): void {
    if (this.d.stopping) return;
    fs.consecutive++;
    const delay = this.retryAfterFailure(result, fs.consecutive);
    fs.retryAt = Date.now() + delay;
    fs.state = 'retrying';
    this.log.warn({ stage: 'sending', stream: 'flows', reason: result.retry, err_message: result.detail, attempt: fs.consecutive, retry_in_ms: delay },
      'Flows send failed; retrying the same flows after a backoff (findings are not held up).');
  }

  /**
   * Records a failed send (the sink's last error, the failure metric) and returns how long to wait
   * before the `attempt`th retry. A receiver's Retry-After is honoured, up to an hour (a bogus huge
   * value must not park the sink).
   */
  private retryAfterFailure(result: { retry: string; afterMs?: number; detail?: string }, attempt: number): number {
    this.d.outbox.recordError(this.sink.name, result.retry, result.detail ?? result.retry);
    this.d.metrics.failures.inc({ sink: this.sink.name, outcome: 'retry', reason: result.retry });
    return Math.max(Math.min(result.afterMs ?? 0, MAX_RETRY_AFTER_MS), backoffMs(this.config.retry, attempt, this.d.random));
  }

  /**
   * One send to the receiver, findings or flows: abortable by stop() (through `inflight`), timed
   * in `sendSeconds`, and a sink that throws counts as a retriable failure, not a crash.
   */
  private async attempt(send: (signal: AbortSignal) => Promise<SendResult>): Promise<SendResult> {
    this.state = 'sending';
    const ac = new AbortController();
    this.inflight = ac;
    const t0 = process.hrtime.bigint();
    try {
      return await send(ac.signal);
    } catch (err) {
      return { retry: 'exception', detail: `sink threw: ${(err as Error).message}` };
    } finally {
      this.inflight = null;
      this.d.metrics.sendSeconds.observe({ sink: this.sink.name }, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  private async failed(result: { retry: string; afterMs?: number; detail?: string }): Promise<void> {
    if (this.d.stopping) return;
    this.consecutive++;
    const delay = this.retryAfterFailure(result, this.consecutive);
    this.nextAttemptAt = Date.now() + delay;
    this.state = 'retrying';
    this.log.warn({ stage: 'sending', reason: result.retry, err_message: result.detail, attempt: this.consecutive, retry_in_ms: delay },
      'Sink send failed; retrying the same batch after a backoff.');
    await this.sleep(delay);
    this.nextAttemptAt = null;
  }
}

/** Delivers outbox events to every sink, each at its own pace. */
export class SinkDispatcher {
  /** @internal */ readonly outbox: SinkStateStore;
  /** @internal */ readonly flowFeed: FlowFeed | undefined;
  /** @internal */ readonly metrics: SinkMetrics;
  /** @internal */ readonly random: () => number;
  /** @internal */ stopping = false;
  private readonly lanes: Lane[];
  private readonly log: Logger;
  private started = false;
  private stopped: Promise<void> | null = null;

  constructor(options: DispatcherOptions) {
    this.outbox = options.outbox;
    this.flowFeed = options.flows;
    this.log = options.logger.child({ component: 'sinks' });
    this.random = options.random ?? Math.random;
    const m = options.metrics;
    this.metrics = m && 'delivered' in m ? m : sinkMetrics(m ?? undefined);
    const names = new Set<string>();
    for (const { sink } of options.sinks) {
      if (names.has(sink.name)) throw new Error(`two sinks are named ${sink.name}; names key the outbox cursors and must be unique`);
      names.add(sink.name);
    }
    this.lanes = options.sinks.map(({ sink, config }) => new Lane(sink, config, this, options.logger));
    this.metrics.registry.onCollect(() => {
      for (const lane of this.lanes) {
        try {
          this.metrics.lag.set({ sink: lane.sink.name }, this.outbox.lag(lane.sink.name));
          if (lane.flows) this.metrics.flowsLag.set({ sink: lane.sink.name }, lane.flows.feed.lag(lane.sink.name));
        } catch {
          // The database may be closed during shutdown; a missing gauge beats a failed scrape.
        }
      }
    });
  }

  /** Starts every lane; resolves at once (delivery runs in the background). Idempotent. */
  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    this.forgetFlowCursors();
    for (const lane of this.lanes) {
      lane.done = lane.run().catch((err: unknown) => {
        // run() handles every expected failure; reaching here is a bug, so say so loudly.
        lane.state = 'stopped';
        this.log.error({ sink: lane.sink.name, err }, 'Sink lane crashed; this sink delivers nothing until restart.');
      });
    }
    this.log.info({ sinks: this.lanes.map((l) => `${l.sink.name}(${l.sink.type})`) }, 'Sink dispatcher started.');
  }

  /**
   * Drops the flow cursor of every configured sink whose `flows:` was removed, so that turning
   * it on again later starts from then instead of replaying (and reporting as lost) everything
   * stored while it was off.
   */
  private forgetFlowCursors(): void {
    if (!this.flowFeed) return;
    for (const lane of this.lanes) {
      if (lane.flows) continue;
      try {
        const old = this.flowFeed.forget(lane.sink.name);
        if (old) {
          this.log.warn({ sink: lane.sink.name, flow_cursor: old.flow_id, delivered: old.delivered, lost: old.lost },
            'Flow forwarding is off for this sink now; its flow cursor was dropped. Turning it on again starts from the flows stored from then on.');
        }
      } catch (err) {
        this.log.warn({ sink: lane.sink.name, err }, 'Could not drop the flow cursor of a sink without flows.');
      }
    }
  }

  /** Wakes idle lanes now (call after committing new outbox rows) instead of at their next poll. */
  notify(): void {
    for (const lane of this.lanes) lane.interrupt('idle');
  }

  /** Takes a parked sink back into service (after its receiver was fixed); false if unknown or not parked. */
  unpark(name: string): boolean {
    const lane = this.lanes.find((l) => l.sink.name === name);
    if (!lane?.parked) return false;
    lane.unpark();
    return true;
  }

  /** Every sink's state, in configuration order. */
  status(): SinkStatus[] {
    return this.lanes.map((lane) => {
      const s = this.outbox.state(lane.sink.name);
      return {
        name: lane.sink.name,
        type: lane.sink.type,
        state: lane.parked ? 'parked' : lane.state,
        cursor: s.seq,
        lag: this.outbox.lag(lane.sink.name),
        delivered: s.delivered,
        failures: s.failures,
        consecutive_failures: lane.consecutive,
        next_attempt_at: iso(lane.nextAttemptAt),
        last_success_at: iso(s.last_success_at),
        last_error: s.last_error_code && s.last_error_at !== null
          ? { code: s.last_error_code, message: s.last_error ?? '', at: iso(s.last_error_at)! }
          : null,
        parked: lane.parked ? { code: lane.parked.code, message: lane.parked.message, at: iso(lane.parked.at)! } : null,
        ...(lane.flows ? { flows: this.flowStatus(lane, lane.flows) } : {}),
      };
    });
  }

  private flowStatus(lane: Lane, fs: FlowStream): NonNullable<SinkStatus['flows']> {
    const s = fs.feed.state(lane.sink.name);
    return {
      filter: fs.filter,
      state: lane.parked || fs.parked ? 'parked' : fs.state !== 'stopped' && fs.retryAt !== null ? 'retrying' : fs.state,
      cursor: s?.flow_id ?? 0,
      started_at_flow_id: s?.started_at_flow_id ?? 0,
      lag: s ? fs.feed.lag(lane.sink.name) : 0,
      delivered: s?.delivered ?? 0,
      lost: s?.lost ?? 0,
      last_lost_at: iso(s?.last_lost_at ?? null),
      consecutive_failures: fs.consecutive,
      next_attempt_at: iso(fs.retryAt),
      last_success_at: iso(s?.last_success_at ?? null),
      parked: fs.parked ? { code: fs.parked.code, message: fs.parked.message, at: iso(fs.parked.at)! } : null,
    };
  }

  /**
   * Stops delivery: no new sends; in-flight sends may finish until `deadline` (epoch ms), then
   * are aborted; sinks are closed. Idempotent; safe before {@link start}.
   */
  stop(deadline: number = Date.now() + 10_000): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    this.stopped = (async () => {
      for (const lane of this.lanes) lane.interrupt();
      const all = Promise.all(this.lanes.map((l) => l.done));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - Date.now())); });
      if ((await Promise.race([all, expired])) === 'expired') {
        for (const lane of this.lanes) lane.inflight?.abort();
        this.log.warn('Sink drain deadline reached; in-flight sends aborted (they are resent after restart).');
        await all;
      }
      clearTimeout(timer);
      await Promise.all(this.lanes.map((l) => l.sink.close().catch((err: unknown) => this.log.warn({ sink: l.sink.name, err }, 'Closing a sink failed.'))));
      if (this.started) this.log.info('Sink dispatcher stopped.');
    })();
    return this.stopped;
  }
}
