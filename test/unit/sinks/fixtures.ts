/**
 * Shared by the sink tests: findings events with values that stress every escaping rule, a
 * migrated database with an outbox table, a CEF parser (the receiver's view), the HTTP receivers'
 * credential check and polling helpers.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import type { Finding, FindingEvent, FindingEventType } from '../../../schemas/finding.js';
import { openDatabase, type Db } from '../../../src/store/db.js';
import { pino } from 'pino';
import type { Logger } from '../../../src/telemetry/logger.js';

/**
 * The outbox as this module assumes it (migration 0003 of the findings store owns the real one;
 * IF NOT EXISTS makes this a no-op once that lands).
 */
export const OUTBOX_DDL = `CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, at INTEGER NOT NULL, finding TEXT NOT NULL)`;

/** Opens a migrated database file in `dir` with the outbox table present. */
export function openTestDb(dir: string, file = 'sinks.db'): Db {
  const db = openDatabase(path.join(dir, file));
  db.exec(OUTBOX_DDL);
  return db;
}

const TYPES: FindingEventType[] = ['opened', 'severity_changed', 'reopened', 'resolved'];

/**
 * Finding number `i`. Every third one carries the characters CEF must escape: `|` and `\` in
 * header fields, `=` `\` and line breaks in extension values.
 */
export function makeFinding(i: number, overrides: Partial<Finding> = {}): Finding {
  const nasty = i % 3 === 0;
  return {
    id: `f${String(i).padStart(4, '0')}`,
    key: `plaintext|ns/a|svc-b|8080|${i}`,
    detector: nasty ? 'policy-pitfall' : 'plaintext',
    severity: (['info', 'low', 'medium', 'high', 'critical'] as const)[i % 5]!,
    status: 'open',
    status_reason: nasty ? 'line1\nline2\r\nkey=value \\ end' : null,
    title: nasty ? `Pipe | and backslash \\ and mode=STRICT in title #${i}` : `Plaintext traffic to svc-b #${i}`,
    source_principal: nasty ? `spiffe://cluster.local/ns/a=b/sa/x\\y` : 'spiffe://cluster.local/ns/a/sa/client',
    source_workload: 'client',
    source_namespace: 'a',
    destination_service: 'svc-b.b.svc.cluster.local',
    destination_namespace: 'b',
    destination: i % 2 ? '10.0.0.7:8080' : 'api.example.com:443',
    destination_port: i % 2 ? 8080 : 443,
    first_seen: '2026-03-01T10:00:00.000Z',
    last_seen: '2026-03-01T10:05:00.000Z',
    count: 10 + i,
    evidence: nasty
      ? { source_address: '10.1.2.3:5555', note: 'a=b|c\\d\ne', mtls: false }
      : { source_address: '10.1.2.4:4444', mtls: false, tls_version: 'TLSv1.2' },
    sample_flow_ids: [i + 1, i + 2],
    request_id: `req-${i}`,
    updated_at: '2026-03-01T10:05:00.000Z',
    ...overrides,
  };
}

/** An event (seq assigned by {@link appendEvents}). */
export function makeEvent(i: number, seq = i): FindingEvent {
  const finding = makeFinding(i);
  return { event_id: `${finding.id}:${seq}`, seq, type: TYPES[i % TYPES.length]!, at: new Date(Date.parse('2026-03-01T10:05:00.000Z') + i * 1000).toISOString(), finding };
}

/** Inserts `count` events numbered from `from`; returns them with their seq. */
export function appendEvents(db: Db, from: number, count: number): FindingEvent[] {
  const insert = db.prepare('INSERT INTO outbox (seq, event_id, type, at, finding) VALUES (?, ?, ?, ?, ?)');
  const out: FindingEvent[] = [];
  db.transaction(() => {
    for (let i = from; i < from + count; i++) {
      const e = makeEvent(i);
      insert.run(e.seq, e.event_id, e.type, Date.parse(e.at), JSON.stringify(e.finding));
      out.push(e);
    }
  })();
  return out;
}

/** A parsed CEF line. */
export interface ParsedCef {
  header: string[];
  ext: Record<string, string>;
}

/** Parses a CEF line as a receiver would (unescaping), independent of the code under test. */
export function parseCef(line: string): ParsedCef {
  const start = line.indexOf('CEF:');
  if (start < 0) throw new Error(`no CEF in ${line}`);
  const s = line.slice(start);
  const header: string[] = [];
  let cur = '';
  let i = 0;
  for (; i < s.length && header.length < 7; i++) {
    const c = s[i]!;
    if (c === '\\' && (s[i + 1] === '|' || s[i + 1] === '\\')) { cur += s[++i]; continue; }
    if (c === '|') { header.push(cur); cur = ''; continue; }
    cur += c;
  }
  const rest = s.slice(i);
  // Like a strict receiver: every unescaped '=' ends a key, and the key is the word before it
  // (back to the previous space). An '=' a sender forgot to escape yields a bogus key or an error.
  const ext: Record<string, string> = {};
  const eqs: number[] = [];
  for (let j = 0; j < rest.length; j++) {
    if (rest[j] === '\\') { j++; continue; }
    if (rest[j] === '=') eqs.push(j);
  }
  const keys = eqs.map((eq) => {
    const sp = rest.lastIndexOf(' ', eq);
    const key = rest.slice(sp + 1, eq);
    if (!/^[A-Za-z0-9]+$/.test(key)) throw new Error(`CEF extension has an invalid key ${JSON.stringify(key)} (unescaped '=' in a value?)`);
    return { key, at: sp < 0 ? 0 : sp, valueAt: eq + 1 };
  });
  keys.forEach((k, n) => {
    const raw = rest.slice(k.valueAt, n + 1 < keys.length ? keys[n + 1]!.at : rest.length);
    ext[k.key] = raw.replace(/\\(.)/g, (_x, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  });
  return { header, ext };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A pino logger that records entries in memory (and prints them with SINK_TEST_LOG=1). */
export function memoryLogger(): { logger: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, {
    write(line: string) {
      entries.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env.SINK_TEST_LOG === '1') process.stderr.write(line);
    },
  } as unknown as pino.DestinationStream);
  return { logger, entries };
}

/** The HEC token and webhook secret the HTTP sink tests configure. */
export const HEC_TOKEN = 'hec-token-0123';
export const WEBHOOK_SECRET = 'webhook-secret-0123456789';

/**
 * Whether a delivery to a test receiver carries valid credentials, checked independently of the
 * sinks' own code: HEC's endpoint and token, or the webhook's HMAC signature over the body, a
 * timestamp within 5 minutes and a JSON content type.
 */
export function authorizedDelivery(kind: 'hec' | 'webhook', req: http.IncomingMessage, body: string): boolean {
  if (kind === 'hec') return req.url === '/services/collector/event' && req.headers.authorization === `Splunk ${HEC_TOKEN}`;
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-meshtrail-signature']));
  const mac = m ? crypto.createHmac('sha256', WEBHOOK_SECRET).update(`${m[1]}.${body}`).digest('hex') : '';
  return !!m && mac === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300 && req.headers['content-type'] === 'application/json';
}
