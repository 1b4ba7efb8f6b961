import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { HEAP_GROWING_PERCENT, applyHeapPolicy } from '../../../src/util/heap-policy.js';
import { root } from '../../helpers/cli.js';

t.test('bounds heap growth unless the operator chose a value', async (t) => {
  t.equal(applyHeapPolicy([], ''), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  t.equal(applyHeapPolicy(['--heap-growing-percent=200'], ''), null, 'node --heap-growing-percent=N');
  t.equal(applyHeapPolicy(['--heap_growing_percent=200'], ''), null, 'underscore spelling');
  t.equal(applyHeapPolicy([], '--max-old-space-size=512 --heap-growing-percent=80'), null, 'in NODE_OPTIONS');
  t.equal(applyHeapPolicy(['--max-old-space-size=512'], '--enable-source-maps'), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, 'other flags do not count');
});

t.test('the bound holds garbage in the old generation down (measured in a child process)', async (t) => {
  // A workload that promotes short-lived objects, as ingest does: the old generation's size
  // at the end, with the policy and with V8's default growth.
  const script = `
    import v8 from 'node:v8';
    import { applyHeapPolicy } from ${JSON.stringify(path.join(root, 'dist/src/util/heap-policy.js'))};
    if (process.argv[1] === 'policy') applyHeapPolicy([], '');
    const keep = [];
    for (let i = 0; i < 3e6; i++) {
      const o = { a: i, b: 'x' + i, c: [i, i + 1] };
      if (i % 10 === 0) keep.push(o);
      if (keep.length > 100000) keep.splice(0, 50000);
    }
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    console.log(old.space_size);`;
  const oldSpace = (mode: string): number => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, mode], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    t.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  const withPolicy = oldSpace('policy');
  const without = oldSpace('default');
  t.ok(withPolicy > 0 && without > 0);
  t.ok(withPolicy < without * 0.8, `old generation ${(withPolicy / 1e6).toFixed(1)} MB with the policy, ${(without / 1e6).toFixed(1)} MB without`);
});
