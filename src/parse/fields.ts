/**
 * Converters shared by the line parsers: Envoy's printed values -> the typed values of a `Flow`.
 *
 * Envoy prints "-" for an absent value and never escapes anything, so every converter treats "-",
 * "" and null/undefined as "the line did not say" (null). A value that is present but cannot be the
 * declared type (a status code "abc") is not guessed at: the converter throws a `FieldError` naming
 * the field, and the parser turns it into a `ParseFailure`. Nothing here compiles a regex per call.
 */

/** A value in a line that cannot be read as the type its field needs; carries the field and value. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${field}: expected ${expected}, got ${preview(value)}`);
    this.name = 'FieldError';
  }
}

/** A short, printable rendering of a bad value for failure details (never the whole 1 MB line). */
export function preview(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** True when a printed value means "absent": Envoy's "-", the empty string, null or undefined. */
export function isAbsent(value: unknown): boolean {
  return value === null || value === undefined || value === '-' || value === '';
}

/** A text field: "-"/empty/absent -> null, any other string as is. Non-strings fail. */
export function toText(field: string, value: unknown): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return value;
  // JSON encodings print some operators as numbers (a port, a numeric header); keep their text.
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new FieldError(field, value, 'a string');
}

/** Parses an unsigned decimal integer without a regex; -1 when `s` is not one. */
function unsignedInt(s: string): number {
  const n = s.length;
  if (n === 0 || n > 16) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : -1;
}

/** A non-negative integer field (status code, byte counts): digits or a JSON integer. */
export function toCount(field: string, value: unknown): number | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new FieldError(field, value, 'a non-negative integer');
  }
  if (typeof value === 'string') {
    const v = unsignedInt(value);
    if (v >= 0) return v;
  }
  throw new FieldError(field, value, 'a non-negative integer');
}

/** A millisecond field: non-negative decimal (Envoy prints integers; header values may carry fractions). */
export function toMillis(field: string, value: unknown): number | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER) return value;
    throw new FieldError(field, value, 'a non-negative number of milliseconds');
  }
  if (typeof value === 'string') {
    const v = unsignedInt(value);
    if (v >= 0) return v;
    if (isPlainDecimal(value)) {
      const f = Number(value);
      if (f <= Number.MAX_SAFE_INTEGER) return f;
    }
  }
  throw new FieldError(field, value, 'a non-negative number of milliseconds');
}

/** `12`, `12.5`: what a duration header may hold; no sign, exponent, hex or spaces. */
function isPlainDecimal(s: string): boolean {
  let dot = false;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot || digits === 0) return false;
      dot = true;
    } else if (c >= 48 && c <= 57) digits++;
    else return false;
  }
  return digits > 0 && s.charCodeAt(s.length - 1) !== 46;
}

/**
 * `x-envoy-upstream-service-time` is a response header the upstream controls, so a junk value
 * must not cost the whole flow: it becomes null and the raw text is returned for `extra`.
 */
export function toServiceTime(value: unknown): { value: number | null; raw: string | null } {
  try {
    return { value: toMillis('upstream_service_time', value), raw: null };
  } catch {
    return { value: null, raw: typeof value === 'string' ? value : preview(value) };
  }
}

/**
 * START_TIME -> ISO-8601 UTC with milliseconds (`Date#toISOString`). Accepts what `Date` reads
 * (Envoy's default `%Y-%m-%dT%H:%M:%E3SZ`, offsets, JSON numbers as epoch ms). Years outside
 * 0000-9999 are refused because their ISO form (`+010000-...`) is not an RFC 3339 date-time.
 */
export function toStartTime(field: string, value: unknown): string | null {
  if (isAbsent(value)) return null;
  // Envoy's default START_TIME is already canonical; skip the ~1 µs Date round trip for it.
  if (typeof value === 'string' && isCanonicalIso(value) && validCalendar(value)) return value;
  if (typeof value === 'string') {
    const t = parseIsoStrict(value);
    if (t !== null) {
      const iso = new Date(t).toISOString();
      if (iso.length === 24) return iso;
    }
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    // Epoch milliseconds (JSON formats that log %START_TIME(%s%3f)%-style numbers).
    const d = new Date(value);
    if (!Number.isNaN(d.getTime()) && d.toISOString().length === 24) return d.toISOString();
  }
  throw new FieldError(field, value, 'an ISO-8601 timestamp');
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether y-m-d h:m:s are real calendar values (no Feb 30, no hour 24): Date would roll them over. */
function calendarOk(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (mo === 2 && leap ? 29 : DAYS[mo - 1]!);
}

function validCalendar(iso: string): boolean {
  return calendarOk(+iso.slice(0, 4), +iso.slice(5, 7), +iso.slice(8, 10), +iso.slice(11, 13), +iso.slice(14, 16), +iso.slice(17, 19));
}

/**
 * Parses an ISO-8601 date-time strictly: the calendar fields must exist (Date.parse would turn
 * Feb 30 into Mar 2, or accept "1 2 3"), and a missing zone means UTC, as Envoy logs in UTC.
 * Returns epoch ms or null.
 */
export function parseIsoStrict(text: string): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!];
  const s = m[6] === undefined ? 0 : +m[6];
  if (!calendarOk(y, mo, d, h, mi, s)) return null;
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  let offset = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const zh = +zm[2]!;
    const zmin = zm[3] === undefined ? 0 : +zm[3];
    if (zh > 23 || zmin > 59) return null;
    offset = (zm[1] === '-' ? -1 : 1) * (zh * 60 + zmin) * 60_000;
  }
  return Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms) - offset;
}

