/**
 * The Express application factory. It never listens: the CLI and the tests both build the app
 * here and bind it themselves (see server.ts `createServer`), so tests exercise exactly what
 * users run.
 *
 * Order of the layers: metrics (time everything), security headers, then for /api/v1 the
 * bearer token and the rate limit before the body is read, the JSON body limit, the routes of
 * the route table, and problem+json for whatever went wrong.
 */
import { consoleRouter } from './console.routes.js';
import express, { type Express, type RequestHandler } from 'express';
import type { z } from 'zod';
import { ApiAuthConfigSchema } from '../../schemas/api.js';
import type { Store } from '../store/store.js';
import type { Registry } from '../telemetry/metrics.js';
import { authenticate } from './auth.js';
import { edgesRoutes } from './edges.routes.js';
import { errorHandler, notFound } from './error-handler.js';
import { flowsRoutes } from './flows.routes.js';
import { metaRoutes } from './meta.routes.js';
import { apiMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { principalsRoutes } from './principals.routes.js';
import { quarantineRoutes } from './quarantine.routes.js';
import { rateLimit } from './rate-limit.js';
import { mountRoutes, type RouteSpec } from './route-spec.js';

/** Largest accepted JSON request body. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What the app needs. */
export interface AppDeps {
  store: Store;
  /** Receives unexpected errors (the body of a 500 never carries them). */
  logError?: (err: unknown) => void;
  /** Serve /metrics from this registry and record API request metrics on it. */
  metrics?: Registry;
  /**
   * Access control (`api` config: tokens and rate limit). Absent: the API is open and not
   * rate limited (the default listener is 127.0.0.1 only).
   */
  auth?: z.input<typeof ApiAuthConfigSchema>;
  /** Receives start-up warnings (e.g. an open API). */
  logger?: { warn: (obj: object, msg: string) => void };
  /** Version shown in the OpenAPI document. */
  version?: string;
  /**
   * More routes (e.g. findings, replay), mounted and documented like the built-in ones; declare
   * them with `route()` from route-spec.ts, `access: 'admin'` for changing routes.
   */
  extraRoutes?: RouteSpec[];
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  next();
};

/** Builds the app over `deps.store`. */
export function createApp(deps: AppDeps): Express {
  const auth = ApiAuthConfigSchema.parse(deps.auth ?? {});
  if (auth.tokens.length === 0) deps.logger?.warn({ component: 'api' }, 'No API tokens configured: the API is open to anyone who can reach its address.');
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (deps.metrics) app.use(apiMetrics(deps.metrics));
  app.use(securityHeaders);

  const guard: RequestHandler[] = [authenticate(auth.tokens), ...(deps.auth ? [rateLimit(auth.rate_limit)] : [])];
  // Unknown /api/v1 paths get 401 too, so routes are not discoverable without a token.
  app.use('/api/v1', ...guard);
  app.use(express.json({ limit: MAX_BODY_BYTES }));

  let document: Record<string, unknown> | undefined;
  const routes: RouteSpec[] = [
    ...metaRoutes(deps.store, () => (document ??= buildOpenApi(routes, { version: deps.version ?? '0.1.0', auth: auth.tokens.length > 0 })), deps.metrics),
    ...flowsRoutes(deps.store),
    ...quarantineRoutes(deps.store),
    ...edgesRoutes(deps.store),
    ...principalsRoutes(deps.store),
    ...(deps.extraRoutes ?? []),
  ];
  const router = express.Router();
  mountRoutes(router, routes, (spec) => (spec.access === 'public' || spec.path.startsWith('/api/v1/') ? [] : guard));
  app.use(router);
  // The investigation console (static page + scripts) under `/`; it calls the API above with
  // the same tokens. Its responses carry their own CSP.
  app.use(consoleRouter());
  app.use(notFound);
  app.use(errorHandler(deps.logError ?? ((err) => console.error(err))));
  return app;
}
