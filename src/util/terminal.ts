/**
 * Makes attacker-influenced text safe to print on a terminal.
 *
 * Access logs carry text a client chose (paths, user agents, headers). Printed raw, an ANSI/VT
 * escape sequence in it can recolour or rewrite the screen, set the window title, plant a
 * hyperlink, or (on some terminals) answer back into the shell; a CR or LF can forge a
 * line of output; bidirectional overrides can make text read differently than it is. So every
 * control character is replaced by a visible escape (`\x1b`, `\n`, `\u{202e}`) instead of being
 * dropped: an investigator sees that it was there, and an escape sequence is neutralised because
 * its ESC/CSI introducer no longer reaches the terminal. Backslashes are left alone, so the output
 * is for reading, not for parsing back.
 */

/** Options for {@link sanitizeForTerminal}. */
export interface TerminalOptions {
  /** Keep `\n` and `\t` as they are (multi-line output); CR and every other control is still escaped. */
  multiline?: boolean;
}

// C0 controls, DEL, C1 controls (0x80-0x9f, which include the 8-bit CSI 0x9b and OSC 0x9d),
// the Unicode line/paragraph separators, bidi embedding/override/isolate marks, and lone
// surrogates (which a terminal would show as U+FFFD, hiding what was there).
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * Returns `text` with every control character, escape-sequence introducer, bidi control and
 * lone surrogate replaced by a printable escape. Printable text (any script, emoji) is unchanged.
 */
export function sanitizeForTerminal(text: string, options: TerminalOptions = {}): string {
  const s = typeof text === 'string' ? text : String(text);
  return s.replace(UNSAFE, (ch) => (options.multiline && (ch === '\n' || ch === '\t') ? ch : escapeChar(ch)));
}
