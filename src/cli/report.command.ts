/**
 * `meshtrail report mtls` writes the signed mTLS evidence report (json, html or md);
 * `meshtrail report verify` checks a JSON report's digest and signature (and, with
 * --public-key, who signed it) and fails on any tampering.
 */
import fs from 'node:fs';
import { SignedMtlsReportSchema, type SignedMtlsReport } from '../../schemas/report.js';
import { MeshtrailError } from '../errors.js';
import { loadPolicies } from '../policy/load.js';
import { buildMtlsReport } from '../report/mtls-report.js';
import { renderHtml, renderMarkdown } from '../report/render.js';
import { loadOrCreateSigningKey, signReport, verifySigned, type Verification } from '../report/sign.js';
import { openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';

/** Options of {@link mtlsReportCommand}. */
export interface MtlsReportCommandOptions {
  db: string;
  from: number;
  to: number;
  namespace?: string;
  policiesDir?: string;
  format: 'json' | 'html' | 'md';
  keyFile?: string;
}

/** The default signing key location: next to the database. */
export const defaultKeyFile = (db: string) => `${db}.report-key.pem`;

export function mtlsReportCommand(o: MtlsReportCommandOptions): { text: string; signed: SignedMtlsReport; problems: string[] } {
  let policies = null;
  const problems: string[] = [];
  if (o.policiesDir) {
    const loaded = loadPolicies(o.policiesDir);
    policies = loaded.policies;
    for (const p of loaded.problems) if (p.severity === 'error') problems.push(`${p.file} document ${p.document}: ${p.path}: ${p.message}`);
  }
  const db = openDatabase(o.db);
  try {
    const report = buildMtlsReport(new Store(db), { from: o.from, to: o.to, namespace: o.namespace ?? null, policies });
    const signed = signReport(report, loadOrCreateSigningKey(o.keyFile ?? defaultKeyFile(o.db))) as SignedMtlsReport;
    const text = o.format === 'html' ? renderHtml(signed) : o.format === 'md' ? renderMarkdown(signed) : `${JSON.stringify(signed, null, 2)}\n`;
    return { text, signed, problems };
  } finally {
    db.close();
  }
}

export function verifyReportCommand(file: string, publicKeyFile?: string): Verification {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new MeshtrailError('ERR_INPUT_UNREADABLE', `${file} is not a readable JSON report: ${(cause as Error).message}`, { cause });
  }
  const parsed = SignedMtlsReportSchema.safeParse(doc);
  if (!parsed.success) {
    // A structurally broken document is itself evidence of tampering (or of the wrong file).
    return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), key_fingerprint: null };
  }
  const pinned = publicKeyFile ? fs.readFileSync(publicKeyFile, 'utf8') : undefined;
  return verifySigned(doc as SignedMtlsReport, pinned);
}
