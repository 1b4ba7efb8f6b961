/**
 * The ordered list of line parsers that `auto` detection tries, first `detect() === true` wins.
 *
 * Order matters only where two `detect`s could both claim a line; the built-ins cannot (TEXT lines
 * start with `[`, JSON lines with `{` and must name an Istio access-log key). Parsers added later
 * (ztunnel, custom templates) go last unless `before` names the parser they must precede.
 */
import { ztunnelJsonParser } from './ztunnel-json.parser.js';
import { ztunnelPlainParser } from './ztunnel.parser.js';
import type { LineParser } from '../pipeline/contracts.js';
import { istioJsonParser } from './istio-json.parser.js';
import { istioTextParser } from './istio-text.parser.js';

/** The parsers meshtrail ships with, in detection order. */
export const BUILTIN_PARSERS: readonly LineParser[] = Object.freeze([istioTextParser, istioJsonParser, ztunnelJsonParser, ztunnelPlainParser]);

let registered: LineParser[] = [...BUILTIN_PARSERS];

/**
 * Adds a parser to the auto-detection list (at the end, or just before the parser named
 * `options.before`). A parser with the same name replaces the old one in place.
 */
export function registerParser(parser: LineParser, options: { before?: string } = {}): void {
  const existing = registered.findIndex((p) => p.name === parser.name);
  if (existing >= 0) {
    registered = registered.map((p, i) => (i === existing ? parser : p));
    return;
  }
  const at = options.before === undefined ? -1 : registered.findIndex((p) => p.name === options.before);
  registered = at < 0 ? [...registered, parser] : [...registered.slice(0, at), parser, ...registered.slice(at)];
}

/** The current detection list (a snapshot: registering later does not change it). */
export function registeredParsers(): readonly LineParser[] {
  return registered;
}

/** Restores the built-in list; for tests. */
export function resetParsers(): void {
  registered = [...BUILTIN_PARSERS];
}

/** The parser named `name` in `parsers`, or undefined. */
export function findParser(name: string, parsers: readonly LineParser[] = registered): LineParser | undefined {
  for (const p of parsers) if (p.name === name) return p;
  return undefined;
}
