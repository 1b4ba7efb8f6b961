/**
 * Serves the investigation console (src/console) under `/`: the page at `/` (and
 * `/console/`), its stylesheet and its compiled ES modules under `/console/`. Same origin as the
 * API, so the page needs no CORS and uses the API's own bearer tokens; the page itself is public
 * (it holds no data) and asks for a token when the API answers 401.
 *
 * The API's blanket `default-src 'none'` would stop the page, so these responses carry their
 * own CSP: scripts, styles and fetches from this origin only, nothing inline, no framing.
 * Only files named in the two directories' listings are served (no path is taken from the URL
 * as is), so `..` and encoded separators cannot reach anything else.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Response, type Router } from 'express';
import { packageRoot } from '../paths.js';

/** The Content-Security-Policy of every console response. */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** Where the console's files come from. */
export interface ConsoleOptions {
  /** index.html and console.css (default: `<package>/src/console`). */
  assetsDir?: string;
  /** The compiled modules, *.js (default: `<package>/dist/src/console`, written by `npm run build`). */
  scriptsDir?: string;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };
const NAME = /^[a-z0-9][a-z0-9.-]{0,80}\.(js|css)$/;

function send(res: Response, file: string): void {
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch {
    res.status(404).type('text/plain').send('not found');
    return;
  }
  res.set({
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Content-Security-Policy': CONSOLE_CSP,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  });
  res.send(body);
}

/**
 * The console router. Mount it on the app before the 404 handler:
 * `app.use(consoleRouter())`. It answers only `GET`/`HEAD` of `/`, `/console/` and
 * `/console/<file>.js|.css`; everything else falls through.
 */
export function consoleRouter(options: ConsoleOptions = {}): Router {
  const assets = options.assetsDir ?? path.join(packageRoot(), 'src', 'console');
  const scripts = options.scriptsDir ?? path.join(packageRoot(), 'dist', 'src', 'console');
  const router = express.Router();
  const page: express.RequestHandler = (_req, res) => {
    if (!fs.existsSync(path.join(scripts, 'main.js'))) {
      res.status(503).set('Content-Security-Policy', CONSOLE_CSP).type('text/plain')
        .send(`The console is not built: ${path.join(scripts, 'main.js')} is missing. Run \`npm run build\`.\n`);
      return;
    }
    send(res, path.join(assets, 'index.html'));
  };
  router.get(['/', '/console', '/console/'], page);
  router.get('/console/:file', (req, res, next) => {
    const file = req.params.file;
    if (typeof file !== 'string' || !NAME.test(file)) return next();
    const dir = file.endsWith('.css') ? assets : scripts;
    // Serve only names the directory really lists: the URL never becomes a path by itself.
    let listed: string[];
    try {
      listed = fs.readdirSync(dir);
    } catch {
      return next();
    }
    if (!listed.includes(file)) return next();
    send(res, path.join(dir, file));
  });
  return router;
}
