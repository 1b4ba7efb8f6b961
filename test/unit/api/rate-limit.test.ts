import t from 'tap';
import { TokenBucket } from '../../../src/api/rate-limit.js';

t.test('a bucket allows its burst, then the sustained rate', (t) => {
  const b = new TokenBucket(2, 3, 0);
  t.same([b.take(0), b.take(0), b.take(0)], [0, 0, 0], 'burst of 3');
  t.equal(b.take(0), 0.5, 'then waits 1/rate seconds');
  t.equal(b.take(250), 0.25, 'half a token after 250 ms');
  t.equal(b.take(500), 0, 'one token after 500 ms');
  t.ok(b.take(500) > 0);
  t.end();
});

t.test('refill never exceeds the burst', (t) => {
  const b = new TokenBucket(100, 2, 0);
  b.take(0);
  b.take(0);
  const later = 3_600_000;
  t.same([b.take(later), b.take(later)], [0, 0]);
  t.ok(b.take(later) > 0, 'an hour idle still gives only the burst');
  t.end();
});
