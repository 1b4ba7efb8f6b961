/**
 * Parses `host:port` listen addresses (`127.0.0.1:8080`, `[::1]:8080`, `localhost:0`) and binds an
 * HTTP server to one, resolving once it listens.
 */
import type http from 'node:http';
import type https from 'node:https';
import { MeshtrailError } from '../errors.js';

/** A parsed listen address. */
export interface ListenAddress { host: string; port: number }

export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new MeshtrailError('ERR_USAGE', `--listen ${JSON.stringify(text)} is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)`);
  return { host: m[1] ?? m[2]!, port };
}

/** Listens on `addr`; resolves with the bound port (useful with port 0). */
export function listen(server: http.Server | https.Server, addr: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new MeshtrailError('ERR_USAGE', `cannot listen on ${addr.host}:${addr.port}: ${err.message}`, { cause: err })));
    server.listen(addr.port, addr.host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : addr.port);
    });
  });
}

/** The URL of a bound address. */
export function urlOf(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
