import t from 'tap';
import fc from 'fast-check';
import { quoteBoundaryReadings } from '../../../src/parse/fields.js';

/**
 * Reference: enumerate every choice of `k` boundaries (`" "` sequences inside [from, to)) that do
 * not share a quote, and count them, capped at 2. Exponential, fine for short strings.
 */
function readingsByEnumeration(s: string, k: number, from: number, to: number): number {
  const at: number[] = [];
  for (let i = s.indexOf('" "', from); i >= 0 && i + 3 <= to; i = s.indexOf('" "', i + 1)) at.push(i);
  let count = 0;
  const choose = (start: number, left: number, lastEnd: number): void => {
    if (count >= 2) return;
    if (left === 0) {
      count++;
      return;
    }
    for (let j = start; j < at.length; j++) if (at[j]! >= lastEnd) choose(j + 1, left - 1, at[j]! + 3);
  };
  choose(0, k, -Infinity);
  return Math.min(2, count);
}

t.test('quoteBoundaryReadings counts the readings of a line as enumeration does', async (t) => {
  const piece = fc.constantFrom('"', ' ', 'a', '" "', '"" "', '" ""', '" " "');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 14 }), fc.integer({ min: 0, max: 5 }), fc.nat(4), fc.nat(4), (parts, k, cutLeft, cutRight) => {
      const s = parts.join('');
      const from = Math.min(cutLeft, s.length);
      const to = Math.max(from, s.length - cutRight);
      return quoteBoundaryReadings(s, k, from, to) === readingsByEnumeration(s, k, from, to);
    }),
    { numRuns: 20_000 },
  );
  t.equal(quoteBoundaryReadings('"a" "b" "c"', 2), 1, 'exactly k boundaries: one reading');
  t.equal(quoteBoundaryReadings('"a" " "c"', 2), 0, 'two boundaries sharing a quote are one reading of one boundary');
  t.equal(quoteBoundaryReadings('"a" "b" "c" "d"', 2), 2, 'more candidates than boundaries: ambiguous');
});
