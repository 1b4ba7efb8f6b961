/**
 * A forwarded raw flow as one CEF line, for syslog sinks with `format: cef`:
 * `CEF:0|meshtrail|meshtrail|<version>|flow|<Name>|1|<extensions>`. Signature ID `flow` keeps
 * flows apart from findings (whose Signature ID is the detector); severity is always 1: judging a
 * flow is the detectors' job. Escaping as in cef.ts. Pure; documented in src/sinks/README.md.
 */
import { isIP } from 'node:net';
import { cefExtensions, cefHeader, ms, type CefExtension, type CefOptions } from './cef.js';
import { splitHostPort } from './ecs.js';
import { mtlsWord } from './flow-ecs.js';
import type { FlowEvent } from './flow-feed.js';

/** CEF Signature ID of forwarded flows. */
export const FLOW_SIGNATURE_ID = 'flow';

/** CEF Name per mTLS verdict (low cardinality, as the Name field should be). */
const NAME = { true: 'mTLS flow', false: 'Plaintext flow', unknown: 'Flow, mTLS unknown' } as const;

/** The CEF line of one forwarded flow (no trailing newline). */
export function flowToCef(e: FlowEvent, options: CefOptions): string {
  const f = e.flow;
  const src = f.downstream_remote_address ? splitHostPort(f.downstream_remote_address) : null;
  const dstAddr = f.upstream_host ?? f.downstream_local_address;
  const dst = dstAddr ? splitHostPort(dstAddr) : null;
  const verdict = mtlsWord(f.mtls);
  // Order is fixed so that lines are reproducible and diffable.
  const ext: CefExtension[] = [
    ['rt', ms(e.at)],
    ['externalId', e.event_id],
    ['act', 'flow'],
    ['cat', 'flow'],
    ['src', src && isIP(src.host) ? src.host : null],
    ['spt', src?.port],
    ['suser', f.source_principal],
    ['dst', dst && isIP(dst.host) ? dst.host : null],
    ['dhost', f.destination_service ?? (dst && !isIP(dst.host) ? dst.host : null)],
    ['dpt', f.destination_port ?? dst?.port ?? null],
    ['duser', f.destination_principal],
    // CEF: 0 inbound, 1 outbound.
    ['deviceDirection', f.direction === 'inbound' ? 0 : f.direction === 'outbound' ? 1 : null],
    ['app', f.protocol],
    ['requestMethod', f.method],
    ['request', f.path],
    ['requestClientApplication', f.user_agent],
    ['in', f.bytes_received],
    ['out', f.bytes_sent],
    ['outcome', f.response_code],
    ['reason', f.response_flags.length ? f.response_flags.join(',') : null],
    ['cs1Label', 'sourcePrincipal'], ['cs1', f.source_principal],
    ['cs2Label', 'destinationService'], ['cs2', f.destination_service],
    ['cs3Label', 'requestId'], ['cs3', f.request_id],
    ['cs4Label', 'flowId'], ['cs4', f.id],
    ['cs5Label', 'mtls'], ['cs5', verdict],
    ['cs6Label', 'sourceWorkload'], ['cs6', f.source_workload && f.source_namespace ? `${f.source_namespace}/${f.source_workload}` : f.source_workload],
    ['cn1Label', 'durationMs'], ['cn1', f.duration],
    ['flexString1Label', 'tlsVersion'], ['flexString1', f.tls_version],
  ];
  const header = ['CEF:0', 'meshtrail', 'meshtrail', cefHeader(options.version), FLOW_SIGNATURE_ID, cefHeader(NAME[verdict]), '1'].join('|');
  return `${header}|${cefExtensions(ext)}`;
}
