/**
 * The value matchers Istio's authorization uses, and three-valued (Kleene) logic.
 *
 * A `Tri` is `true`, `false` or `null` (unknown: the request does not carry the fact the match
 * needs). `and3`/`or3`/`not3` are Kleene's strong connectives, so an unknown fact only makes the
 * result unknown where the fact could change it: `false AND unknown` is `false`,
 * `true OR unknown` is `true`.
 *
 * String values follow the AuthorizationPolicy reference: `"abc"` exact, `"abc*"` prefix,
 * `"*abc"` suffix, `"*"` presence (any non-empty value); paths additionally accept the
 * `{*}` (one segment) and `{**}` (zero or more segments, last) templates.
 */
import { BlockList, isIP } from 'node:net';

/** A three-valued truth value: `null` is "unknown". */
export type Tri = boolean | null;

/** Kleene AND of two values. */
export function and3(a: Tri, b: Tri): Tri {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

/** Kleene OR of two values. */
export function or3(a: Tri, b: Tri): Tri {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

/** Kleene NOT. */
export function not3(a: Tri): Tri {
  return a === null ? null : !a;
}

/** A compiled string predicate. */
export type StringPredicate = (value: string) => boolean;

/**
 * Compiles one Istio string value into a predicate. `ignoreCase` is for hosts, whose match
 * Istio documents as case-insensitive.
 */
export function compileStringValue(pattern: string, ignoreCase = false): StringPredicate {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const norm = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (p === '*') return (s) => s.length > 0;
  if (p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (s) => norm(s).startsWith(prefix);
  }
  if (p.startsWith('*')) {
    const suffix = p.slice(1);
    return (s) => norm(s).endsWith(suffix);
  }
  return (s) => norm(s) === p;
}

/** Compiles a path value: a `{*}`/`{**}` template, or an ordinary Istio string value. */
export function compilePathValue(pattern: string): StringPredicate {
  if (!pattern.includes('{*}') && !pattern.includes('{**}')) return compileStringValue(pattern);
  const source = pattern
    .split(/(\{\*\*\}|\{\*\})/)
    .map((part) => (part === '{**}' ? '.*' : part === '{*}' ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${source}$`);
  return (s) => re.test(s);
}

/** Compiles a list of values into one predicate that is true when any value matches. */
export function anyOf(patterns: readonly string[], compile: (p: string) => StringPredicate): StringPredicate {
  const preds = patterns.map(compile);
  if (preds.length === 1) return preds[0]!;
  return (s) => preds.some((p) => p(s));
}

/** Strips a port from `host:port` / `[v6]:port` / a bare IP, returning the address only. */
export function stripPort(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end === -1 ? address : address.slice(1, end);
  }
  if (isIP(address) !== 0) return address;
  const colon = address.lastIndexOf(':');
  return colon === -1 ? address : address.slice(0, colon);
}

/** A compiled IP/CIDR list: true when the address falls in any block; null for an unparsable address. */
export type IpPredicate = (address: string) => boolean | null;

/** Compiles IPs and CIDRs (already validated by the schema) into one predicate. */
export function compileIpBlocks(blocks: readonly string[]): IpPredicate {
  const list = new BlockList();
  for (const block of blocks) {
    const slash = block.indexOf('/');
    const addr = slash === -1 ? block : block.slice(0, slash);
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (slash === -1) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(block.slice(slash + 1)), family);
  }
  return (address) => {
    const a = stripPort(address);
    const family = isIP(a);
    if (family === 0) return null;
    return list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
}
