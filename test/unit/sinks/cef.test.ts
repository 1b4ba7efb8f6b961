import t from 'tap';
import { SEVERITY_SCORE } from '../../../schemas/finding.js';
import { cefHeader, cefValue, toCef } from '../../../src/sinks/cef.js';
import { makeEvent, parseCef } from './fixtures.js';

t.test('header fields escape backslash and pipe, and cannot break lines', async (t) => {
  t.equal(cefHeader('a|b\\c'), 'a\\|b\\\\c');
  t.equal(cefHeader('one\ntwo\r\nthree'), 'one two three');
  t.equal(cefHeader('a=b'), 'a=b', '= needs no escaping in the header');
});

t.test('extension values escape backslash, equals and line breaks', async (t) => {
  t.equal(cefValue('a=b'), 'a\\=b');
  t.equal(cefValue('c:\\dir'), 'c:\\\\dir');
  t.equal(cefValue('l1\nl2\r\nl3\rl4'), 'l1\\nl2\\nl3\\rl4');
  t.equal(cefValue('pipe|stays'), 'pipe|stays', '| needs no escaping in extensions');
});

t.test('a full line round-trips through an independent CEF parser', async (t) => {
  const e = makeEvent(3); // a "nasty" finding: | \ = and newlines everywhere
  const line = toCef(e, { version: '1.2|3' });
  t.notMatch(line, /[\r\n]/, 'one physical line');
  const { header, ext } = parseCef(line);
  t.same(header, ['CEF:0', 'meshtrail', 'meshtrail', '1.2|3', e.finding.detector, e.finding.title, String(SEVERITY_SCORE[e.finding.severity])]);
  t.equal(ext.externalId, e.event_id);
  t.equal(ext.act, e.type);
  t.equal(ext.suser, e.finding.source_principal, 'principal with = and \\ survives');
  t.equal(ext.duser, e.finding.destination_service);
  t.equal(ext.cs1Label, 'sourcePrincipal');
  t.equal(ext.cs1, e.finding.source_principal);
  t.equal(ext.cs3, e.finding.request_id);
  t.equal(ext.cs4, e.finding.id);
  t.same(JSON.parse(ext.cs5!), e.finding.evidence, 'evidence JSON with newline, = | \\ survives');
  t.equal(ext.reason, e.finding.status_reason!.replace(/\r\n/g, '\n'), 'newlines come back (CRLF folds to LF)');
  t.equal(ext.src, '10.1.2.3');
  t.equal(ext.rt, String(Date.parse(e.at)));
  t.equal(ext.cnt, String(e.finding.count));
});

t.test('destination maps to dst for an IP and dhost for a name; nulls are left out', async (t) => {
  const ip = parseCef(toCef(makeEvent(1), { version: '1' })).ext;
  t.equal(ip.dst, '10.0.0.7');
  t.equal(ip.dpt, '8080');
  t.equal(ip.dhost, 'svc-b.b.svc.cluster.local', 'dhost falls back to the destination service name');
  const e = makeEvent(2);
  e.finding.request_id = null;
  const name = parseCef(toCef(e, { version: '1' })).ext;
  t.equal(name.dhost, 'api.example.com');
  t.equal(name.dst, undefined);
  t.equal(name.cs3, undefined, 'no request id');
  t.equal(name.cs3Label, undefined, 'and no dangling label');
  t.equal(name.reason, undefined);
});
