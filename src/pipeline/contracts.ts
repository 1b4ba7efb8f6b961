/**
 * The contracts between pipeline stages: source -> decode -> parse -> enrich -> store.
 *
 * A record moves left to right once. Every record carries its position so that the store can
 * write it idempotently (UNIQUE source + pos) and a source can resume from the last committed
 * position. A record that cannot be decoded or parsed is not an exception: it becomes a
 * `ParseFailure` and is quarantined with its reason, its raw text and its position.
 */
import type { Flow, Reporter } from '../../schemas/flow.js';

/** Where a record came from, precise enough to write it exactly once. */
export interface Position {
  /** Stable identity of the stream: `file:<dev>:<ino>`, `stdin:<sha256-prefix>`, `kafka:<topic>/<partition>`. */
  source: string;
  /**
   * Monotonic position inside that stream: the byte offset of the line for files, and for Kafka
   * `offset * 65536 + index of the line inside the message` (a message may hold several lines).
   */
  pos: number;
  /** 1-based line number for files and stdin; null where lines are not counted (Kafka). */
  line: number | null;
}

/** One raw access-log line (possibly still wrapped in an envelope) with its position. */
export interface RawRecord {
  text: string;
  position: Position;
}

/** What the envelope around a line told us. */
export interface Envelope {
  /** The access-log line itself, envelope removed. */
  line: string;
  /** Which wrapper was removed (`none` when the line was bare). */
  kind: 'none' | 'cri' | 'docker-json' | 'shipper';
  /** Reporter facts the envelope carried (pod, namespace, container, labels). */
  reporter: Partial<Reporter>;
}

/** Why a line could not become a flow. `reason` is a low-cardinality code; `detail` says more. */
export interface ParseFailure {
  ok: false;
  reason: string;
  detail: string;
}

export interface ParseSuccess {
  ok: true;
  flow: Flow;
}

export type ParseOutcome = ParseSuccess | ParseFailure;

/** The line formats meshtrail recognises; `auto` detects per line. */
export const LINE_FORMATS = ['auto', 'istio-text', 'istio-json'] as const;
export type LineFormat = (typeof LINE_FORMATS)[number];

/**
 * A parser for one line format. `detect` is cheap and decides per line (formats are detected
 * per line, never assumed for a whole stream); `parse` turns the bare line (envelope already
 * removed) into a flow with the access-log keys and `format` set, or a failure with a reason.
 * Enrichment (direction, destination, identity, mTLS verdict) runs after it, on every format.
 */
export interface LineParser {
  /** Format name as it appears in `flow.format`, e.g. `istio-text`, `istio-json`, `ztunnel-plain`. */
  name: string;
  detect(line: string): boolean;
  parse(line: string): ParseOutcome;
}

/** A batch a source hands to the pipeline: raw records plus the resume points they lead to. */
export interface SourceBatch {
  records: RawRecord[];
  /** The committed position of each stream once this batch is stored (written in the same transaction). */
  positions: { source: string; position: number; meta?: Record<string, unknown> | null }[];
  /** Human names for streams seen for the first time (file path, topic/partition). */
  labels?: Record<string, string>;
}

/** What the pipeline did with a batch; resolved only after its transaction committed. */
export interface BatchOutcome {
  flows: number;
  quarantined: number;
  duplicates: number;
}

/**
 * Where a source delivers batches. The returned promise resolves after the batch's transaction
 * has committed -- only then may the source acknowledge upstream (commit Kafka offsets) -- and
 * rejects when it could not be stored (the source must not acknowledge, and retries or stops).
 * A source awaits it before reading more: that is the back-pressure.
 */
export type BatchHandler = (batch: SourceBatch) => Promise<BatchOutcome>;

/**
 * A source of access-log records (Kafka, a followed file). Lifecycle: `start` returns once the
 * source is running; `stop` is idempotent, safe before `start`, stops intake, lets the batch in
 * flight finish and acknowledge, and resolves when the source has released its resources.
 */
export interface Source {
  readonly name: string;
  start(handler: BatchHandler): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when a finite source has delivered everything (never, for a followed stream). */
  readonly done?: Promise<void>;
}
