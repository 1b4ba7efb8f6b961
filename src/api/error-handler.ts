/**
 * The last Express middleware: every error becomes a problem+json response. Validation errors
 * keep their details; anything unexpected is a 500 whose body reveals nothing internal (the
 * cause goes to the server log). An error after a streamed response has started cannot change
 * its status any more: the connection is cut, so the client sees a truncated body, not a
 * complete-looking one.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MeshtrailError } from '../errors.js';
import { ProblemError, sendProblem } from './problem.js';

/** Answers unknown routes with a 404 problem. */
export const notFound: RequestHandler = (req, res) => {
  sendProblem(res, { type: 'about:blank', title: 'Not Found', status: 404, detail: `no route for ${req.method} ${req.path}` });
};

const TITLES: Record<number, string> = { 400: 'Bad Request', 413: 'Content Too Large', 415: 'Unsupported Media Type' };

/** Creates the error handler; `log` receives unexpected errors. */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    if (res.headersSent) {
      log(err);
      res.destroy();
      return;
    }
    if (err instanceof ProblemError) return sendProblem(res, err.problem, err.headers);
    const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
    const type = (err as { type?: string }).type;
    // body-parser errors (malformed JSON, oversize body) carry a 4xx status and a type.
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const detail = type === 'entity.too.large' ? 'request body is too large' : type === 'entity.parse.failed' ? 'request body is not valid JSON' : 'bad request';
      return sendProblem(res, { type: 'about:blank', title: TITLES[status] ?? 'Bad Request', status, detail });
    }
    if (err instanceof MeshtrailError && err.status < 500) {
      return sendProblem(res, { type: 'about:blank', title: err.code, status: err.status, detail: err.message });
    }
    log(err);
    const retriable = err instanceof MeshtrailError && err.retriable;
    sendProblem(res, { type: 'about:blank', title: retriable ? 'Service Unavailable' : 'Internal Server Error', status: retriable ? 503 : 500, detail: 'the request could not be completed; see the server log' });
  };
}
