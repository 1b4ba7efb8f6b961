/**
 * Syslog sink: RFC 5424 messages over TCP with RFC 6587 octet-counting framing
 * (`<length> <message>`), or the same frames inside TLS (RFC 5425, server certificate verified,
 * optional client certificate). The message body is a CEF line or an ECS JSON document.
 *
 * Ack: plain syslog has no application-level acknowledgement. A batch counts as delivered once
 * all its frames were written to the connection (the kernel accepted them) and the connection
 * was not closed by then. A receiver that is stopped closes its connections; the sink notices
 * the close, reconnects on the next batch, and retries while the receiver is down, so a stopped
 * or restarted rsyslog loses nothing. What it cannot see is a receiver that crashes with
 * accepted bytes still unread in its socket buffer: for a hard guarantee use Kafka, HEC or a
 * webhook, which answer per batch. Ordering: frames go out in seq order on one connection.
 */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { FindingEvent, Severity } from '../../schemas/finding.js';
import type { SyslogSinkConfig } from '../../schemas/sinks-config.js';
import { toCef } from './cef.js';
import { toEcs } from './ecs.js';
import { flowToCef } from './flow-cef.js';
import { flowToEcs } from './flow-ecs.js';
import type { FlowEvent } from './flow-feed.js';
import { networkOutcome, tlsOptions } from './http.js';
import type { SendResult, Sink } from './sink.js';

/** Syslog severity (RFC 5424 §6.2.1) for a finding severity. */
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };

/** Replaces what RFC 5424 header fields may not hold (only printable US-ASCII, no spaces). */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean || '-';
}

