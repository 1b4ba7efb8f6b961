/**
 * The Express application factory. It never listens: the CLI and the tests both build the app
 * here and bind it themselves, so tests exercise exactly what users run.
 */
import express, { type Express } from 'express';
import type { Store } from '../store/store.js';
import { countRows } from '../store/flows.query.js';
import { errorHandler, notFound } from './error-handler.js';
import { flowsRoutes } from './flows.routes.js';
import { quarantineRoutes } from './quarantine.routes.js';

/** What the app needs. */
export interface AppDeps {
  store: Store;
  /** Receives unexpected errors (the body of a 500 never carries them). */
  logError?: (err: unknown) => void;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...countRows(deps.store) });
  });
  app.use('/api/v1', flowsRoutes(deps.store), quarantineRoutes(deps.store));
  app.use(notFound);
  app.use(errorHandler(deps.logError ?? ((err) => console.error(err))));
  return app;
}
