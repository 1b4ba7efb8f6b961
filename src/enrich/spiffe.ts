/**
 * SPIFFE ID parsing and validation (SPIFFE ID standard, "SPIFFE-ID.md" §2): pure, never throws.
 *
 * A valid ID is `spiffe://<trust-domain><path>`: scheme exactly `spiffe`; trust domain non-empty,
 * only `a-z 0-9 . - _`; path empty or `/`-separated segments of `A-Z a-z 0-9 . - _`, no empty
 * segment, no `.`/`..` segment, no trailing `/`; no userinfo, port, query or fragment; at most
 * 2048 bytes. Anything else is returned as invalid with its raw text and a reason code: a
 * malformed principal is kept and flagged, never repaired.
 *
 * Envoy prints every URI SAN of a certificate, comma-separated, in `%*_URI_SAN%`. A comma is not a
 * legal SPIFFE ID character, so splitting on it is safe: the first valid SPIFFE ID is used and
 * `san_count` records how many SANs there were.
 */

/** A valid SPIFFE ID, split into its parts. */
export interface SpiffeId {
  valid: true;
  /** The ID itself (`spiffe://cluster.local/ns/shop/sa/cart`), without any other SANs. */
  id: string;
  trust_domain: string;
  /** `/ns/shop/sa/cart`, or `` for a trust-domain-only ID. */
  path: string;
  /** Namespace, only for the Kubernetes form `/ns/<ns>/sa/<sa>`. */
  namespace: string | null;
  /** Service account, only for the Kubernetes form `/ns/<ns>/sa/<sa>`. */
  service_account: string | null;
  /** How many URI SANs the text held (1 for a single ID). */
  san_count: number;
}

/** Text that is not a valid SPIFFE ID, kept verbatim with why. */
export interface InvalidSpiffeId {
  valid: false;
  raw: string;
  /** Low-cardinality reason: `empty`, `too_long`, `bad_scheme`, `bad_trust_domain`, `has_userinfo`, ... */
  reason: string;
}

export type SpiffeParseResult = SpiffeId | InvalidSpiffeId;

const MAX_BYTES = 2048;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const K8S_PATH = /^\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** Parses a principal as printed by Envoy or ztunnel (one ID or a comma-separated SAN list). */
export function parseSpiffeId(text: string): SpiffeParseResult {
  const raw = text.trim();
  if (raw === '' || raw === '-') return { valid: false, raw: text, reason: 'empty' };
  if (!raw.includes(',')) return parseOne(raw, 1);
  const sans = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  let firstFailure: InvalidSpiffeId | null = null;
  for (const san of sans) {
    if (!san.toLowerCase().startsWith('spiffe:')) continue;
    const r = parseOne(san, sans.length);
    if (r.valid) return r;
    firstFailure ??= { valid: false, raw: text, reason: r.reason };
  }
  return firstFailure ?? { valid: false, raw: text, reason: 'no_spiffe_san' };
}

function parseOne(raw: string, sanCount: number): SpiffeParseResult {
  const bad = (reason: string): InvalidSpiffeId => ({ valid: false, raw, reason });
  if (Buffer.byteLength(raw, 'utf8') > MAX_BYTES) return bad('too_long');
  if (!raw.startsWith('spiffe://')) return bad(raw.toLowerCase().startsWith('spiffe://') ? 'scheme_not_lowercase' : 'bad_scheme');
  const rest = raw.slice('spiffe://'.length);
  if (rest.includes('?')) return bad('has_query');
  if (rest.includes('#')) return bad('has_fragment');
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (authority === '') return bad('missing_trust_domain');
  if (authority.includes('@')) return bad('has_userinfo');
  if (authority.includes(':')) return bad('has_port');
  if (!TRUST_DOMAIN.test(authority)) return bad('bad_trust_domain');
  if (path !== '') {
    if (path.endsWith('/')) return bad('trailing_slash');
    for (const seg of path.slice(1).split('/')) {
      if (seg === '') return bad('empty_segment');
      if (seg === '.' || seg === '..') return bad('dot_segment');
      if (!SEGMENT.test(seg)) return bad('bad_path_char');
    }
  }
  const k8s = K8S_PATH.exec(path);
  return {
    valid: true,
    id: raw,
    trust_domain: authority,
    path,
    namespace: k8s ? k8s[1]! : null,
    service_account: k8s ? k8s[2]! : null,
    san_count: sanCount,
  };
}

/**
 * The form Istio policies use for a principal (`AuthorizationPolicy` `source.principals`):
 * the SPIFFE ID without `spiffe://`, e.g. `cluster.local/ns/shop/sa/cart`.
 */
export function toIstioPrincipal(id: SpiffeId): string {
  return `${id.trust_domain}${id.path}`;
}

/** The SPIFFE ID for an Istio policy principal (`cluster.local/ns/a/sa/b` -> `spiffe://...`), validated. */
export function fromIstioPrincipal(principal: string): SpiffeParseResult {
  return parseSpiffeId(principal.startsWith('spiffe://') ? principal : `spiffe://${principal}`);
}
