/**
 * The listener for the app: plain HTTP, or HTTPS when the API's `tls` is configured. The files
 * are read once, at start; a missing or unreadable file fails the start with its path.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { RequestListener } from 'node:http';
import type { ApiTlsConfig } from '../../schemas/api.js';
import { MeshtrailError } from '../errors.js';

/** An HTTP server for `app`, or an HTTPS one when `tls` is given. Does not listen. */
export function createServer(app: RequestListener, tls: ApiTlsConfig | undefined): http.Server | https.Server {
  if (!tls) return http.createServer(app);
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (cause) {
      throw new MeshtrailError('ERR_CONFIG_INVALID', `api.tls.${what} ${file}: ${(cause as Error).message}`, { cause });
    }
  };
  return https.createServer({ cert: read(tls.cert_file, 'cert_file'), key: read(tls.key_file, 'key_file'), minVersion: 'TLSv1.2' }, app);
}
