/**
 * The shape of a bench run's results (written as bench/results.json) and the markdown table
 * printed from the same figures, so the two never disagree.
 */

/** One measured figure. `value` is null when the case could not run (then `note` says why). */
export interface Figure {
  /** Row label in the table. */
  label: string;
  value: number | null;
  unit: string;
  /** Key of the ceiling this end-to-end rate is compared with (same run). */
  ceiling?: string;
  /** value / ceiling value. */
  ratio?: number | null;
  /** The goal from the issue, as text (e.g. ">= 100,000 lines/s"). */
  target?: string;
  /** Whether the target is met; absent when there is no target or no value. */
  met?: boolean;
  note?: string;
}

/** A whole run. */
export interface BenchResults {
  mode: 'quick' | 'default' | 'large';
  startedAt: string;
  seconds: number;
  machine: { node: string; cpus: number; cpuModel: string; totalMemMiB: number; platform: string };
  /** Sizes used by each case. */
  params: Record<string, number | string | boolean>;
  /** Upper bounds measured in this run (rates: higher is better). */
  ceilings: Record<string, Figure>;
  /** meshtrail's own figures. */
  measurements: Record<string, Figure>;
  /** Storage breakdown of the query database: bytes per table/index (dbstat), when available. */
  storage: { db: string; flows: number; fileBytes: number; bytesPerFlow: number; breakdown: { name: string; bytes: number; perFlow: number }[] | null } | null;
}

const fmt = (v: number | null, unit: string): string => {
  if (v === null) return 'n/a';
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })} ${unit}`;
};

/** Fills `ratio` and `met` of end-to-end figures from the ceilings of the same run. */
export function compare(results: BenchResults): void {
  for (const m of Object.values(results.measurements)) {
    if (m.ceiling === undefined) continue;
    const c = results.ceilings[m.ceiling];
    m.ratio = m.value !== null && c?.value ? m.value / c.value : null;
  }
}

/** The results as a markdown table (one row per figure, ceilings first). */
export function markdownTable(results: BenchResults): string {
  const rows: string[] = [
    `meshtrail bench, mode \`${results.mode}\`, ${results.startedAt}, node ${results.machine.node}, ${results.machine.cpus} CPU (${results.machine.cpuModel}), ${results.seconds.toFixed(0)} s`,
    '',
    '| figure | value | vs ceiling | target | note |',
    '| --- | ---: | ---: | --- | --- |',
  ];
  const line = (f: Figure, isCeiling: boolean) => {
    const ratio = f.ratio === undefined ? (isCeiling ? 'ceiling' : '') : f.ratio === null ? 'n/a' : `${(f.ratio * 100).toFixed(0)}% of ${f.ceiling}`;
    const target = f.target === undefined ? '' : `${f.target}${f.met === undefined ? '' : f.met ? ' ✅' : ' ❌'}`;
    rows.push(`| ${f.label} | ${fmt(f.value, f.unit)} | ${ratio} | ${target} | ${(f.note ?? '').replace(/\|/g, '/')} |`);
  };
  for (const f of Object.values(results.ceilings)) line(f, true);
  for (const f of Object.values(results.measurements)) line(f, false);
  if (results.storage?.breakdown) {
    rows.push('', `Storage of the query database (${results.storage.flows.toLocaleString('en-US')} flows, ${(results.storage.fileBytes / 2 ** 20).toFixed(1)} MiB):`, '', '| table / index | MiB | bytes per flow |', '| --- | ---: | ---: |');
    for (const b of results.storage.breakdown) rows.push(`| ${b.name} | ${(b.bytes / 2 ** 20).toFixed(1)} | ${b.perFlow.toFixed(1)} |`);
  }
  return rows.join('\n');
}
