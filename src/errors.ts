/**
 * Every error meshtrail raises on purpose, defined once. Code branches on `code` and
 * `retriable`, never on message text; the CLI prints `message` and exits non-zero.
 */

/** Definition of one error kind. */
interface ErrorKind {
  message: string;
  /** HTTP status when the error reaches the API. */
  status: number;
  /** Whether trying the same thing again later may succeed. */
  retriable: boolean;
}

export const ERRORS = {
  ERR_INPUT_NOT_FOUND: { message: 'input file not found', status: 400, retriable: false },
  ERR_INPUT_UNREADABLE: { message: 'input cannot be read', status: 400, retriable: false },
  ERR_DB_OPEN: { message: 'database cannot be opened', status: 500, retriable: false },
  ERR_DB_NOT_MESHTRAIL: { message: 'file is not a meshtrail database', status: 500, retriable: false },
  ERR_DB_FULL: { message: 'database disk is full', status: 503, retriable: true },
  ERR_MIGRATION_EDITED: { message: 'an applied migration was edited', status: 500, retriable: false },
  ERR_MIGRATION_UNKNOWN: { message: 'database has migrations this version does not know', status: 500, retriable: false },
  ERR_CONFIG_INVALID: { message: 'configuration is invalid', status: 500, retriable: false },
  ERR_USAGE: { message: 'invalid command line', status: 400, retriable: false },
  ERR_API_BAD_REQUEST: { message: 'invalid request', status: 400, retriable: false },
  ERR_API_NOT_FOUND: { message: 'not found', status: 404, retriable: false },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a stable code, a human message with context, and an optional cause. */
export class MeshtrailError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const kind = ERRORS[code];
    super(detail ? `${kind.message}: ${detail}` : kind.message, options);
    this.name = 'MeshtrailError';
    this.code = code;
    this.status = kind.status;
    this.retriable = kind.retriable;
  }
}
