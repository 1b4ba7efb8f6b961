/** The ECS document, CEF line and syslog/HEC/Kafka framing of a forwarded flow. */
import t from 'tap';
import { emptyFlow } from '../../../schemas/flow.js';
import { flowToCef } from '../../../src/sinks/flow-cef.js';
import { flowToEcs } from '../../../src/sinks/flow-ecs.js';
import type { FlowEvent } from '../../../src/sinks/flow-feed.js';
import { kafkaFlowMessages } from '../../../src/sinks/kafka.sink.js';
import { hecFlowBody } from '../../../src/sinks/splunk-hec.sink.js';
import { SyslogSink } from '../../../src/sinks/syslog.sink.js';
import { SyslogSinkConfigSchema } from '../../../schemas/sinks-config.js';
import { parseCef } from './fixtures.js';

function flowEvent(overrides: Partial<FlowEvent['flow']> = {}): FlowEvent {
  const flow = {
    id: 42, ...emptyFlow('istio-json'),
    start_time: '2026-03-01T10:00:00.000Z', method: 'GET', path: '/api/v1/pay?x=a=b|c', protocol: 'HTTP/1.1', response_code: 503,
    response_flags: ['UF', 'URX'], bytes_received: 10, bytes_sent: 20, duration: 12.5, user_agent: 'curl/8', request_id: 'req-1',
    authority: 'billing.legacy:8080', upstream_host: '10.44.2.20:8080', downstream_remote_address: '10.44.1.10:41234',
    direction: 'outbound' as const, destination_service: 'billing.legacy.svc.cluster.local', destination_port: 8080,
    source_principal: 'spiffe://cluster.local/ns/bookinfo/sa/x=y', source_namespace: 'bookinfo', source_workload: 'productpage',
    mtls: false, mtls_evidence: 'downstream_peer_uri_san', tls_version: null,
    source: { key: 'kafka:mesh/3', pos: 1234, line: null },
    ...overrides,
  };
  return { event_id: `flow-${flow.source.key}-${flow.source.pos}`, at: flow.start_time ?? '2026-03-01T10:00:00.000Z', flow };
}

t.test('ECS: an event of the network category with the searchable fields; nulls left out', async (t) => {
  const doc = flowToEcs(flowEvent(), { version: '1.2.3' }) as any;
  t.match(doc, {
    '@timestamp': '2026-03-01T10:00:00.000Z',
    event: { id: 'flow-kafka:mesh/3-1234', kind: 'event', category: ['network'], dataset: 'meshtrail.flow', outcome: 'failure', duration: 12_500_000 },
    source: { ip: '10.44.1.10', port: 41234, user: { id: 'spiffe://cluster.local/ns/bookinfo/sa/x=y' } },
    destination: { ip: '10.44.2.20', port: 8080, domain: 'billing.legacy.svc.cluster.local' },
    network: { direction: 'egress', protocol: 'http' },
    tls: { established: false },
    url: { original: '/api/v1/pay?x=a=b|c', path: '/api/v1/pay', query: 'x=a=b|c', domain: 'billing.legacy' },
    http: { version: '1.1', request: { method: 'GET', id: 'req-1', bytes: 10 }, response: { status_code: 503, bytes: 20 } },
    meshtrail: { flow: { id: 42, mtls: false, mtls_verdict: 'false', source: { key: 'kafka:mesh/3', pos: 1234 }, response_flags: ['UF', 'URX'] } },
  });
  t.notOk(JSON.stringify(doc).includes('null'), 'no null anywhere');
  t.notOk('version' in doc.tls, 'no TLS version the line did not carry');
  const known = flowToEcs(flowEvent({ mtls: true, tls_version: 'TLSv1.3', direction: 'inbound' }), { version: '1' }) as any;
  t.match(known, { tls: { established: true, version: '1.3', version_protocol: 'tls' }, network: { direction: 'ingress' } });
  const unknown = flowToEcs(flowEvent({ mtls: null }), { version: '1' }) as any;
  t.notOk('established' in (unknown.tls ?? {}), 'unknown verdict is not a TLS fact');
  t.equal(unknown.meshtrail.flow.mtls_verdict, 'unknown');
});

t.test('CEF: signature id `flow`, escaped values, a receiver parses it back', async (t) => {
  const line = flowToCef(flowEvent(), { version: '1.2.3' });
  const cef = parseCef(line);
  t.same(cef.header, ['CEF:0', 'meshtrail', 'meshtrail', '1.2.3', 'flow', 'Plaintext flow', '1']);
  t.match(cef.ext, {
    externalId: 'flow-kafka:mesh/3-1234', rt: String(Date.parse('2026-03-01T10:00:00.000Z')), src: '10.44.1.10', spt: '41234',
    dst: '10.44.2.20', dpt: '8080', dhost: 'billing.legacy.svc.cluster.local', suser: 'spiffe://cluster.local/ns/bookinfo/sa/x=y',
    request: '/api/v1/pay?x=a=b|c', deviceDirection: '1', outcome: '503', reason: 'UF,URX', cs4: '42', cs5: 'false', cs5Label: 'mtls',
  });
  t.notOk('duser' in cef.ext, 'no empty keys');
  t.equal(parseCef(flowToCef(flowEvent({ mtls: null }), { version: '1' })).header[5], 'Flow, mTLS unknown');
});

t.test('syslog, HEC and Kafka framing of flows', async (t) => {
  const sink = new SyslogSink('s', SyslogSinkConfigSchema.parse({ type: 'syslog', host: 'h', port: 514, hostname: 'mt', facility: 10 }), '1.2.3');
  const frames = sink.flowFrames([flowEvent(), flowEvent({ id: 43 })]);
  const m = /^(\d+) (<(\d+)>1 2026-03-01T10:00:00.000Z mt meshtrail \d+ flow - CEF:0\|meshtrail\|meshtrail\|1\.2\.3\|flow\|)/.exec(frames);
  t.ok(m, 'RFC 5424 with MSGID flow and a CEF body');
  t.equal(Number(m![3]), 10 * 8 + 6, 'informational severity');
  t.equal(Buffer.byteLength(frames.slice(m![1]!.length + 1, m![1]!.length + 1 + Number(m![1]))), Number(m![1]), 'octet count');
  const hec = hecFlowBody([flowEvent()], { source: 'meshtrail', flows_sourcetype: 'meshtrail:flow', index: 'net', host: 'mt' }, '1').split('\n').map((l) => JSON.parse(l));
  t.match(hec, [{ time: Date.parse('2026-03-01T10:00:00.000Z') / 1000, sourcetype: 'meshtrail:flow', index: 'net', event: { event: { kind: 'event' } } }]);
  t.match(kafkaFlowMessages([flowEvent()], '1'), [{ key: 'kafka:mesh/3', headers: { event_id: 'flow-kafka:mesh/3-1234', event_type: 'flow' } }]);
});
