/**
 * The normalised flow: one record per access-log line, whatever format or envelope it came in.
 *
 * This schema is the single definition of the shape. Field names are Istio's JSON access-log keys
 * (the `EnvoyJSONLogFormatIstio` set) so that a flow reads like the line it came from; derived and
 * identity fields follow the same lower_snake_case convention. Absent values and Envoy's "-" are
 * `null`, never empty strings, so "the line did not say" is always distinguishable from a value.
 */
import { z } from 'zod';

/** A nullable string: Envoy's "-" and absent fields both become null before they reach the schema. */
const text = z.string().nullable();
/** A non-negative integer count (bytes, status codes); null when the line did not carry it. */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable();
/** Milliseconds; Envoy prints integers but ztunnel and header values may carry fractions. */
const millis = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable();

/** Which proxy wrote the line. */
export const ReporterKindSchema = z
  .enum(['sidecar', 'gateway', 'ztunnel', 'waypoint', 'envoy', 'unknown'])
  .describe('Kind of proxy that wrote the line: Istio sidecar, ingress/egress gateway, ztunnel, waypoint, plain Envoy, or unknown.');

export const ReporterSchema = z
  .object({
    kind: ReporterKindSchema,
    pod: text.describe('Pod name, when the envelope carries Kubernetes metadata.'),
    namespace: text.describe('Pod namespace, when the envelope carries Kubernetes metadata.'),
    container: text.describe('Container name (istio-proxy, ztunnel, ...), when the envelope carries it.'),
    labels: z.record(z.string(), z.string()).nullable().describe('Pod labels from the envelope, when present.'),
  })
  .strict();

export const DirectionSchema = z.enum(['inbound', 'outbound']).nullable();

/** Where a derived value came from, so an investigator can weigh it. */
export const ProvenanceSchema = z
  .string()
  .nullable()
  .describe('The field or inference a derived value was taken from, e.g. "upstream_cluster", "requested_server_name", "downstream_peer_uri_san".');

export const FlowSchema = z
  .object({
    // --- the Istio JSON access-log keys -------------------------------------------------------
    start_time: z.iso.datetime({ offset: true }).nullable().describe('Request start, ISO-8601 UTC with milliseconds.'),
    method: text,
    path: text,
    protocol: text,
    response_code: count.describe('HTTP status; 0 for TCP or when no response was sent.'),
    response_flags: z.array(z.string()).describe('Envoy response flags (UH, UF, NR, ...); [] when the line shows "-".'),
    response_code_details: text,
    connection_termination_details: text,
    upstream_transport_failure_reason: text,
    bytes_received: count,
    bytes_sent: count,
    duration: millis.describe('Total duration in milliseconds.'),
    upstream_service_time: millis.describe('x-envoy-upstream-service-time in milliseconds.'),
    x_forwarded_for: text,
    user_agent: text,
    request_id: text,
    authority: text,
    upstream_host: text,
    upstream_cluster: text,
    upstream_local_address: text,
    downstream_local_address: text,
    downstream_remote_address: text,
    requested_server_name: text,
    route_name: text,

    // --- derived ------------------------------------------------------------------------------
    direction: DirectionSchema.describe('inbound/outbound from upstream_cluster, the listener, or the ztunnel direction field.'),
    destination_service: text.describe('Destination service host (FQDN or external host) from the cluster name or the Istio mTLS SNI.'),
    destination_port: z.number().int().min(0).max(65535).nullable(),
    reporter: ReporterSchema,
    format: z.string().describe('The format the line was recognised as, e.g. istio-text-1.24, istio-json, envoy-text, ztunnel-plain.'),

    // --- identity and TLS (filled where the line or the envelope carries the facts) -----------
    source_principal: text.describe('Caller SPIFFE ID (or raw principal text when it is not a valid SPIFFE ID).'),
    source_principal_from: ProvenanceSchema,
    source_namespace: text,
    source_namespace_from: ProvenanceSchema,
    source_service_account: text,
    source_workload: text,
    destination_principal: text.describe('Server SPIFFE ID.'),
    destination_principal_from: ProvenanceSchema,
    destination_namespace: text,
    destination_namespace_from: ProvenanceSchema,
    destination_service_account: text,
    destination_workload: text,
    mtls: z.boolean().nullable().describe('true: mutually authenticated; false: plaintext; null: the line does not prove either.'),
    mtls_evidence: text.describe('The strongest fact the mTLS verdict rests on, or why it is unknown.'),
    tls_version: text,
    tls_cipher: text,

    /** Values of operators meshtrail has no column for (custom templates, ztunnel extras). */
    extra: z.record(z.string(), z.string()).describe('Operators and fields without a dedicated column, kept under their own names.'),
  })
  .strict();

/** A normalised flow, as parsers return it and the store keeps it. */
export type Flow = z.infer<typeof FlowSchema>;
export type Reporter = z.infer<typeof ReporterSchema>;
export type ReporterKind = z.infer<typeof ReporterKindSchema>;
export type Direction = z.infer<typeof DirectionSchema>;

/** The keys of a flow that parsers fill from the line itself (Istio's JSON access-log keys). */
export const ACCESS_LOG_KEYS = [
  'start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details',
  'connection_termination_details', 'upstream_transport_failure_reason', 'bytes_received', 'bytes_sent',
  'duration', 'upstream_service_time', 'x_forwarded_for', 'user_agent', 'request_id', 'authority',
  'upstream_host', 'upstream_cluster', 'upstream_local_address', 'downstream_local_address',
  'downstream_remote_address', 'requested_server_name', 'route_name',
] as const satisfies readonly (keyof Flow)[];

/** A flow with every field null/empty: parsers start from it so no key is ever missing. */
export function emptyFlow(format: string): Flow {
  return {
    start_time: null, method: null, path: null, protocol: null, response_code: null, response_flags: [],
    response_code_details: null, connection_termination_details: null, upstream_transport_failure_reason: null,
    bytes_received: null, bytes_sent: null, duration: null, upstream_service_time: null, x_forwarded_for: null,
    user_agent: null, request_id: null, authority: null, upstream_host: null, upstream_cluster: null,
    upstream_local_address: null, downstream_local_address: null, downstream_remote_address: null,
    requested_server_name: null, route_name: null,
    direction: null, destination_service: null, destination_port: null,
    reporter: { kind: 'unknown', pod: null, namespace: null, container: null, labels: null },
    format,
    source_principal: null, source_principal_from: null, source_namespace: null, source_namespace_from: null,
    source_service_account: null, source_workload: null,
    destination_principal: null, destination_principal_from: null, destination_namespace: null,
    destination_namespace_from: null, destination_service_account: null, destination_workload: null,
    mtls: null, mtls_evidence: null, tls_version: null, tls_cipher: null,
    extra: {},
  };
}

/**
 * Sets `flow.extra[key]`. Keys come from logs (JSON keys, ztunnel fields), so `__proto__` is a
 * possible key: plain assignment would set the prototype instead and lose the value.
 */
export function setExtra(extra: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(extra, key, { value, enumerable: true, writable: true, configurable: true });
}
