/**
 * `meshtrail serve`: answers the HTTP API over an existing (or new) database until SIGINT/SIGTERM.
 * Binds to 127.0.0.1 unless told otherwise: the API exposes evidence and must not be reachable
 * from the network by accident.
 */
import { MeshtrailError } from '../errors.js';
import { openDatabase, type Db } from '../store/db.js';
import { Store } from '../store/store.js';
import { composeApi } from './compose-api.js';
import { listen, parseListen, urlOf } from './listen.js';

/** A running API server. */
export interface RunningServer { url: string; close(): Promise<void> }

export async function startServer(db: Db, listenText: string, databaseFile: string): Promise<RunningServer> {
  const addr = parseListen(listenText);
  const loopback = addr.host === 'localhost' || addr.host === '::1' || /^127\./.test(addr.host);
  // `serve` has no token configuration: it refuses to expose an unauthenticated API to the
  // network. Use `meshtrail run` with api.tokens for that.
  if (!loopback) throw new MeshtrailError('ERR_USAGE', `serve only listens on loopback addresses (${addr.host} given); use \`meshtrail run\` with api.tokens to expose the API`);
  const server = composeApi({ store: new Store(db), databaseFile });
  const port = await listen(server, addr);
  return {
    url: urlOf(addr.host, port),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The URLs printed for a user to try. */
export function tryUrls(url: string): string {
  return [
    `meshtrail API listening on ${url}`,
    `  ${url}/healthz`,
    `  ${url}/api/v1/flows?limit=5`,
    `  ${url}/api/v1/flows?response_code=5xx`,
    `  ${url}/api/v1/flows?direction=inbound&destination_service=ratings.bookinfo.svc.cluster.local`,
    `  ${url}/api/v1/quarantine`,
  ].join('\n');
}

export async function serveCommand(dbFile: string, listenText: string): Promise<RunningServer & { db: Db }> {
  const db = openDatabase(dbFile);
  try {
    const server = await startServer(db, listenText, dbFile);
    return { ...server, db };
  } catch (err) {
    db.close();
    throw err;
  }
}
