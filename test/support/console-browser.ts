/**
 * What the console's browser tests share: the Chromium they drive, the project's policy when it
 * is missing, and the console compiled from the current source.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';

export const CHROMIUM = '/usr/bin/chromium';

/** The project's policy for a missing browser: fail under CI, skip loudly elsewhere. */
export function requireChromium(tt: Test): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  const msg = `headless browser unavailable: ${CHROMIUM} is missing`;
  if (process.env.CI === 'true') {
    tt.fail(`${msg} (CI=true: a missing browser is a failure; apt-get install chromium)`);
  } else {
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!!! SKIPPING CONSOLE BROWSER TESTS\n!!! ${msg}\n!!! Fix: apt-get install -y chromium\n${bar}\n\n`);
    tt.plan(0, msg);
  }
  return false;
}

/** Compiles the console (tsconfig.console.json) into `build`, asserting it compiles; returns its scripts' folder. */
export function buildConsole(tt: Test, root: string, build: string): string {
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.console.json', '--outDir', build], { cwd: root, encoding: 'utf8' });
  tt.equal(tsc.status, 0, `the console compiles: ${tsc.stdout}${tsc.stderr}`);
  return path.join(build, 'src/console');
}
