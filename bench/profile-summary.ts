/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the top functions by self time and by
 * total (inclusive) time, as percentages of the profile.
 *
 * Usage: node dist/bench/profile-summary.js FILE.cpuprofile [top=25]
 */
import fs from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Self and total time per function (name + file:line), in ms, largest first. */
export function summarise(profile: Profile): { name: string; selfMs: number; totalMs: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/(dist|node_modules)\//, '$1/');
    return `${n.callFrame.functionName || '(anonymous)'} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    self.set(key(node), (self.get(key(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  return [...total.keys()].map((name) => ({ name, selfMs: self.get(name) ?? 0, totalMs: total.get(name) ?? 0 }));
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.js FILE.cpuprofile [top]');
  const top = Number(topArg ?? 25);
  const rows = summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile);
  const all = rows.reduce((a, r) => a + r.selfMs, 0);
  const show = (title: string, sorted: typeof rows, pick: (r: (typeof rows)[number]) => number) => {
    process.stdout.write(`\n${title} (of ${all.toFixed(0)} ms)\n`);
    for (const r of sorted.slice(0, top)) process.stdout.write(`${((pick(r) / all) * 100).toFixed(1).padStart(5)}%  ${pick(r).toFixed(0).padStart(6)} ms  ${r.name}\n`);
  };
  show('self time', [...rows].sort((a, b) => b.selfMs - a.selfMs), (r) => r.selfMs);
  show('total time', [...rows].sort((a, b) => b.totalMs - a.totalMs), (r) => r.totalMs);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\//, ''))) main();
