import t from 'tap';
import { backoffMs } from '../../../src/sinks/retry.js';
import { httpOutcome, retryAfterMs } from '../../../src/sinks/sink.js';

const retry = { initial_ms: 100, max_ms: 1000 };

t.test('backoff doubles, stays within [cap/2, cap] and is capped at max_ms', async (t) => {
  t.equal(backoffMs(retry, 1, () => 0), 50);
  t.equal(backoffMs(retry, 1, () => 1), 100);
  t.equal(backoffMs(retry, 3, () => 1), 400);
  t.equal(backoffMs(retry, 3, () => 0), 200);
  t.equal(backoffMs(retry, 50, () => 1), 1000);
  t.equal(backoffMs(retry, 50, () => 0), 500);
  for (let i = 0; i < 200; i++) {
    const v = backoffMs(retry, 1 + (i % 8));
    t.ok(v >= 50 && v <= 1000, `in range: ${v}`);
  }
});

t.test('HTTP statuses map like Fluent Bit: 408/429/5xx retry, other 4xx reject', async (t) => {
  t.equal(httpOutcome(200, ''), 'ok');
  t.equal(httpOutcome(204, ''), 'ok');
  for (const s of [408, 429, 500, 502, 503, 504]) t.match(httpOutcome(s, 'busy'), { retry: `http_${s}` }, `${s} retries`);
  for (const s of [400, 401, 403, 404, 413, 301]) t.match(httpOutcome(s, '{"text":"Invalid token"}'), { reject: /HTTP \d+: \{"text":"Invalid token"\}/, code: `http_${s}` }, `${s} rejects`);
  t.match(httpOutcome(503, '', '7'), { retry: 'http_503', afterMs: 7000 });
});

t.test('Retry-After accepts seconds and HTTP dates', async (t) => {
  t.equal(retryAfterMs('3'), 3000);
  t.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
  t.equal(retryAfterMs('soon'), undefined);
  t.equal(retryAfterMs(undefined), undefined);
});
