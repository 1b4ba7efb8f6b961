/**
 * A followed (or read-once) log file as a {@link Source}: nothing lost, nothing doubled.
 *
 * Identity and resume. A stream is identified by the fingerprint of its first non-blank line
 * (`content:<hash>`, the key `meshtrail ingest` uses), so `meshtrail ingest FILE` followed by a
 * file source on the same file resumes instead of storing everything twice. A stream's position
 * is the byte offset of its next unread line; it is committed in the same transaction as the
 * records it covers (the handler resolves only after that commit), and on start the source
 * resumes from the committed position of the stream it finds at the path.
 *
 * Reading. One 1 MiB `pread` into a reused buffer at a time, split into lines by byte offset.
 * A batch (bounded by records and bytes) is delivered and awaited before anything more is read,
 * so at most one batch and one chunk are held in memory. A last line without its newline is held
 * back (its start is the committed position) until the newline arrives; only when the file is
 * complete -- `follow: false` at EOF, or a rotated-away file that stayed idle for
 * `rotate_wait_ms` -- is such a line delivered as it is.
 *
 * Following. The path is polled (fs.watch misses renames and is unreliable on network and
 * container filesystems). Rotation by rename (or deletion): the old descriptor is kept open and
 * read to its end, including lines written to it after the rename, until it has been idle for
 * `rotate_wait_ms`; meanwhile the new file at the path is read from offset 0 as a new stream.
 * Copytruncate: when the file becomes shorter than what was read, or its first line changed, it
 * is a new stream read from offset 0.
 *
 * Delivery failures. When the handler rejects, nothing advances: after a backoff the source
 * re-reads from the last committed position and delivers again (the store's unique positions make
 * a replay harmless). After `maxAttempts` consecutive failures (default: unlimited) it stops and
 * `done` rejects with the last error.
 *
 * Line numbers. Exact when a stream is read from offset 0, or when resuming from a position this
 * source committed (it stores the line number in the position's meta). When resuming from a
 * position without one (written by `meshtrail ingest`), records carry `line: null`.
 *
 * Known limits (shared with Vector's checksum fingerprinting): a new file whose first line is
 * byte-identical to an already stored stream's is taken for that stream and resumes at its
 * position; and lines appended to a rotated-away file after the source stopped are not read on
 * restart (only the path is opened).
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import type { BatchHandler, RawRecord, Source, SourceBatch } from '../pipeline/contracts.js';
import { fingerprint } from '../pipeline/ingest-stream.js';
import type { Store } from '../store/store.js';
import { MeshtrailError } from '../errors.js';
import { LineSplitter, type SplitLine } from './line-splitter.js';

/** Configuration of a file source, as it appears in the YAML config (snake_case). */
export const FileSourceConfigSchema = z.strictObject({
  /** The file to read; it may not exist yet when following. */
  path: z.string().min(1),
  /** Keep reading as the file grows and across rotation; `false` reads to EOF and finishes. */
  follow: z.boolean(),
  /** How often the path is checked for new data, rotation and truncation. */
  poll_interval_ms: z.number().int().positive().default(250),
  batch_max_records: z.number().int().positive().default(2000),
  batch_max_bytes: z.number().int().positive().default(4 << 20),
  /** Longer lines are delivered over this length so the runner quarantines them (set both to the same value). */
  max_line_bytes: z.number().int().min(8192).default(1 << 20),
  /** How long a rotated-away or deleted file must stay idle before its descriptor is closed. */
  rotate_wait_ms: z.number().int().nonnegative().default(5000),
});

/** What a caller passes (defaults not yet applied). */
export type FileSourceConfig = z.input<typeof FileSourceConfigSchema>;

/** The committed state of a stream: its resume position and the meta written with it. */
export interface CommittedPosition {
  position: number | null;
  meta?: Record<string, unknown> | null;
}

/** Reads the committed position of a stream key; `store.sources.get` fits. */
export type PositionLookup = (key: string) => CommittedPosition | undefined;

/** Something that happened to the source, for logs and metrics. */
export type FileSourceEvent =
  | { kind: 'opened'; path: string; dev: number; ino: number }
  | { kind: 'stream'; path: string; source: string; from: number; resumed: boolean }
  | { kind: 'rotated'; path: string; dev: number; ino: number }
  | { kind: 'truncated'; path: string; source: string | null }
  | { kind: 'closed'; path: string; dev: number; ino: number }
  | { kind: 'deliver_failed'; path: string; source: string; attempt: number; delayMs: number; error: unknown }
  | { kind: 'read_failed'; path: string; error: unknown };

