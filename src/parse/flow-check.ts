/**
 * A hand-written check of a `Flow` against `FlowSchema`, for the per-line hot path.
 *
 * `isFlowShapeValid` is deliberately never more lenient than the schema: every condition it tests
 * is at least as strict as the zod rule for that field (e.g. `start_time` must be exactly the
 * `Date#toISOString` form of a real date, which is one valid RFC 3339 date-time among many). So
 * `isFlowShapeValid(x) || FlowSchema.safeParse(x).success` is exactly `FlowSchema.safeParse(x).success`;
 * `validateFlow` relies on that, running zod only when the cheap check says no (a failure path
 * that also needs zod's issue path for the report). test/unit/parse/flow-check.test.ts compares
 * the two on mutated flows.
 */
import { FlowSchema, ReporterKindSchema, type Flow } from '../../schemas/flow.js';
import { emptyFlow } from '../../schemas/flow.js';
import { isCanonicalIso } from './fields.js';

/** Number of keys a flow has; with every known key present, an equal count means no unknown key. */
const FLOW_KEY_COUNT = Object.keys(emptyFlow('x')).length;
const REPORTER_KINDS = new Set<string>(ReporterKindSchema.options);

function isText(v: unknown): boolean {
  return v === null || typeof v === 'string';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isStringRecord(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
}

function isCount(v: unknown): boolean {
  return v === null || (Number.isSafeInteger(v) && (v as number) >= 0);
}

function isMillis(v: unknown): boolean {
  return v === null || (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER);
}

/**
 * True when `flow` certainly satisfies `FlowSchema` (false may still be valid; ask zod then).
 * Every field is read by name (keyed loops over 50 names cost more than zod itself); each test
 * rejects `undefined`, so a missing key fails, and with all known keys present a key count equal to
 * the schema's proves there is no unknown key.
 */
export function isFlowShapeValid(flow: unknown): boolean {
  if (!isPlainObject(flow)) return false;
  const f = flow as Partial<Record<keyof Flow, unknown>>;
  const ok =
    isText(f.method) && isText(f.path) && isText(f.protocol) && isText(f.response_code_details) &&
    isText(f.connection_termination_details) && isText(f.upstream_transport_failure_reason) &&
    isText(f.x_forwarded_for) && isText(f.user_agent) && isText(f.request_id) && isText(f.authority) &&
    isText(f.upstream_host) && isText(f.upstream_cluster) && isText(f.upstream_local_address) &&
    isText(f.downstream_local_address) && isText(f.downstream_remote_address) && isText(f.requested_server_name) &&
    isText(f.route_name) && isText(f.destination_service) &&
    isText(f.source_principal) && isText(f.source_principal_from) && isText(f.source_namespace) &&
    isText(f.source_namespace_from) && isText(f.source_service_account) && isText(f.source_workload) &&
    isText(f.destination_principal) && isText(f.destination_principal_from) && isText(f.destination_namespace) &&
    isText(f.destination_namespace_from) && isText(f.destination_service_account) && isText(f.destination_workload) &&
    isText(f.mtls_evidence) && isText(f.tls_version) && isText(f.tls_cipher) &&
    isCount(f.response_code) && isCount(f.bytes_received) && isCount(f.bytes_sent) &&
    isMillis(f.duration) && isMillis(f.upstream_service_time) &&
    (f.start_time === null || (typeof f.start_time === 'string' && isCanonicalIso(f.start_time))) &&
    (f.direction === null || f.direction === 'inbound' || f.direction === 'outbound') &&
    (f.destination_port === null ||
      (Number.isSafeInteger(f.destination_port) && (f.destination_port as number) >= 0 && (f.destination_port as number) <= 65535)) &&
    typeof f.format === 'string' &&
    (f.mtls === null || typeof f.mtls === 'boolean') &&
    Array.isArray(f.response_flags) && f.response_flags.every(isString) &&
    isStringRecord(f.extra) &&
    isReporterValid(f.reporter);
  return ok && keyCount(flow) === FLOW_KEY_COUNT;
}

/**
 * Enumerable keys of a plain object, counted without allocating the array Object.keys builds (this
 * runs for every line). Inherited enumerable keys would count too, which can only make the cheap
 * check say no and hand the flow to zod.
 */
function keyCount(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

function isString(v: unknown): boolean {
  return typeof v === 'string';
}

function isReporterValid(r: unknown): boolean {
  if (!isPlainObject(r)) return false;
  return (
    typeof r.kind === 'string' && REPORTER_KINDS.has(r.kind) &&
    isText(r.pod) && isText(r.namespace) && isText(r.container) &&
    (r.labels === null || isStringRecord(r.labels)) &&
    keyCount(r) === 5
  );
}

/** Outcome of validating a flow: ok, or the first offending field path and zod's message. */
export type FlowCheck = { ok: true; flow: Flow } | { ok: false; path: string; message: string };

/** Validates `flow` against `FlowSchema`: the cheap check first, zod only when it says no. */
export function validateFlow(flow: unknown): FlowCheck {
  if (isFlowShapeValid(flow)) return { ok: true, flow: flow as Flow };
  const res = FlowSchema.safeParse(flow);
  if (res.success) return { ok: true, flow: res.data };
  const issue = res.error.issues[0];
  return {
    ok: false,
    path: issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue?.message ?? 'invalid flow',
  };
}
