/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4). Metric names are meshtrail_*; label values are escaped.
 * Labels are low-cardinality by design (source, reason, topic/partition), never per record.
 */

import { getHeapSpaceStatistics } from 'node:v8';

type Labels = Record<string, string>;

const key = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const render = (labels: Labels, extra: Labels = {}): string => {
  const all = { ...labels, ...extra };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge' | 'histogram') {}
  abstract lines(): string[];
}

/** A monotonically increasing count. */
export class Counter extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) { super(name, help, 'counter'); }
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by; else this.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number { return this.values.get(key(labels))?.value ?? 0; }
  lines(): string[] { return [...this.values.values()].map((v) => `${this.name}${render(v.labels)} ${v.value}`); }
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) { super(name, help, 'gauge'); }
  set(labels: Labels, value: number): void { this.values.set(key(labels), { labels, value }); }
  get(labels: Labels = {}): number | undefined { return this.values.get(key(labels))?.value; }
  delete(labels: Labels): void { this.values.delete(key(labels)); }
  lines(): string[] { return [...this.values.values()].map((v) => `${this.name}${render(v.labels)} ${v.value}`); }
}

/** A distribution over fixed buckets (seconds, by Prometheus convention). */
export class Histogram extends Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, readonly buckets: number[]) { super(name, help, 'histogram'); }
  observe(labels: Labels, value: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) { s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }; this.series.set(k, s); }
    this.buckets.forEach((b, i) => { if (value <= b) s!.counts[i]!++; });
    s.sum += value;
    s.count++;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${render(s.labels, { le: String(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${render(s.labels, { le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${render(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${render(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** A set of metrics rendered together. */
export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly collectors: (() => void)[] = [];
  register<M extends Metric>(m: M): M { this.metrics.push(m); return m; }
  /** Runs before every scrape, to refresh gauges computed on demand. */
  onCollect(fn: () => void): void { this.collectors.push(fn); }
  render(): string {
    for (const c of this.collectors) c();
    return this.metrics.map((m) => [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines()].join('\n')).join('\n') + '\n';
  }
}

/** meshtrail's ingestion metrics, shared by sources, the runner and the API. */
export function ingestMetrics(registry = new Registry()) {
  return {
    registry,
    recordsConsumed: registry.register(new Counter('meshtrail_records_consumed_total', 'Records read from sources.')),
    flowsStored: registry.register(new Counter('meshtrail_flows_stored_total', 'Flows written to the store.')),
    recordsQuarantined: registry.register(new Counter('meshtrail_records_quarantined_total', 'Records that could not be parsed and were quarantined.')),
    recordsDuplicate: registry.register(new Counter('meshtrail_records_duplicate_total', 'Records whose position was already stored (replays after a restart or rebalance).')),
    batchCommitSeconds: registry.register(new Histogram('meshtrail_batch_commit_seconds', 'Time to write one batch transaction.', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])),
    storeRetries: registry.register(new Counter('meshtrail_store_retries_total', 'Batches retried after a retriable store failure (e.g. disk full).')),
    consumerLag: registry.register(new Gauge('meshtrail_kafka_consumer_lag', 'Messages between the stored position and the partition high watermark.')),
    sourceErrors: registry.register(new Counter('meshtrail_source_errors_total', 'Errors raised by sources, by reason.')),
    processMemory: processMemory(registry),
  };
}

/**
 * The process's memory by kind, read at every scrape: what a memory bound is checked against
 * (`rss`) and where it goes (`heap_used` and `heap_total` of V8, `external` and `array_buffers`
 * for Buffers such as fetched Kafka messages; the rest of `rss` is native: SQLite's page cache,
 * code, stacks).
 */
function processMemory(registry: Registry): Gauge {
  const gauge = registry.register(new Gauge('meshtrail_process_memory_bytes', 'Process memory by kind (rss, heap_used, heap_total, external, array_buffers, and heap_<space> per V8 heap space).'));
  registry.onCollect(() => {
    const m = process.memoryUsage();
    gauge.set({ kind: 'rss' }, m.rss);
    gauge.set({ kind: 'heap_used' }, m.heapUsed);
    gauge.set({ kind: 'heap_total' }, m.heapTotal);
    gauge.set({ kind: 'external' }, m.external);
    gauge.set({ kind: 'array_buffers' }, m.arrayBuffers);
    // V8 grows each space on its own terms: the split says whether the young generation or
    // garbage waiting in the old generation holds the memory.
    for (const space of getHeapSpaceStatistics()) gauge.set({ kind: `heap_${space.space_name.replace(/_space$/, '')}` }, space.space_size);
  });
  return gauge;
}
export type IngestMetrics = ReturnType<typeof ingestMetrics>;