/** Tuning knobs and observers that are not part of the YAML config. */
export interface FileSourceOptions {
  /** Observes rotations, truncations and failures. */
  onEvent?: (event: FileSourceEvent) => void;
  /** Backoff after a rejected delivery, ms. */
  retry?: { initialMs: number; maxMs: number };
  /** Consecutive rejected deliveries of the same data before the source gives up. */
  maxAttempts?: number;
  /** Size of each read. */
  readChunkBytes?: number;
}

/** How much of the first line the fingerprint covers (see `fingerprint`). */
const PROBE_BYTES = 8192;

/** One open file descriptor and the stream being read from it. */
interface Reader {
  fh: FileHandle;
  dev: number;
  ino: number;
  /** Stream key, null until the first non-blank line is complete. */
  key: string | null;
  /** Raw bytes of the first line (up to PROBE_BYTES) and where: re-read to detect a rewrite. */
  probe: { offset: number; bytes: Buffer } | null;
  /** Next byte to read from the descriptor. */
  readOffset: number;
  splitter: LineSplitter;
  /** Offset after the last complete line taken into the current batch, and its line number. */
  next: number;
  nextLine: number;
  /** Offset (and line number) the store has committed for this stream. */
  committed: number;
  committedLine: number;
  /** Whether line numbers are absolute (read from 0, or resumed with a stored line number). */
  linesKnown: boolean;
  records: RawRecord[];
  batchBytes: number;
  /** Consecutive failed deliveries. */
  failures: number;
  /** For rotated-away readers: last time data was read. */
  lastDataAt: number;
}

/** Raised to end the read loop once deliveries have failed `maxAttempts` times. */
class GaveUp extends Error {}

/**
 * A file source: see the module comment. Construct with the config and the store (or any
 * {@link PositionLookup}), then `start(handler)`.
 */
export class FileSource implements Source {
  readonly name: string;
  readonly done: Promise<void>;
  private readonly config: z.output<typeof FileSourceConfigSchema>;
  private readonly lookup: PositionLookup;
  private readonly options: FileSourceOptions;
  private readonly buf: Buffer;
  /** Splitter limit: one byte over the line limit, so an over-long line reaches the runner over it. */
  private readonly splitLimit: number;
  private handler: BatchHandler | null = null;
  private current: Reader | null = null;
  private draining: Reader[] = [];
  private loop: Promise<void> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;

