/**
 * A findings event as one ECS document (Elastic Common Schema 8.11): the JSON body of the
 * webhook, Splunk HEC `event`, Kafka value and syslog `format: json`. The mapping is documented
 * in src/sinks/README.md; keep the two in step. Pure.
 */
import { isIP } from 'node:net';
import { SEVERITY_SCORE, type FindingEvent, type FindingEventType } from '../../schemas/finding.js';

/** ECS version the documents follow (`ecs.version`). */
export const ECS_VERSION = '8.11.0';

/** ECS `event.type` for each finding event type. */
const EVENT_TYPE: Record<FindingEventType, string[]> = {
  opened: ['start'],
  reopened: ['start'],
  severity_changed: ['change'],
  resolved: ['end'],
};

/** Splits `host:port`, `[v6]:port`, a bare host or a bare IP into its parts. */
export function splitHostPort(value: string): { host: string; port: number | null } {
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : null };
  if (isIP(value)) return { host: value, port: null };
  const m = /^(.*):(\d{1,5})$/.exec(value);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: value, port: null };
}

/** A source IP the detector put in the evidence, if any (findings have no source address field). */
export function evidenceSourceIp(evidence: Record<string, unknown>): string | null {
  for (const k of ['source_address', 'source_ip', 'downstream_remote_address']) {
    const v = evidence[k];
    if (typeof v === 'string') {
      const { host } = splitHostPort(v);
      if (isIP(host)) return host;
    }
  }
  return null;
}

/** Drops null/undefined members and empty objects, so documents carry only known facts. */
export function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = prune(v);
      if (p === null || p === undefined) continue;
      if (typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out[k] = p;
    }
    return out;
  }
  return value;
}

/** Options for {@link toEcs}. */
export interface EcsOptions {
  /** meshtrail's version (`observer.version`). */
  version: string;
}

/** The ECS document of one findings event. */
export function toEcs(event: FindingEvent, options: EcsOptions): Record<string, unknown> {
  const f = event.finding;
  const dest = f.destination ? splitHostPort(f.destination) : null;
  const destIsIp = dest ? isIP(dest.host) !== 0 : false;
  const srcIp = evidenceSourceIp(f.evidence);
  const ev = f.evidence;
  const str = (k: string): string | null => (typeof ev[k] === 'string' ? (ev[k] as string) : null);
  const related = [f.source_principal].filter((x): x is string => !!x);
  return prune({
    '@timestamp': event.at,
    ecs: { version: ECS_VERSION },
    message: f.title,
    event: {
      id: event.event_id,
      kind: 'alert',
      category: ['network'],
      type: EVENT_TYPE[event.type],
      action: `finding-${event.type.replace(/_/g, '-')}`,
      severity: SEVERITY_SCORE[f.severity],
      reason: f.title,
      start: f.first_seen,
      end: f.last_seen,
      dataset: 'meshtrail.finding',
      module: 'meshtrail',
      provider: 'meshtrail',
      sequence: event.seq,
    },
    rule: { id: f.detector, name: f.detector, ruleset: 'meshtrail' },
    observer: { vendor: 'meshtrail', product: 'meshtrail', type: 'ids', version: options.version },
    source: {
      ip: srcIp,
      address: srcIp,
      user: f.source_principal ? { id: f.source_principal, name: f.source_principal } : null,
    },
    destination: {
      address: dest?.host ?? f.destination_service,
      ip: destIsIp ? dest?.host : null,
      domain: dest && !destIsIp ? dest.host : f.destination_service,
      port: f.destination_port ?? dest?.port ?? null,
    },
    tls: {
      version: str('tls_version'),
      cipher: str('tls_cipher'),
      established: typeof ev.tls === 'boolean' ? ev.tls : typeof ev.mtls === 'boolean' ? ev.mtls : null,
    },
    http: f.request_id ? { request: { id: f.request_id } } : null,
    related: related.length ? { user: related } : null,
    meshtrail: {
      event: { type: event.type, seq: event.seq },
      finding: {
        id: f.id,
        key: f.key,
        detector: f.detector,
        severity: f.severity,
        status: f.status,
        status_reason: f.status_reason,
        title: f.title,
        count: f.count,
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        updated_at: f.updated_at,
        sample_flow_ids: f.sample_flow_ids,
      },
      source: { principal: f.source_principal, workload: f.source_workload, namespace: f.source_namespace },
      destination: { service: f.destination_service, namespace: f.destination_namespace, address: f.destination },
      // Kept as one object: detectors choose its keys, so it is not mapped field by field.
      evidence: f.evidence,
    },
  }) as Record<string, unknown>;
}
