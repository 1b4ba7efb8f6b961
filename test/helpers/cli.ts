/**
 * Runs the built CLI (`dist/`, built by `npm test`'s pretest) as a user would, and waits for
 * lines on a long-running command's output.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = path.join(root, 'dist', 'src', 'cli', 'main.js');

/** Runs `meshtrail ...args` to completion. */
export function meshtrail(args: string[], options: { input?: string | Buffer; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath, ...args], { input: options.input, cwd: options.cwd ?? root, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120_000 });
}

/** Starts `meshtrail ...args` in the background. */
export function meshtrailBackground(args: string[], cwd = root): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first match of `re` on the child's stdout; rejects on exit or timeout. */
export function waitForOutput(child: ChildProcess, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errText = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stdout: ${seen} stderr: ${errText}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => { errText += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = re.exec(seen);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before ${re}; stdout: ${seen} stderr: ${errText}`)); });
  });
}

/** Sends SIGTERM and resolves with the exit code. */
export function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}
