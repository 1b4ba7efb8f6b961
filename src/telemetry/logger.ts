/**
 * Structured JSON logs (pino) on stderr, so stdout stays free for command output. Secrets are
 * redacted by key wherever they appear in a logged object; components log through a child
 * logger carrying `component`.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line. */
const REDACT = [
  'password', '*.password', '*.*.password', 'token', '*.token', 'secret', '*.secret', '*.*.secret',
  'authorization', '*.authorization', 'headers.authorization', 'sasl', '*.sasl', 'key', '*.key_file',
];

/** Creates the process logger; `level` from MESHTRAIL_LOG_LEVEL (default info). */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.MESHTRAIL_LOG_LEVEL ?? 'info',
      base: { service: 'meshtrail' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 2, sync: false }),
  );
}
