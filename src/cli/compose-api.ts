/**
 * Builds the HTTP API the same way for `run`, `serve` and `demo`: the app with every route
 * (built-in, coverage, reports, and whatever the caller adds), auth and metrics as configured,
 * over HTTP or HTTPS.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { z } from 'zod';
import type { ApiAuthConfigSchema, ApiTlsConfig } from '../../schemas/api.js';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { createApp } from '../api/app.js';
import { coverageRoutes } from '../api/coverage.routes.js';
import { findingsRoutes } from '../api/findings.routes.js';
import { policyRoutes, type PolicyRoutesOptions } from '../api/policy.routes.js';
import { reportRoutes } from '../api/reports.routes.js';
import type { RouteSpec } from '../api/route-spec.js';
import { createServer } from '../api/server.js';
import { loadOrCreateSigningKey } from '../report/sign.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { Registry } from '../telemetry/metrics.js';

/** What the API is built from. */
export interface ApiComposition {
  store: Store;
  databaseFile: string;
  policies?: PolicySet | null;
  signingKeyFile?: string;
  auth?: z.input<typeof ApiAuthConfigSchema>;
  tls?: ApiTlsConfig;
  metrics?: Registry;
  logger?: Logger;
  /** Replay options: the only server-side policy directory a replay may read, service labels. */
  replay?: PolicyRoutesOptions;
  extraRoutes?: RouteSpec[];
}

export function composeApi(c: ApiComposition): http.Server | https.Server {
  let key: ReturnType<typeof loadOrCreateSigningKey> | undefined;
  const signingKey = () => (key ??= loadOrCreateSigningKey(c.signingKeyFile ?? `${c.databaseFile}.report-key.pem`));
  const app = createApp({
    store: c.store,
    metrics: c.metrics,
    auth: c.auth,
    logger: c.logger,
    logError: (err) => (c.logger ? c.logger.error({ err }, 'API request failed.') : console.error(err)),
    extraRoutes: [
      ...coverageRoutes(c.store),
      ...findingsRoutes(c.store),
      ...policyRoutes(c.store, c.replay ?? {}),
      ...reportRoutes({ store: c.store, policies: c.policies ?? null, signingKey }),
      ...(c.extraRoutes ?? []),
    ],
  });
  return createServer(app, c.tls);
}
