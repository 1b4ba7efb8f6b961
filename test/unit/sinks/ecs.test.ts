import t from 'tap';
import { ECS_VERSION, splitHostPort, toEcs } from '../../../src/sinks/ecs.js';
import { makeEvent } from './fixtures.js';

t.test('splitHostPort handles names, IPv4, bracketed IPv6 and bare values', async (t) => {
  t.same(splitHostPort('api.example.com:443'), { host: 'api.example.com', port: 443 });
  t.same(splitHostPort('10.0.0.1:80'), { host: '10.0.0.1', port: 80 });
  t.same(splitHostPort('[fd00::1]:8443'), { host: 'fd00::1', port: 8443 });
  t.same(splitHostPort('fd00::1'), { host: 'fd00::1', port: null });
  t.same(splitHostPort('svc'), { host: 'svc', port: null });
});

t.test('an event maps to ECS fields with meshtrail.* for the rest', async (t) => {
  const e = makeEvent(1);
  const doc = toEcs(e, { version: '9.9.9' }) as any;
  t.equal(doc['@timestamp'], e.at);
  t.equal(doc.ecs.version, ECS_VERSION);
  t.equal(doc.event.id, e.event_id, 'stable id for receiver-side dedupe');
  t.equal(doc.event.kind, 'alert');
  t.equal(doc.event.severity, 3, 'low -> 3');
  t.same(doc.event.type, ['change'], 'severity_changed -> change');
  t.equal(doc.event.action, 'finding-severity-changed');
  t.equal(doc.rule.name, e.finding.detector);
  t.equal(doc.source.ip, '10.1.2.4');
  t.equal(doc.source.user.name, e.finding.source_principal);
  t.equal(doc.destination.ip, '10.0.0.7');
  t.equal(doc.destination.port, 8080);
  t.equal(doc.tls.version, 'TLSv1.2');
  t.equal(doc.tls.established, false);
  t.equal(doc.http.request.id, 'req-1');
  t.equal(doc.observer.version, '9.9.9');
  t.equal(doc.meshtrail.finding.id, e.finding.id);
  t.equal(doc.meshtrail.event.seq, e.seq);
  t.same(doc.meshtrail.evidence, e.finding.evidence);
  t.same(doc.meshtrail.destination.namespace, 'b');
});

t.test('null facts are omitted rather than sent as null', async (t) => {
  const e = makeEvent(2);
  Object.assign(e.finding, { request_id: null, source_principal: null, status_reason: null });
  const doc = toEcs(e, { version: '1' }) as any;
  t.equal(doc.http, undefined);
  t.equal(doc.source.user, undefined);
  t.equal(doc.related, undefined);
  t.notOk('status_reason' in doc.meshtrail.finding);
  t.equal(doc.destination.domain, 'api.example.com');
});
