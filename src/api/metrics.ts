/**
 * API request metrics on the shared Prometheus registry: a counter and a latency histogram,
 * labelled by route pattern (never the raw URL, which would be unbounded), method and status.
 */
import type { RequestHandler } from 'express';
import { Counter, Histogram, type Registry } from '../telemetry/metrics.js';

/** Registers the API metrics on `registry` and returns the middleware that records them. */
export function apiMetrics(registry: Registry): RequestHandler {
  const requests = registry.register(new Counter('meshtrail_api_requests_total', 'API requests answered, by route pattern, method and status.'));
  const seconds = registry.register(new Histogram('meshtrail_api_request_duration_seconds', 'Time to answer an API request (until the last byte was handed to the socket).',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]));
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const path = req.route?.path;
      const labels = { route: typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched', method: req.method };
      requests.inc({ ...labels, status: String(res.statusCode) });
      seconds.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
