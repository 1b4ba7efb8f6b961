import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { meshtrail } from '../helpers/cli.js';

const dir = t.testdir({
  policies: {
    'pa.yaml': 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: bookinfo}\nspec: {mtls: {mode: STRICT}}\n',
  },
});
const log = path.join(dir, 'access.log');
const db = path.join(dir, 'm.db');
fs.writeFileSync(log, generateMeshTraffic({ requests: 600, seed: 21, end: Date.parse('2026-02-01T00:00:00Z') }).join('\n') + '\n');
t.equal(meshtrail(['ingest', '--db', db, log]).status, 0);
const window = ['--from', '2026-01-31T00:00:00Z', '--to', '2026-02-01T00:00:01Z'];

const sql = (q: string) => { const d = new Database(db, { readonly: true }); try { return d.prepare(q).get() as Record<string, number>; } finally { d.close(); } };

t.test('the JSON report counts exactly the stored server-side flows, and verifies', (t) => {
  const out = path.join(dir, 'report.json');
  const r = meshtrail(['report', 'mtls', '--db', db, ...window, '--policies', path.join(dir, 'policies'), '--out', out]);
  t.equal(r.status, 0, r.stderr);
  const { report } = JSON.parse(fs.readFileSync(out, 'utf8'));
  const expected = sql('SELECT count(*) AS requests, sum(mtls = 1) AS verified, sum(mtls = 0) AS plaintext, sum(mtls IS NULL) AS unknown FROM flows WHERE direction = 1');
  t.equal(report.totals.requests, expected.requests);
  t.equal(report.totals.mtls_verified, expected.verified);
  t.equal(report.totals.plaintext, expected.plaintext);
  t.equal(report.totals.unknown, expected.unknown);
  t.ok(report.totals.plaintext > 0, 'the sample has known plaintext (a caller without a sidecar)');
  const ratings = report.destinations.find((d: any) => d.workload === 'ratings');
  t.equal(ratings.effective_mode, 'STRICT');
  t.equal(ratings.status, 'violation', 'plaintext reached a STRICT workload');
  t.match(ratings.plaintext_callers[0].caller, /10\.44\.2\.20/);
  t.equal(report.destinations.find((d: any) => d.workload === 'details').status, 'enforced');
  t.match(report.policy.sha256, /^[0-9a-f]{64}$/);
  t.ok(report.controls.some((c: any) => c.id === 'NIST SP 800-204A SM-DR6'));

  const ok = meshtrail(['report', 'verify', out]);
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, /^OK/);
  t.end();
});

t.test('tampering with one number, the policy digest or the signer fails verify', (t) => {
  const out = path.join(dir, 'r2.json');
  t.equal(meshtrail(['report', 'mtls', '--db', db, ...window, '--policies', path.join(dir, 'policies'), '--out', out]).status, 0);
  const original = JSON.parse(fs.readFileSync(out, 'utf8'));
  const tamper = (name: string, change: (doc: any) => void) => {
    const doc = structuredClone(original);
    change(doc);
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(doc));
    const r = meshtrail(['report', 'verify', file]);
    t.equal(r.status, 1, `${name} fails`);
    t.match(r.stderr, /FAILED/);
  };
  tamper('number', (d) => { d.report.destinations[0].plaintext += 1; });
  tamper('digest', (d) => { d.report.policy.sha256 = '0'.repeat(64); });
  tamper('added-field', (d) => { d.report.note = 'all good'; });
  // Re-signed by someone else: the embedded key verifies, the pinned key does not.
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const keyFile = path.join(dir, 'forger.pem');
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const resigned = meshtrail(['report', 'mtls', '--db', db, ...window, '--key', keyFile, '--out', path.join(dir, 'forged.json')]);
  t.equal(resigned.status, 0);
  const realKey = path.join(dir, 'real.pub');
  const realPriv = crypto.createPrivateKey(fs.readFileSync(`${db}.report-key.pem`));
  fs.writeFileSync(realKey, crypto.createPublicKey(realPriv).export({ type: 'spki', format: 'pem' }));
  t.equal(meshtrail(['report', 'verify', path.join(dir, 'forged.json')]).status, 0, 'self-consistent on its own');
  const pinned = meshtrail(['report', 'verify', path.join(dir, 'forged.json'), '--public-key', realKey]);
  t.equal(pinned.status, 1);
  t.match(pinned.stderr, /not signed by the pinned public key/);
  t.equal(meshtrail(['report', 'verify', out, '--public-key', realKey]).status, 0, 'the genuine report verifies against the pinned key');
  t.end();
});

t.test('HTML and Markdown renderings are self-contained', (t) => {
  const html = meshtrail(['report', 'mtls', '--db', db, ...window, '--format', 'html']);
  t.equal(html.status, 0, html.stderr);
  t.match(html.stdout, /^<!doctype html>/);
  t.notMatch(html.stdout, /(src|href)=["']?https?:/i, 'no external assets');
  t.match(html.stdout, /@media print/);
  const md = meshtrail(['report', 'mtls', '--db', db, ...window, '--format', 'md']);
  t.match(md.stdout, /# mTLS enforcement evidence/);
  const bad = meshtrail(['report', 'mtls', '--db', db, '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--from/);
  t.end();
});
