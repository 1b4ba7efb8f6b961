/**
 * Workload resolution: which workload (namespace, labels) a flow arrived at, and who sent it.
 *
 * Label sources, strongest first: the envelope's Kubernetes metadata (`flow.reporter.labels`, only
 * when the reporter IS the destination: an inbound sidecar line), the configured
 * service-to-labels mapping, and last an inference `app=<service short name>` that is recorded
 * (`labels_from: 'inferred'`, `inference`) so a finding never hides that its policy match rests on
 * a guess. Pure.
 */
import { isIP } from 'node:net';
import type { Flow } from '../../schemas/flow.js';
import { isSidecarInbound } from '../enrich/mtls-verdict.js';

/** The destination workload of a flow, as far as it can be told. */
export interface ResolvedWorkload {
  namespace: string | null;
  /** Destination service host (FQDN or authority host), or null. */
  service: string | null;
  /** A short human name: the `app` label, else the service short name, else the pod. */
  name: string | null;
  labels: Record<string, string> | null;
  labels_from: 'envelope' | 'config' | 'inferred' | null;
  /** How inferred labels were derived (only with `labels_from: 'inferred'`). */
  inference: string | null;
}

/** `cart.shop.svc.cluster.local` / `cart:8080` -> `cart`; IPs and empties -> null. */
export function shortName(host: string | null): string | null {
  if (host === null) return null;
  const h = stripPort(host);
  if (h === '' || isIP(h) !== 0) return null;
  return h.split('.')[0] ?? null;
}

/** Host without a `:port` suffix (IPv6 brackets removed). */
export function stripPort(address: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (m) return m[1]!;
  const parts = address.split(':');
  return parts.length === 2 ? parts[0]! : address;
}

/** The port of `host:port`, or null. */
export function portOf(address: string | null): number | null {
  if (address === null) return null;
  const m = /:(\d{1,5})$/.exec(address);
  if (!m || (!address.startsWith('[') && address.indexOf(':') !== address.lastIndexOf(':'))) return null;
  const n = Number(m[1]);
  return n <= 65535 ? n : null;
}

const namespaceOfService = (svc: string): string | null => /^[^.]+\.([^.]+)\.svc(\.|$)/.exec(svc)?.[1] ?? null;

/** Strips the ReplicaSet and pod hashes: `cart-v1-6d8f9c7b5-abcde` -> `cart-v1`. */
function podWorkload(pod: string): string {
  return pod.replace(/-[a-z0-9]{6,10}-[a-z0-9]{5}$/, '').replace(/-[a-z0-9]{5}$/, '');
}

/** The reporter is the destination of the hop (an inbound sidecar or an unknown inbound reporter). */
export function reporterIsDestination(flow: Flow): boolean {
  return isSidecarInbound(flow);
}

type ServiceLabels = Readonly<Record<string, Record<string, string>>>;

// Several detectors resolve the same flow in one batch; the answer depends only on the flow and
// the (immutable) mapping, so it is computed once per flow object. Callers must not mutate it.
const memo = new WeakMap<Flow, { serviceLabels: ServiceLabels; w: ResolvedWorkload }>();

/** Resolves the destination workload of `flow` with `serviceLabels` (config `service_labels`); memoised per flow. */
export function destinationWorkload(flow: Flow, serviceLabels: ServiceLabels): ResolvedWorkload {
  const hit = memo.get(flow);
  if (hit !== undefined && hit.serviceLabels === serviceLabels) return hit.w;
  const w = resolveDestination(flow, serviceLabels);
  memo.set(flow, { serviceLabels, w });
  return w;
}

function resolveDestination(flow: Flow, serviceLabels: ServiceLabels): ResolvedWorkload {
  const atDestination = reporterIsDestination(flow);
  let service = flow.destination_service;
  if (service === null && atDestination && flow.authority !== null && shortName(flow.authority) !== null) service = stripPort(flow.authority).toLowerCase();
  const namespace = flow.destination_namespace
    ?? (atDestination ? flow.reporter.namespace : null)
    ?? (service !== null ? namespaceOfService(service) : null);
  const short = shortName(service);
  const envelope = atDestination ? flow.reporter.labels : null;
  if (envelope !== null && Object.keys(envelope).length > 0) {
    return { namespace, service, name: envelope['app'] ?? short ?? flow.reporter.pod, labels: { ...envelope }, labels_from: 'envelope', inference: null };
  }
  const configured = (service !== null ? serviceLabels[service] : undefined) ?? (short !== null ? serviceLabels[short] : undefined)
    ?? (short !== null && namespace !== null ? serviceLabels[`${short}.${namespace}`] : undefined);
  if (configured !== undefined) {
    return { namespace, service, name: configured['app'] ?? short, labels: { ...configured }, labels_from: 'config', inference: null };
  }
  if (short !== null) {
    return { namespace, service, name: short, labels: { app: short }, labels_from: 'inferred', inference: `app=${short} inferred from the destination service ${service}` };
  }
  if (atDestination && flow.reporter.pod !== null) {
    const app = podWorkload(flow.reporter.pod);
    return { namespace, service, name: app, labels: { app }, labels_from: 'inferred', inference: `app=${app} inferred from the reporting pod ${flow.reporter.pod}` };
  }
  if (flow.destination_service_account !== null) {
    const app = flow.destination_service_account;
    return { namespace, service, name: app, labels: { app }, labels_from: 'inferred', inference: `app=${app} inferred from the destination service account` };
  }
  return { namespace, service, name: null, labels: null, labels_from: null, inference: null };
}

/** The calling workload: who sent the request, as a short name (null when unknown). */
export function sourceWorkload(flow: Flow): string | null {
  if (flow.source_workload !== null) return flow.source_workload;
  if (!reporterIsDestination(flow) && flow.direction === 'outbound') {
    const app = flow.reporter.labels?.['app'];
    if (app !== undefined) return app;
    if (flow.reporter.pod !== null) return podWorkload(flow.reporter.pod);
  }
  return flow.source_service_account;
}

/** The caller's IP (downstream peer on inbound lines), without port. */
export function callerIp(flow: Flow): string | null {
  return flow.downstream_remote_address !== null ? stripPort(flow.downstream_remote_address) : null;
}
