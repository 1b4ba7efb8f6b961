import fc from 'fast-check';
import t from 'tap';
import { sanitizeForTerminal } from '../../../src/util/terminal.js';
import { HOSTILE_CONSTANTS, fuzzParams, hostileString } from '../../support/arbitraries.js';

/** Characters that must never reach a terminal raw. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

t.test('escape sequences and controls become visible escapes', async (t) => {
  t.equal(sanitizeForTerminal('\x1b[31mred\x1b[0m'), '\\x1b[31mred\\x1b[0m');
  t.equal(sanitizeForTerminal('\x1b]0;pwned\x07'), '\\x1b]0;pwned\\x07', 'OSC title set');
  t.equal(sanitizeForTerminal('\x9b31m'), '\\x9b31m', '8-bit CSI');
  t.equal(sanitizeForTerminal('a\r\nb\tc\0'), 'a\\r\\nb\\tc\\0');
  t.equal(sanitizeForTerminal('\x7f\x85'), '\\x7f\\x85');
  t.equal(sanitizeForTerminal('\u202eevil\u202c'), '\\u{202e}evil\\u{202c}', 'bidi override');
  t.equal(sanitizeForTerminal('\u2028'), '\\u{2028}');
  t.equal(sanitizeForTerminal('x\ud800y'), 'x\\u{d800}y', 'lone surrogate');
});

t.test('printable text of any script is unchanged', async (t) => {
  for (const s of ['GET /orders/1 HTTP/1.1', 'Mozilla/5.0 (X11; Linux)', 'ünïcödé 日本語 😀', "=cmd|' /C calc'!A0", 'C:\\path', '']) {
    t.equal(sanitizeForTerminal(s), s);
  }
});

t.test('multiline keeps LF and TAB only', async (t) => {
  t.equal(sanitizeForTerminal('a\nb\tc\r\x1b[2J', { multiline: true }), 'a\nb\tc\\r\\x1b[2J');
});

t.test('property: no control character survives, and sanitising is idempotent', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.oneof(hostileString, fc.string({ unit: 'binary' })), (s) => {
        const out = sanitizeForTerminal(s);
        if (CONTROL.test(out)) throw new Error(`control left in ${JSON.stringify(out)}`);
        if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(out)) throw new Error('lone surrogate left');
        if (sanitizeForTerminal(out) !== out) throw new Error('not idempotent');
        return true;
      }),
      fuzzParams(2000),
    ),
  );
  // Names are indexes: a raw U+2028 or NEL in a test name would itself break the TAP stream.
  HOSTILE_CONSTANTS.forEach((s, i) => t.notMatch(sanitizeForTerminal(s), CONTROL, `hostile constant #${i}`));
});
