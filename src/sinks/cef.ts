/**
 * A findings event as one ArcSight CEF line (CEF rev. 25 "Implementing ArcSight CEF"):
 * `CEF:0|meshtrail|meshtrail|<version>|<detector>|<title>|<severity 0-10>|<extensions>`.
 * Pure. The key mapping is documented in src/sinks/README.md.
 *
 * Escaping, as the CEF spec requires: in the header `\` and `|` are backslash-escaped (and a
 * header cannot hold a line break, so CR/LF become spaces); in extension values `\` and `=` are
 * backslash-escaped and CR/LF become the two characters `\r` / `\n`. Extension keys are fixed
 * names chosen here, never data, so they need no escaping.
 */
import { isIP } from 'node:net';
import { SEVERITY_SCORE, type FindingEvent } from '../../schemas/finding.js';
import { evidenceSourceIp, splitHostPort } from './ecs.js';

/** Escapes a CEF header field. */
export function cefHeader(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r\n|[\r\n]/g, ' ');
}

/** Escapes a CEF extension value. */
export function cefValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r\n|\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Epoch ms of an ISO-8601 time, as CEF `rt`/`start`/`end` want it. */
export const ms = (iso: string): string => String(Date.parse(iso));

/** One CEF extension: a fixed key and a value (left out when null). */
export type CefExtension = [string, string | number | null | undefined];

/** The extension part of a CEF line, in the given order, empty values and their labels left out. */
export function cefExtensions(ext: readonly CefExtension[]): string {
  return ext
    .filter(([k, v], i, all) => {
      if (v === null || v === undefined) return false;
      // A label without its value is noise: drop `csNLabel` when `csN` is empty.
      if (k.endsWith('Label')) { const next = all[i + 1]; return next !== undefined && next[1] !== null && next[1] !== undefined; }
      return true;
    })
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ');
}

/** Options for {@link toCef}. */
export interface CefOptions {
  /** meshtrail's version (Device Version). */
  version: string;
}

/** The CEF line of one findings event (no trailing newline). */
export function toCef(event: FindingEvent, options: CefOptions): string {
  const f = event.finding;
  const dest = f.destination ? splitHostPort(f.destination) : null;
  const srcIp = evidenceSourceIp(f.evidence);
  // Order is fixed so that lines are reproducible and diffable.
  const ext: CefExtension[] = [
    ['rt', ms(event.at)],
    ['externalId', event.event_id],
    ['act', event.type],
    ['cat', f.detector],
    ['src', srcIp],
    ['suser', f.source_principal],
    ['duser', f.destination_service],
    ['dst', dest && isIP(dest.host) ? dest.host : null],
    ['dhost', dest && !isIP(dest.host) ? dest.host : f.destination_service],
    ['dpt', f.destination_port ?? dest?.port ?? null],
    ['cnt', f.count],
    ['start', ms(f.first_seen)],
    ['end', ms(f.last_seen)],
    ['outcome', f.status],
    ['reason', f.status_reason],
    ['msg', f.title],
    ['cs1Label', 'sourcePrincipal'], ['cs1', f.source_principal],
    ['cs2Label', 'destinationService'], ['cs2', f.destination_service],
    ['cs3Label', 'requestId'], ['cs3', f.request_id],
    ['cs4Label', 'findingId'], ['cs4', f.id],
    ['cs5Label', 'evidence'], ['cs5', JSON.stringify(f.evidence)],
    ['cs6Label', 'sourceWorkload'], ['cs6', f.source_workload && f.source_namespace ? `${f.source_namespace}/${f.source_workload}` : f.source_workload],
  ];
  const extensions = cefExtensions(ext);
  const header = [
    'CEF:0', 'meshtrail', 'meshtrail', cefHeader(options.version), cefHeader(f.detector), cefHeader(f.title), String(SEVERITY_SCORE[f.severity]),
  ].join('|');
  return `${header}|${extensions}`;
}
