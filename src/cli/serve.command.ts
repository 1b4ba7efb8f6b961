/**
 * `meshtrail serve`: answers the HTTP API over an existing (or new) database until SIGINT/SIGTERM.
 * Binds to 127.0.0.1 unless told otherwise: the API exposes evidence and must not be reachable
 * from the network by accident.
 */
import http from 'node:http';
import { createApp } from '../api/app.js';
import { openDatabase, type Db } from '../store/db.js';
import { Store } from '../store/store.js';
import { listen, parseListen, urlOf } from './listen.js';

/** A running API server. */
export interface RunningServer { url: string; close(): Promise<void> }

export async function startServer(db: Db, listenText: string): Promise<RunningServer> {
  const addr = parseListen(listenText);
  const app = createApp({ store: new Store(db) });
  const server = http.createServer(app);
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
    const server = await startServer(db, listenText);
    return { ...server, db };
  } catch (err) {
    db.close();
    throw err;
  }
}
