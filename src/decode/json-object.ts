/**
 * `JSON.parse` for lines that should hold one JSON object, remembered for the last line.
 *
 * The envelope decoder has to parse a `{...}` line to tell a Docker/shipper record from an Istio
 * JSON access-log line, and the JSON parser then needs the same object. Remembering the single
 * most recent result lets both ask without parsing the line twice. Callers must not mutate the
 * returned object.
 */

/** Outcome of reading a line as a JSON object: the object, or why it is not one. */
export type JsonObjectResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: 'invalid_json' | 'not_an_object'; detail: string };

let lastText: string | null = null;
let lastResult: JsonObjectResult | null = null;

/** Parses `text` as a JSON object (memoised for the last text); never throws. */
export function parseJsonObject(text: string): JsonObjectResult {
  if (text === lastText && lastResult !== null) return lastResult;
  let result: JsonObjectResult;
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      result = { ok: true, value: value as Record<string, unknown> };
    } else {
      result = { ok: false, reason: 'not_an_object', detail: `JSON value is ${Array.isArray(value) ? 'an array' : typeof value}, not an object` };
    }
  } catch (err) {
    result = { ok: false, reason: 'invalid_json', detail: `line starts with "{" but is not valid JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  lastText = text;
  lastResult = result;
  return result;
}
