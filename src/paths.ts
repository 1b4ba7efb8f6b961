/**
 * Locations inside the installed package. The code runs both from `dist/` (the CLI) and from
 * `src/` (tests run TypeScript directly), so paths are found by walking up to package.json
 * rather than by a fixed number of `..`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding meshtrail's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'meshtrail') return (root = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`meshtrail package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The directory of numbered SQL migrations shipped with the package. */
export function migrationsDir(): string {
  return path.join(packageRoot(), 'migrations');
}