/** RESPONSE_FLAGS -> array: "-" -> [], "UH,URX" -> ["UH", "URX"]; JSON may also give an array. */
const FLAG = /^[A-Za-z0-9_]{1,64}$/;

export function toFlags(field: string, value: unknown): string[] {
  if (isAbsent(value)) return [];
  // Envoy flags are short codes (UH, URX) or, in newer versions, CamelCase names: a flag holding
  // anything else is not a flag, and a comma inside one would not survive storage as a list.
  if (typeof value === 'string') {
    if (value.indexOf(',') < 0) {
      if (FLAG.test(value)) return [value];
    } else {
      const out: string[] = [];
      for (const f of value.split(',')) if (f !== '' && f !== '-') out.push(f);
      if (out.every((f) => FLAG.test(f))) return out;
    }
  } else if (Array.isArray(value) && value.every((f) => typeof f === 'string')) {
    const out = (value as string[]).filter((f) => f !== '' && f !== '-');
    if (out.every((f) => FLAG.test(f))) return out;
  }
  throw new FieldError(field, value, 'a comma-separated list of Envoy response flags');
}

/** Renders a leftover JSON value as the string `flow.extra` keeps; null when it is absent. */
export function toExtraText(value: unknown): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/** Two ASCII digits at `i` as a number; -1 when they are not digits. */
function twoDigits(v: string, i: number): number {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `Date#toISOString` form of a real date, `YYYY-MM-DDTHH:MM:SS.mmmZ`, checked by character codes
 * (a `Date` round trip costs ~1 µs, most of this function's budget).
 */
export function isCanonicalIso(v: string): boolean {
  if (v.length !== 24) return false;
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 ||
    v.charCodeAt(16) !== 58 || v.charCodeAt(19) !== 46 || v.charCodeAt(23) !== 90) return false;
  const y1 = twoDigits(v, 0);
  const y2 = twoDigits(v, 2);
  const month = twoDigits(v, 5);
  const day = twoDigits(v, 8);
  const ms = v.charCodeAt(22) - 48;
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1 || twoDigits(v, 20) < 0 || ms < 0 || ms > 9) return false;
  const year = y1 * 100 + y2;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month]!)) return false;
  const h = twoDigits(v, 11);
  const mi = twoDigits(v, 14);
  const sec = twoDigits(v, 17);
  return h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59;
}


const boundaryScratch: number[] = [];

/**
 * In how many ways `k` field boundaries can be placed on the `" "` sequences of `s[from, to)`
 * (capped at 2). Envoy does not escape quotes, so in a TEXT line every boundary between two
 * quoted fields is a `" "` (closing quote, space, opening quote); two boundaries cannot share a
 * quote. When a client-controlled value holds a quote next to a space, the line may have more
 * than one reading (which field absorbed the quote cannot be known): the caller quarantines it.
 */
export function quoteBoundaryReadings(s: string, k: number, from = 0, to = s.length): number {
  if (k === 0) return 1;
  // Every TEXT line asks this: collect into one reused array (the function is synchronous), and
  // answer the usual case -- exactly `k` candidates -- without the table below.
  const at = boundaryScratch;
  at.length = 0;
  for (let i = s.indexOf('" "', from); i >= 0 && i + 3 <= to; i = s.indexOf('" "', i + 1)) at.push(i);
  if (at.length < k) return 0;
  if (at.length === k) {
    for (let j = 1; j < k; j++) if (at[j - 1]! + 3 > at[j]!) return 0;
    return 1;
  }
  // chains[m][j]: readings of m+1 boundaries ending at at[j], capped at 2.
  let prev = at.map(() => 1);
  for (let m = 1; m < k; m++) {
    const next = at.map(() => 0);
    let acc = 0;
    let p = 0;
    for (let j = 0; j < at.length; j++) {
      while (p < j && at[p]! + 3 <= at[j]!) acc = Math.min(2, acc + prev[p++]!);
      next[j] = acc;
    }
    prev = next;
  }
  return Math.min(2, prev.reduce((a, b) => a + b, 0));
}