  constructor(config: FileSourceConfig, positions: Store | PositionLookup, options: FileSourceOptions = {}) {
    const parsed = FileSourceConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new MeshtrailError('ERR_CONFIG_INVALID', `file source: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    this.config = parsed.data;
    this.name = `file:${this.config.path}`;
    this.lookup = typeof positions === 'function' ? positions : (key) => positions.sources.get(key);
    this.options = options;
    this.buf = Buffer.allocUnsafe(options.readChunkBytes ?? 1 << 20);
    this.splitLimit = this.config.max_line_bytes + 1;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // `done` may reject with nobody listening (a followed source that gave up); that must not crash the process.
    this.done.catch(() => {});
  }

  /**
   * Opens the file and starts reading in the background. Rejects when not following and the file
   * cannot be opened; when following, a missing file is waited for. A no-op after `stop`.
   */
  async start(handler: BatchHandler): Promise<void> {
    if (this.stopping) return;
    if (this.handler) throw new Error(`${this.name}: already started`);
    this.handler = handler;
    try {
      this.current = await this.open();
    } catch (err) {
      if (this.config.follow && isNotFound(err)) this.current = null;
      else throw inputError(this.config.path, err);
    }
    if (this.stopping) {
      // stop() ran while the file was opening and found nothing to close.
      await this.closeAll();
      return;
    }
    this.loop = this.run();
  }

  /** Stops reading, lets the batch in flight commit, closes the files. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.wake?.();
      if (this.loop) await this.loop;
      else await this.closeAll();
    })();
    return this.stopped;
  }

  private async run(): Promise<void> {
    try {
      if (this.config.follow) await this.follow();
      else {
        const r = this.current!;
        await this.pump(r, true);
        if (!this.stopping) this.resolveDone();
      }
    } catch (err) {
      if (err instanceof GaveUp) this.rejectDone(err.cause);
      else if (err instanceof MeshtrailError) this.rejectDone(err);
      else this.rejectDone(inputError(this.config.path, err));
    } finally {
      await this.closeAll();
    }
  }

  private async follow(): Promise<void> {
    while (!this.stopping) {
      let busy = false;
      for (const r of [...this.draining]) {
        if (this.stopping) return;
        busy = (await this.guard(r, () => this.drainStep(r))) || busy;
      }
      if (this.stopping) return;
      if (this.current === null) {
        try {
          this.current = await this.open();
        } catch (err) {
          if (!isNotFound(err)) this.emit({ kind: 'read_failed', path: this.config.path, error: err });
        }
      }
      const r = this.current;
      if (r) {
        // Checked before every read, not only when idle: a file truncated and regrown past our
        // offset (or rewritten in place) must not have its new bytes read as the old stream's.
        busy = (await this.guard(r, async () => (await this.check(r)) || (await this.pump(r, false)) > 0)) || busy;
      }
      if (!busy) await this.sleep(this.config.poll_interval_ms);
    }
  }

  /** Runs one step on a reader; a read error closes it (it is reopened by identity from the path). */
  private async guard(r: Reader, step: () => Promise<boolean>): Promise<boolean> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof GaveUp) throw err;
      this.emit({ kind: 'read_failed', path: this.config.path, error: err });
      await this.close(r);
      return false;
    }
  }

  /** Reads a rotated-away file; closes it once idle for `rotate_wait_ms`, delivering a last unterminated line. */
  private async drainStep(r: Reader): Promise<boolean> {
    if ((await this.pump(r, false)) > 0) {
      r.lastDataAt = Date.now();
      return true;
    }
    if (Date.now() - r.lastDataAt < this.config.rotate_wait_ms) return false;
    await this.pump(r, true);
    if (!this.stopping) await this.close(r);
    return true;
  }

  /**
   * Before reading the current file: detects truncation (shorter than read, or first line rewritten)
   * and rotation (the path is gone or names another file). Returns true when something changed.
   */
  private async check(r: Reader): Promise<boolean> {
    const size = Number((await r.fh.stat({ bigint: true })).size);
    if (size < r.readOffset || (await this.probeChanged(r))) {
      this.emit({ kind: 'truncated', path: this.config.path, source: r.key });
      this.newStream(r);
      return true;
    }
    let now: fs.BigIntStats | null = null;
    try {
      now = await fs.promises.stat(this.config.path, { bigint: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (now && Number(now.dev) === r.dev && Number(now.ino) === r.ino) return false;
    this.emit({ kind: 'rotated', path: this.config.path, dev: r.dev, ino: r.ino });
    r.lastDataAt = Date.now();
    this.draining.push(r);
    this.current = null;
    return true;
  }

  private async probeChanged(r: Reader): Promise<boolean> {
    if (!r.probe) return false;
    const { offset, bytes } = r.probe;
    const now = Buffer.alloc(bytes.length);
    const { bytesRead } = await r.fh.read(now, 0, bytes.length, offset);
    return bytesRead !== bytes.length || !now.equals(bytes);
  }

  /**
   * Reads from the reader's offset to EOF, delivering full batches and, at EOF, the rest.
   * `final` treats the file as complete: its unterminated last line is delivered too.
   * Returns the number of bytes read.
   */
  private async pump(r: Reader, final: boolean): Promise<number> {
    let total = 0;
    while (!this.stopping) {
      const { bytesRead } = await r.fh.read(this.buf, 0, this.buf.length, r.readOffset);
      if (bytesRead > 0) {
        // The file may have been rewritten between the last check and this read: then these
        // bytes belong to a new stream. One small pread per chunk, not per line.
        if (await this.probeChanged(r)) {
          // Complete lines already taken from the old stream are still good: deliver them first.
          if (!(await this.deliver(r))) continue;
          this.emit({ kind: 'truncated', path: this.config.path, source: r.key });
          this.newStream(r);
          continue;
        }
        r.readOffset += bytesRead;
        total += bytesRead;
        await this.take(r, r.splitter.push(this.buf.subarray(0, bytesRead)));
        continue;
      }
      if (final && !(await this.take(r, r.splitter.end()))) continue;
      if (await this.deliver(r)) break;
    }
    return total;
  }

  /**
   * Adds lines to the reader's batch, delivering whenever it is full. Returns false when the
   * reader was repositioned (resumed, or rewound after a failed delivery): the remaining lines
   * are stale and the caller reads again from the reader's offset.
   */
  private async take(r: Reader, lines: SplitLine[]): Promise<boolean> {
    for (const line of lines) {
      if (this.stopping) return false;
      const blank = line.oversize === undefined && isBlank(line.bytes);
      if (r.key === null) {
        if (!blank && (await this.identify(r, line))) return false;
      }
      r.next = line.next;
      r.nextLine = line.lineNo;
      if (blank) continue;
      r.records.push({ text: line.bytes.toString('utf8'), position: { source: r.key!, pos: line.offset, line: r.linesKnown ? line.lineNo : null } });
      r.batchBytes += line.bytes.length;
      if (r.records.length >= this.config.batch_max_records || r.batchBytes >= this.config.batch_max_bytes) {
        if (!(await this.deliver(r))) return false;
      }
    }
    return true;
  }

  /**
   * Names the stream after its first non-blank line and resumes at its committed position when
   * that lies further on. Returns true when the reader was repositioned.
   */
  private async identify(r: Reader, first: SplitLine): Promise<boolean> {
    const key = fingerprint(first.bytes);
    r.key = key;
    const probe = Buffer.alloc(Math.min(PROBE_BYTES, first.next - first.offset));
    const { bytesRead } = await r.fh.read(probe, 0, probe.length, first.offset);
    r.probe = { offset: first.offset, bytes: probe.subarray(0, bytesRead) };
    const stored = this.lookup(key);
    const at = stored?.position ?? null;
    // A stored position beyond this file's end belongs to a longer copy of the stream: reading
    // from the start then only replays (deduplicated) lines and stores the rest.
    if (at !== null && at > first.offset && at <= Number((await r.fh.stat({ bigint: true })).size)) {
      const line = stored?.meta?.line;
      r.linesKnown = typeof line === 'number';
      r.committed = at;
      r.committedLine = typeof line === 'number' ? line : 0;
      this.rewind(r);
      this.emit({ kind: 'stream', path: this.config.path, source: key, from: at, resumed: true });
      return true;
    }
    this.emit({ kind: 'stream', path: this.config.path, source: key, from: r.committed, resumed: false });
    return false;
  }

  /**
   * Hands the batch to the pipeline and waits for its commit. On rejection nothing advances:
   * after a backoff the reader rewinds to its committed position and false is returned.
   */
  private async deliver(r: Reader): Promise<boolean> {
    if (r.key === null || (r.records.length === 0 && r.next === r.committed)) return true;
    const meta = { path: this.config.path, dev: r.dev, ino: r.ino, line: r.linesKnown ? r.nextLine : null };
    const batch: SourceBatch = {
      records: r.records,
      positions: [{ source: r.key, position: r.next, meta }],
      labels: { [r.key]: this.config.path },
    };
    r.records = [];
    r.batchBytes = 0;
    try {
      await this.handler!(batch);
    } catch (error) {
      r.failures++;
      if (r.failures >= (this.options.maxAttempts ?? Infinity)) throw new GaveUp('delivery failed', { cause: error });
      const retry = this.options.retry ?? { initialMs: 200, maxMs: 10_000 };
      const delayMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (r.failures - 1));
      this.emit({ kind: 'deliver_failed', path: this.config.path, source: r.key, attempt: r.failures, delayMs, error });
      await this.sleep(delayMs);
      this.rewind(r);
      return false;
    }
    r.failures = 0;
    r.committed = r.next;
    r.committedLine = r.nextLine;
    return true;
  }

  /** Forgets everything read past the committed position. */
  private rewind(r: Reader): void {
    r.readOffset = r.committed;
    r.next = r.committed;
    r.nextLine = r.committedLine;
    r.splitter = new LineSplitter(r.committed, this.splitLimit, r.committedLine);
    r.records = [];
    r.batchBytes = 0;
  }

  /** The file at the descriptor is a new stream (truncated): read it from offset 0. */
  private newStream(r: Reader): void {
    r.key = null;
    r.probe = null;
    r.committed = 0;
    r.committedLine = 0;
    r.linesKnown = true;
    r.failures = 0;
    this.rewind(r);
  }

  private async open(): Promise<Reader> {
    const fh = await fs.promises.open(this.config.path, 'r');
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) throw Object.assign(new Error(`${this.config.path} is not a regular file`), { code: 'EISDIR' });
      const r: Reader = {
        fh, dev: Number(st.dev), ino: Number(st.ino), key: null, probe: null, readOffset: 0,
        splitter: new LineSplitter(0, this.splitLimit, 0), next: 0, nextLine: 0, committed: 0, committedLine: 0,
        linesKnown: true, records: [], batchBytes: 0, failures: 0, lastDataAt: Date.now(),
      };
      this.emit({ kind: 'opened', path: this.config.path, dev: r.dev, ino: r.ino });
      return r;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private async close(r: Reader): Promise<void> {
    if (this.current === r) this.current = null;
    this.draining = this.draining.filter((d) => d !== r);
    try {
      await r.fh.close();
    } catch {
      // Already closed or the descriptor is gone: nothing left to release.
    }
    this.emit({ kind: 'closed', path: this.config.path, dev: r.dev, ino: r.ino });
  }

  private async closeAll(): Promise<void> {
    for (const r of [...this.draining, ...(this.current ? [this.current] : [])]) await this.close(r);
  }

  /** Waits `ms`, or less when `stop` is called; leaves no timer behind. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private emit(event: FileSourceEvent): void {
    this.options.onEvent?.(event);
  }
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ENOENT';
}

function inputError(path: string, cause: unknown): MeshtrailError {
  if (isNotFound(cause)) return new MeshtrailError('ERR_INPUT_NOT_FOUND', path, { cause });
  return new MeshtrailError('ERR_INPUT_UNREADABLE', `${path}: ${(cause as Error).message}`, { cause });
}
