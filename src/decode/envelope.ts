/**
 * Removes the wrapper a log pipeline put around an access-log line, detected per line:
 *
 * - bare: the line itself (`kind: 'none'`);
 * - container runtime (CRI, /var/log/containers): `<RFC3339Nano> stdout|stderr F|P <line>`. A `P`
 *   (partial) record is only a fragment of a line and is refused (`partial_line`): joining
 *   fragments needs the records around it, which is the source's job;
 * - Docker json-file: `{"log":"...\n","stream":"stdout","time":"..."}`;
 * - log shippers: Fluent Bit (`log` + `kubernetes{pod_name, namespace_name, container_name,
 *   labels}`) and Vector (`message` + `kubernetes{pod_name, pod_namespace, container_name,
 *   pod_labels}`); their Kubernetes metadata becomes `envelope.reporter`.
 *
 * The value inside a JSON envelope may itself still carry a CRI prefix (a shipper tailing
 * /var/log/containers without a CRI parser), so it is unwrapped once more. An Istio JSON
 * access-log line is also a `{...}` line: it is recognised by its access-log keys and returned
 * bare. Trailing `\n`/`\r\n` is stripped at every level. Pure; never throws.
 */
import type { Reporter } from '../../schemas/flow.js';
import type { Envelope, ParseFailure } from '../pipeline/contracts.js';
import { parseJsonObject } from './json-object.js';

/** Result of unwrapping one record. */
export type EnvelopeOutcome = { ok: true; envelope: Envelope } | ParseFailure;

/**
 * Keys that mark a JSON object as an access-log line rather than an envelope. An envelope has
 * none of them; Istio's JSON encoding (and any sensible custom JSON template) has several.
 */
const ACCESS_LOG_MARKERS = [
  'start_time', 'response_code', 'upstream_cluster', 'method', 'authority', 'downstream_remote_address',
  'bytes_sent', 'response_flags', 'duration', 'protocol',
];

const NO_REPORTER: Partial<Reporter> = Object.freeze({}) as Partial<Reporter>;

/** Strips one trailing `\n`, `\r\n` or `\r` (Docker and shippers keep the newline in the value). */
export function stripEol(s: string): string {
  let end = s.length;
  if (s.charCodeAt(end - 1) === 10) end--;
  if (s.charCodeAt(end - 1) === 13) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Unwraps one record; see the module header for the envelopes recognised. */
export function decodeEnvelope(text: string): EnvelopeOutcome {
  const line = stripEol(text);
  if (line.charCodeAt(0) === 123 /* { */) return decodeJsonEnvelope(line);
  const cri = splitCri(line);
  if (cri === null) return { ok: true, envelope: { line, kind: 'none', reporter: NO_REPORTER } };
  if (!cri.ok) return cri;
  return { ok: true, envelope: { line: cri.line, kind: 'cri', reporter: NO_REPORTER } };
}

/**
 * Splits a CRI record `<timestamp> <stream> <tag> <line>`: null when `line` is not one, a failure
 * for a partial (`P`) record. The timestamp is checked by shape only (`YYYY-MM-DDT...`), which is
 * enough to keep ztunnel's `<timestamp>\tinfo\t...` lines (no stdout/stderr token) apart.
 */
export function splitCri(line: string): { ok: true; line: string } | ParseFailure | null {
  if (line.length < 30 || line.charCodeAt(4) !== 45 || line.charCodeAt(10) !== 84) return null;
  for (const i of [0, 1, 2, 3]) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const s1 = line.indexOf(' ', 11);
  if (s1 < 0 || s1 > 40) return null;
  let s2: number;
  if (line.startsWith('stdout ', s1 + 1)) s2 = s1 + 7;
  else if (line.startsWith('stderr ', s1 + 1)) s2 = s1 + 7;
  else return null;
  // The CRI tag field may carry several ':'-separated tags; the first is F (full) or P (partial).
  const s3 = line.indexOf(' ', s2 + 1);
  const tagEnd = s3 < 0 ? line.length : s3;
  const tag = line.slice(s2 + 1, tagEnd);
  const first = tag.split(':', 1)[0];
  if (first === 'P') {
    return { ok: false, reason: 'partial_line', detail: 'CRI record tagged P (partial): a fragment of a longer line cannot be parsed alone' };
  }
  if (first !== 'F') return null;
  return { ok: true, line: s3 < 0 ? '' : line.slice(s3 + 1) };
}

function decodeJsonEnvelope(line: string): EnvelopeOutcome {
  const parsed = parseJsonObject(line);
  // Not JSON or not an envelope: hand the line on bare, the JSON parser reports why it fails.
  if (!parsed.ok) return { ok: true, envelope: { line, kind: 'none', reporter: NO_REPORTER } };
  const obj = parsed.value;
  for (const k of ACCESS_LOG_MARKERS) {
    if (k in obj) return { ok: true, envelope: { line, kind: 'none', reporter: NO_REPORTER } };
  }
  // `message` is a common key of application JSON logs too (ztunnel's LOG_FORMAT=json has it), so
  // it counts as Vector's only beside Vector's own `kubernetes` or `source_type` keys.
  const inner =
    typeof obj.log === 'string'
      ? obj.log
      : typeof obj.message === 'string' && ('kubernetes' in obj || 'source_type' in obj)
        ? obj.message
        : null;
  if (inner === null) return { ok: true, envelope: { line, kind: 'none', reporter: NO_REPORTER } };

  const k8s = obj.kubernetes;
  const reporter = k8s !== null && typeof k8s === 'object' && !Array.isArray(k8s) ? kubernetesReporter(k8s as Record<string, unknown>) : NO_REPORTER;
  const isShipper = reporter !== NO_REPORTER || !isDockerRecord(obj);
  let value = stripEol(inner);
  const cri = splitCri(value);
  if (cri !== null) {
    if (!cri.ok) return cri;
    value = cri.line;
  }
  return { ok: true, envelope: { line: value, kind: isShipper ? 'shipper' : 'docker-json', reporter } };
}

/** Docker's json-file driver writes exactly `log`, `stream`, `time` (and `attrs` with `--log-opt`). */
function isDockerRecord(obj: Record<string, unknown>): boolean {
  if (typeof obj.log !== 'string') return false;
  for (const k in obj) {
    if (k !== 'log' && k !== 'stream' && k !== 'time' && k !== 'attrs') return false;
  }
  return true;
}

/** Reads pod/namespace/container/labels from Fluent Bit's or Vector's `kubernetes` object. */
function kubernetesReporter(k8s: Record<string, unknown>): Partial<Reporter> {
  const r: Partial<Reporter> = {};
  const pod = str(k8s.pod_name);
  const namespace = str(k8s.namespace_name) ?? str(k8s.pod_namespace);
  const container = str(k8s.container_name);
  const labels = stringRecord(k8s.labels) ?? stringRecord(k8s.pod_labels);
  if (pod !== null) r.pod = pod;
  if (namespace !== null) r.namespace = namespace;
  if (container !== null) r.container = container;
  if (labels !== null) r.labels = labels;
  return r;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Label values are strings in Kubernetes; anything else is dropped rather than guessed. */
function stringRecord(v: unknown): Record<string, string> | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val === 'string') out[k] = val;
  }
  return out;
}
