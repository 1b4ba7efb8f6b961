/**
 * Read queries behind the mTLS evidence report: server-side (inbound) flows grouped by
 * destination, verdict, evidence and TLS version; plaintext callers; destinations seen only from
 * the client side. Parameterised SQL only.
 */
import type { Store } from './store.js';

/** One aggregate row of inbound flows. */
export interface InboundAggregate {
  namespace: string | null;
  workload: string | null;
  service: string | null;
  port: number | null;
  local_address: string | null;
  reporter: string;
  mtls: number | null;
  evidence: string | null;
  tls_version: string | null;
  requests: number;
  first: number;
  last: number;
}

/** Plaintext requests by caller at a destination. */
export interface PlaintextCaller {
  namespace: string | null;
  workload: string | null;
  service: string | null;
  port: number | null;
  local_address: string | null;
  reporter: string;
  principal: string | null;
  remote: string | null;
  requests: number;
}

const STR = (col: string) => `(SELECT value FROM strings WHERE id = f.${col})`;
// The server's local address (pod ip:port) is kept so lines that name no service (plaintext
// inbound lines carry no SNI) can be attributed to the service other lines name at that address.
const LOCAL = `f.downstream_local_address`;

export function inboundAggregates(store: Store, from: number, to: number): InboundAggregate[] {
  return store.db.prepare(`
    SELECT ${STR('destination_namespace_id')} AS namespace, ${STR('destination_workload_id')} AS workload,
           ${STR('destination_service_id')} AS service, f.destination_port AS port, ${LOCAL} AS local_address,
           ${STR('reporter_id')} AS reporter, f.mtls AS mtls, ${STR('mtls_evidence_id')} AS evidence,
           ${STR('tls_version_id')} AS tls_version, count(*) AS requests, min(f.ts) AS first, max(f.ts) AS last
    FROM flows f
    WHERE f.ts >= ? AND f.ts < ? AND f.direction = 1
    GROUP BY f.destination_namespace_id, f.destination_workload_id, f.destination_service_id, f.destination_port,
             local_address, f.reporter_id, f.mtls, f.mtls_evidence_id, f.tls_version_id`).all(from, to) as InboundAggregate[];
}

export function plaintextCallers(store: Store, from: number, to: number): PlaintextCaller[] {
  return store.db.prepare(`
    SELECT ${STR('destination_namespace_id')} AS namespace, ${STR('destination_workload_id')} AS workload,
           ${STR('destination_service_id')} AS service, f.destination_port AS port, ${LOCAL} AS local_address,
           ${STR('reporter_id')} AS reporter, ${STR('source_principal_id')} AS principal,
           f.downstream_remote_address AS remote, count(*) AS requests
    FROM flows f
    WHERE f.ts >= ? AND f.ts < ? AND f.direction = 1 AND f.mtls = 0
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`).all(from, to) as PlaintextCaller[];
}

/** Destination services that outbound (client-side) lines name in the window. */
export function outboundDestinations(store: Store, from: number, to: number): { service: string; port: number | null; requests: number }[] {
  return store.db.prepare(`
    SELECT ${STR('destination_service_id')} AS service, f.destination_port AS port, count(*) AS requests
    FROM flows f
    WHERE f.ts >= ? AND f.ts < ? AND f.direction = 2 AND f.destination_service_id IS NOT NULL
    GROUP BY f.destination_service_id, f.destination_port`).all(from, to) as { service: string; port: number | null; requests: number }[];
}