/** Options for {@link rfc5424}. */
export interface Rfc5424Options {
  facility: number;
  hostname: string;
  appName: string;
  procId: string;
}

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`. */
export function rfc5424(event: FindingEvent, body: string, o: Rfc5424Options): string {
  const pri = o.facility * 8 + SYSLOG_SEVERITY[event.finding.severity];
  return `<${pri}>1 ${event.at} ${headerField(o.hostname, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} ${headerField(event.type, 32)} - ${body}`;
}

/** One RFC 5424 message for a forwarded flow: severity 6 (informational), MSGID `flow`. */
export function rfc5424Flow(event: FlowEvent, body: string, o: Rfc5424Options): string {
  return `<${o.facility * 8 + 6}>1 ${event.at} ${headerField(o.hostname, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} flow - ${body}`;
}

/** RFC 6587 §3.4.1 octet-counted frame: the byte length, a space, the message. */
export function octetFrame(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

/** Syslog {@link Sink}. */
export class SyslogSink implements Sink {
  readonly type = 'syslog';
  private socket: net.Socket | null = null;
  private readonly header: Rfc5424Options;
  private readonly tls: ReturnType<typeof tlsOptions> | null;

  constructor(readonly name: string, private readonly cfg: SyslogSinkConfig, private readonly version: string) {
    this.header = { facility: cfg.facility, hostname: cfg.hostname ?? os.hostname(), appName: cfg.app_name, procId: String(process.pid) };
    this.tls = cfg.transport === 'tls' ? tlsOptions(cfg.tls) : null;
  }

  /** The framed bytes for `events` (exported behaviour for tests through {@link SyslogSink.frames}). */
  frames(events: FindingEvent[]): string {
    return events.map((e) => {
      const body = this.cfg.format === 'cef' ? toCef(e, { version: this.version }) : JSON.stringify(toEcs(e, { version: this.version }));
      return octetFrame(rfc5424(e, body, this.header));
    }).join('');
  }

  /** The framed bytes for forwarded flows. */
  flowFrames(flows: FlowEvent[]): string {
    return flows.map((e) => {
      const body = this.cfg.format === 'cef' ? flowToCef(e, { version: this.version }) : JSON.stringify(flowToEcs(e, { version: this.version }));
      return octetFrame(rfc5424Flow(e, body, this.header));
    }).join('');
  }

  send(events: FindingEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.write(this.frames(events), signal);
  }

  sendFlows(flows: FlowEvent[], signal: AbortSignal): Promise<SendResult> {
    return this.write(this.flowFrames(flows), signal);
  }

  private async write(data: string, signal: AbortSignal): Promise<SendResult> {
    const what = `syslog ${this.cfg.transport}://${this.cfg.host}:${this.cfg.port}`;
    let socket: net.Socket;
    try {
      socket = await this.connect(signal);
    } catch (err) {
      return networkOutcome(err as NodeJS.ErrnoException, what);
    }
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const done = (r: SendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('close', onClose);
        resolve(r);
      };
      const fail = (err: NodeJS.ErrnoException): void => {
        this.drop(socket);
        done(networkOutcome(err, what));
      };
      const onAbort = (): void => fail(Object.assign(new Error('send aborted'), { code: 'ABORT_ERR' }));
      // A close while our bytes are in flight means we cannot know what arrived: resend.
      const onClose = (): void => fail(Object.assign(new Error('connection closed by the receiver during the write'), { code: 'ECONNRESET' }));
      const timer = setTimeout(() => fail(Object.assign(new Error(`write not accepted within ${this.cfg.timeout_ms} ms`), { code: 'timeout' })), this.cfg.timeout_ms);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('close', onClose);
      socket.write(data, 'utf8', (err) => {
        if (err) fail(err as NodeJS.ErrnoException);
        else done('ok');
      });
    });
  }

  private drop(socket: net.Socket): void {
    if (this.socket === socket) this.socket = null;
    socket.destroy();
  }

  private connect(signal: AbortSignal): Promise<net.Socket> {
    const current = this.socket;
    if (current && !current.destroyed && current.writable) return Promise.resolve(current);
    this.socket = null;
    return new Promise<net.Socket>((resolve, reject) => {
      const { host, port } = this.cfg;
      const socket = this.tls
        ? tls.connect({ host, port, ...this.tls, ...(this.tls.servername || net.isIP(host) ? {} : { servername: host }) })
        : net.connect({ host, port });
      // The receiver never sends data; reading anyway lets us see its FIN (stop, restart) at once
      // and, with TLS, its post-handshake messages.
      socket.on('data', () => {});
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no connection within ${this.cfg.timeout_ms} ms`), { code: 'timeout' })), this.cfg.timeout_ms);
      const onAbort = (): void => { socket.destroy(Object.assign(new Error('connect aborted'), { code: 'ABORT_ERR' })); };
      signal.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => { clearTimeout(timer); signal.removeEventListener('abort', onAbort); };
      socket.once(this.tls ? 'secureConnect' : 'connect', () => {
        if (this.tls && (socket as tls.TLSSocket).getProtocol() === 'TLSv1.3') {
          // In TLS 1.3 the client finishes its handshake before the server has checked the client
          // certificate; a server that refuses it answers with an alert a moment later, and bytes
          // written meanwhile are dropped unseen. Wait for the server's first post-handshake
          // message (its session ticket) or that alert before calling the connection usable.
          const grace = setTimeout(accepted, Math.min(this.cfg.timeout_ms, 2000));
          socket.once('session', accepted);
          function accepted(): void { clearTimeout(grace); socket.off('session', accepted); ready(); }
          return;
        }
        ready();
      });
      const ready = (): void => {
        if (socket.destroyed) return;
        cleanup();
        socket.setKeepAlive(true, 30_000);
        socket.on('end', () => this.drop(socket));
        socket.on('close', () => { if (this.socket === socket) this.socket = null; });
        socket.on('error', () => this.drop(socket));
        this.socket = socket;
        resolve(socket);
      };
      socket.once('error', (err) => { cleanup(); socket.destroy(); reject(err); });
      socket.once('close', () => { cleanup(); reject(Object.assign(new Error('connection closed by the receiver during the TLS handshake'), { code: 'ECONNRESET' })); });
    });
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { s.destroy(); resolve(); }, 2000);
      s.once('close', () => { clearTimeout(timer); resolve(); });
      s.end();
    });
  }
}
