/**
 * Signing and verifying evidence reports with Ed25519 (node:crypto). The signed bytes are the
 * canonical JSON of the report (object keys sorted recursively, no whitespace), so a verifier
 * recomputes exactly what was signed from the JSON alone.
 *
 * The signing key comes from configuration or is generated on first use and kept next to the
 * database (`<db>.report-key.pem`, mode 0600). Verifying against the key embedded in a report
 * only proves integrity; to prove origin, pin the expected public key (`--public-key`).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

/** JSON with object keys sorted at every level: the exact bytes that are hashed and signed. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Loads the Ed25519 private key at `file`, creating it (0600) when missing. */
export function loadOrCreateSigningKey(file: string): crypto.KeyObject {
  if (fs.existsSync(file)) return crypto.createPrivateKey(fs.readFileSync(file));
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  return privateKey;
}

/** The public half as base64 SPKI DER and its SHA-256 fingerprint. */
export function publicKeyInfo(key: crypto.KeyObject): { public_key: string; key_fingerprint: string } {
  const der = (key.type === 'public' ? key : crypto.createPublicKey(key)).export({ type: 'spki', format: 'der' });
  return { public_key: der.toString('base64'), key_fingerprint: crypto.createHash('sha256').update(der).digest('hex') };
}

/** Signs `report`: returns `{ report, signature }`. */
export function signReport<T>(report: T, privateKey: crypto.KeyObject) {
  const bytes = Buffer.from(canonicalJson(report), 'utf8');
  return {
    report,
    signature: {
      algorithm: 'Ed25519' as const,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      ...publicKeyInfo(privateKey),
      value: crypto.sign(null, bytes, privateKey).toString('base64'),
    },
  };
}

/** What verification found. */
export interface Verification { ok: boolean; problems: string[]; key_fingerprint: string | null }

/**
 * Verifies a signed document: digest, signature, and (when given) that it was signed by the
 * pinned public key (PEM or base64 SPKI DER).
 */
export function verifySigned(doc: { report: unknown; signature: { sha256: string; public_key: string; key_fingerprint: string; value: string } }, pinnedPublicKey?: string): Verification {
  const problems: string[] = [];
  const bytes = Buffer.from(canonicalJson(doc.report), 'utf8');
  const digest = crypto.createHash('sha256').update(bytes).digest('hex');
  if (digest !== doc.signature.sha256) problems.push(`content digest ${digest} does not match the signed digest ${doc.signature.sha256}: the report was changed after signing`);
  let key: crypto.KeyObject | null = null;
  try {
    key = crypto.createPublicKey({ key: Buffer.from(doc.signature.public_key, 'base64'), format: 'der', type: 'spki' });
  } catch {
    problems.push('the embedded public key is not a valid SPKI key');
  }
  let fingerprint: string | null = null;
  if (key) {
    fingerprint = publicKeyInfo(key).key_fingerprint;
    if (fingerprint !== doc.signature.key_fingerprint) problems.push('the key fingerprint does not match the embedded public key');
    let valid = false;
    try {
      valid = crypto.verify(null, bytes, key, Buffer.from(doc.signature.value, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) problems.push('the Ed25519 signature does not verify over the report content');
  }
  if (pinnedPublicKey !== undefined) {
    try {
      const pinned = pinnedPublicKey.includes('BEGIN')
        ? crypto.createPublicKey(pinnedPublicKey)
        : crypto.createPublicKey({ key: Buffer.from(pinnedPublicKey.trim(), 'base64'), format: 'der', type: 'spki' });
      if (publicKeyInfo(pinned).key_fingerprint !== fingerprint) problems.push('the report was not signed by the pinned public key');
    } catch {
      problems.push('the pinned public key cannot be read');
    }
  }
  return { ok: problems.length === 0, problems, key_fingerprint: fingerprint };
}
