/**
 * A forwarded raw flow as one ECS document (8.11): the body a sink sends for each flow, next to
 * the findings documents of ecs.ts. `meshtrail.flow` is the flow exactly as `GET /api/v1/flows/{id}`
 * shows it (nulls left out); the ECS fields above it are the searchable subset. The mapping is
 * documented in src/sinks/README.md; keep the two in step. Pure.
 */
import { isIP } from 'node:net';
import { ECS_VERSION, prune, splitHostPort, type EcsOptions } from './ecs.js';
import type { FlowEvent } from './flow-feed.js';

/** `true` / `false` / `unknown`: the /flows vocabulary of the mTLS verdict. */
export function mtlsWord(mtls: boolean | null): 'true' | 'false' | 'unknown' {
  return mtls === null ? 'unknown' : mtls ? 'true' : 'false';
}

/** ECS event.outcome of a flow: by HTTP status where there is one. */
function outcome(code: number | null): 'success' | 'failure' | 'unknown' {
  if (code === null || code === 0) return 'unknown';
  return code < 400 ? 'success' : 'failure';
}

/** `TLSv1.3` -> `1.3` (ECS tls.version holds the number, tls.version_protocol the name). */
function tlsVersionNumber(v: string | null): string | null {
  const m = v ? /^TLSv(\d(?:\.\d)?)$/i.exec(v) : null;
  return m ? m[1]! : null;
}

/** `HTTP/1.1` -> `1.1`, `HTTP/2` -> `2`. */
function httpVersion(protocol: string | null): string | null {
  const m = protocol ? /^HTTP\/(\d(?:\.\d)?)$/i.exec(protocol) : null;
  return m ? m[1]! : null;
}

/** A one-line summary for receivers that show `message`. */
export function flowSummary(e: FlowEvent): string {
  const f = e.flow;
  const mtls = f.mtls === null ? 'mTLS unknown' : f.mtls ? 'mTLS' : 'plaintext';
  const to = f.destination_service ?? f.authority ?? f.upstream_host ?? '-';
  return `${f.method ?? 'TCP'} ${to}${f.path ?? ''} ${f.response_code ?? '-'} (${mtls})`;
}

/** The ECS document of one forwarded flow. */
export function flowToEcs(e: FlowEvent, options: EcsOptions): Record<string, unknown> {
  const f = e.flow;
  const src = f.downstream_remote_address ? splitHostPort(f.downstream_remote_address) : null;
  // The upstream the proxy connected to; an inbound line may only carry its own listener address.
  const dstAddr = f.upstream_host ?? f.downstream_local_address;
  const dst = dstAddr ? splitHostPort(dstAddr) : null;
  const srcIp = src && isIP(src.host) ? src.host : null;
  const dstIp = dst && isIP(dst.host) ? dst.host : null;
  const q = f.path ? f.path.indexOf('?') : -1;
  const tlsVersion = tlsVersionNumber(f.tls_version);
  const principals = [f.source_principal, f.destination_principal].filter((x): x is string => !!x);
  const ips = [...new Set([srcIp, dstIp].filter((x): x is string => !!x))];
  return prune({
    '@timestamp': e.at,
    ecs: { version: ECS_VERSION },
    message: flowSummary(e),
    event: {
      id: e.event_id,
      kind: 'event',
      category: ['network'],
      type: ['connection', 'protocol'],
      action: 'flow',
      outcome: outcome(f.response_code),
      start: f.start_time,
      // ECS durations are nanoseconds.
      duration: f.duration === null ? null : Math.round(f.duration * 1e6),
      dataset: 'meshtrail.flow',
      module: 'meshtrail',
      provider: 'meshtrail',
    },
    observer: { vendor: 'meshtrail', product: 'meshtrail', version: options.version },
    source: {
      address: src?.host,
      ip: srcIp,
      port: src?.port,
      user: f.source_principal ? { id: f.source_principal, name: f.source_principal } : null,
    },
    destination: {
      address: dst?.host ?? f.destination_service,
      ip: dstIp,
      port: f.destination_port ?? dst?.port ?? null,
      domain: f.destination_service,
      user: f.destination_principal ? { id: f.destination_principal, name: f.destination_principal } : null,
    },
    network: {
      transport: 'tcp',
      protocol: httpVersion(f.protocol) ? 'http' : null,
      // The reporting proxy is the host: ECS uses ingress/egress from a host's point of view.
      direction: f.direction === 'inbound' ? 'ingress' : f.direction === 'outbound' ? 'egress' : null,
    },
    tls: {
      // The verdict says mutually authenticated (true) or plaintext (false); unknown is left out.
      established: f.mtls,
      version: tlsVersion,
      version_protocol: tlsVersion ? 'tls' : null,
      cipher: f.tls_cipher,
      client: { server_name: f.requested_server_name },
    },
    url: f.path ? {
      original: f.path,
      path: q >= 0 ? f.path.slice(0, q) : f.path,
      query: q >= 0 ? f.path.slice(q + 1) || null : null,
      domain: f.authority ? splitHostPort(f.authority).host : null,
    } : null,
    http: {
      version: httpVersion(f.protocol),
      request: { method: f.method, id: f.request_id, bytes: f.bytes_received },
      response: { status_code: f.response_code || null, bytes: f.bytes_sent },
    },
    user_agent: f.user_agent ? { original: f.user_agent } : null,
    related: { user: principals.length ? principals : null, ip: ips.length ? ips : null },
    meshtrail: {
      event: { type: 'flow' },
      // The /flows shape, plus the verdict as a word (a null `mtls` is left out like every null).
      flow: { ...f, mtls_verdict: mtlsWord(f.mtls) },
      source: { principal: f.source_principal, workload: f.source_workload, namespace: f.source_namespace },
      destination: { service: f.destination_service, namespace: f.destination_namespace, principal: f.destination_principal, workload: f.destination_workload },
    },
  }) as Record<string, unknown>;
}
