/**
 * One HTTP(S) POST for the HTTP sinks, with a deadline, an abort signal, optional TLS files, a
 * keep-alive agent per sink, and network failures turned into {@link SendResult}s. node:http is
 * used rather than fetch because per-sink CA bundles and client certificates need an https Agent.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { SinkTlsConfig } from '../../schemas/sinks-config.js';
import { httpOutcome, type SendResult } from './sink.js';

/** Longest receiver answer kept for error messages. */
const MAX_ANSWER_BYTES = 16 * 1024;

/** TLS error codes that mean "the configuration is wrong" (wrong CA, wrong name), not "try later". */
const TLS_CONFIG_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'CERT_UNTRUSTED',
]);

/** Reads the TLS files of a sink into node's TLS options (once, at construction). */
export function tlsOptions(tls: SinkTlsConfig | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } {
  if (!tls) return { rejectUnauthorized: true };
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (cause) {
      throw new Error(`cannot read TLS ${what} ${file}: ${(cause as Error).message}`, { cause });
    }
  };
  return {
    ...(tls.ca_file ? { ca: read(tls.ca_file, 'ca_file') } : {}),
    ...(tls.cert_file ? { cert: read(tls.cert_file, 'cert_file') } : {}),
    ...(tls.key_file ? { key: read(tls.key_file, 'key_file') } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.reject_unauthorized,
  };
}

/** Maps a socket/TLS error to an outcome with a low-cardinality reason. */
export function networkOutcome(err: NodeJS.ErrnoException, what: string): SendResult {
  const code = err.code ?? '';
  if (TLS_CONFIG_ERRORS.has(code)) return { reject: `${what}: TLS verification failed (${code}): ${err.message}`, code: 'tls_verify' };
  // The server's alert about OUR certificate (missing, unknown CA, refused): a configuration error too.
  if (/^ERR_SSL_(TLSV1\d?_)?(SSLV3_)?ALERT_(CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|ACCESS_DENIED|HANDSHAKE_FAILURE)/.test(code)) {
    return { reject: `${what}: the receiver refused the TLS client authentication (${code}): ${err.message}`, code: 'tls_rejected' };
  }
  const reason = code === 'ECONNREFUSED' ? 'connect_refused'
    : code === 'ETIMEDOUT' || code === 'timeout' ? 'timeout'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'dns'
        : code === 'ECONNRESET' || code === 'EPIPE' ? 'connection_reset'
          : code === 'ABORT_ERR' ? 'aborted' : 'network';
  return { retry: reason, detail: `${what}: ${err.message}` };
}

/** A reusable POST client for one sink. */
export class HttpPoster {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(url: string, private readonly timeoutMs: number, tls?: SinkTlsConfig) {
    this.url = new URL(url);
    this.agent = this.url.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 1, ...tlsOptions(tls) })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** POSTs `body`; resolves with the mapped outcome, never rejects. */
  post(body: string, headers: Record<string, string>, signal: AbortSignal): Promise<SendResult> {
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise<SendResult>((resolve) => {
      const req = lib.request(this.url, {
        method: 'POST', agent: this.agent, signal, timeout: this.timeoutMs,
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => { if (size < MAX_ANSWER_BYTES) { chunks.push(c); size += c.length; } });
        res.on('end', () => resolve(httpOutcome(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res.headers['retry-after'])));
        res.on('error', (err) => resolve(networkOutcome(err, `POST ${this.url.origin}`)));
      });
      req.on('timeout', () => {
        const err = Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'timeout' });
        req.destroy(err);
      });
      req.on('error', (err) => resolve(networkOutcome(err as NodeJS.ErrnoException, `POST ${this.url.origin}`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
