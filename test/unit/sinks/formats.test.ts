import crypto from 'node:crypto';
import t from 'tap';
import { hecBody, hecEndpoint } from '../../../src/sinks/splunk-hec.sink.js';
import { SyslogSink, octetFrame, rfc5424 } from '../../../src/sinks/syslog.sink.js';
import { signWebhook, verifyWebhook } from '../../../src/sinks/webhook.sink.js';
import { kafkaMessages, kafkaOutcome } from '../../../src/sinks/kafka.sink.js';
import { SyslogSinkConfigSchema } from '../../../schemas/sinks-config.js';
import { makeEvent, parseCef } from './fixtures.js';

t.test('RFC 5424 header and RFC 6587 octet counting', async (t) => {
  const e = makeEvent(3); // high, resolved
  const msg = rfc5424(e, 'BODY', { facility: 10, hostname: 'host one', appName: 'meshtrail', procId: '42' });
  t.equal(msg, `<83>1 ${e.at} host_one meshtrail 42 resolved - BODY`, 'PRI = 10*8 + 3 (err for high); spaces in header fields replaced');
  const crit = makeEvent(4);
  t.match(rfc5424(crit, 'B', { facility: 4, hostname: 'h', appName: 'a', procId: '1' }), /^<34>1 /, 'critical -> crit (2), facility 4');
  t.equal(octetFrame('héllo'), '6 héllo', 'length counts UTF-8 bytes');
});

t.test('syslog frames carry CEF or ECS JSON, one frame per event', async (t) => {
  const events = [makeEvent(1), makeEvent(3)];
  const cef = new SyslogSink('s', SyslogSinkConfigSchema.parse({ type: 'syslog', host: 'h', port: 1, hostname: 'h' }), '1.0.0').frames(events);
  const frames: string[] = [];
  let rest = cef;
  while (rest.length) {
    const sp = rest.indexOf(' ');
    const n = Number(rest.slice(0, sp));
    const bytes = Buffer.from(rest.slice(sp + 1));
    const frame = bytes.subarray(0, n).toString();
    frames.push(frame);
    rest = bytes.subarray(n).toString();
  }
  t.equal(frames.length, 2);
  t.equal(parseCef(frames[1]!).ext.externalId, events[1]!.event_id);
  const json = new SyslogSink('s', SyslogSinkConfigSchema.parse({ type: 'syslog', host: 'h', port: 1, format: 'json' }), '1.0.0').frames([events[0]!]);
  const body = json.slice(json.indexOf(' - ') + 3);
  t.equal(JSON.parse(body).event.id, events[0]!.event_id);
});

t.test('HEC body is newline-separated envelopes with ECS events', async (t) => {
  t.equal(hecEndpoint('https://splunk:8088'), 'https://splunk:8088/services/collector/event');
  t.equal(hecEndpoint('https://splunk:8088/custom/path'), 'https://splunk:8088/custom/path');
  const events = [makeEvent(1), makeEvent(2)];
  const lines = hecBody(events, { host: 'h', source: 'meshtrail', sourcetype: 'st', index: 'sec' }, '1').split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 2);
  t.match(lines[0], { time: Date.parse(events[0]!.at) / 1000, host: 'h', source: 'meshtrail', sourcetype: 'st', index: 'sec', event: { event: { id: events[0]!.event_id } } });
});

t.test('webhook signatures verify, and tampering or staleness fails', async (t) => {
  const secret = 'an-hmac-secret-of-some-length';
  const body = '{"events":[]}';
  const sig = signWebhook(secret, 1000, body);
  const expected = crypto.createHmac('sha256', secret).update(`1000.${body}`).digest('hex');
  t.equal(sig, `t=1000,v1=${expected}`);
  t.ok(verifyWebhook(secret, sig, body, 1010));
  t.notOk(verifyWebhook(secret, sig, body + ' ', 1010), 'body changed');
  t.notOk(verifyWebhook('other-secret-xxxxxxxx', sig, body, 1010), 'wrong secret');
  t.notOk(verifyWebhook(secret, sig, body, 5000), 'too old');
  t.notOk(verifyWebhook(secret, sig.replace('t=1000', 't=1001'), body, 1010), 'timestamp is signed');
  t.notOk(verifyWebhook(secret, undefined, body), 'missing header');
});

t.test('kafka records are keyed by finding id; errors map to retry or reject', async (t) => {
  const [m] = kafkaMessages([makeEvent(5)], '1');
  t.equal(m!.key, 'f0005');
  t.same(m!.headers, { event_id: 'f0005:5', event_type: 'severity_changed' });
  t.equal(JSON.parse(m!.value).event.id, 'f0005:5');
  t.match(kafkaOutcome({ name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false, message: 'no' }), { code: 'kafka_topic_authorization_failed' });
  t.match(kafkaOutcome({ name: 'KafkaJSSASLAuthenticationError', message: 'bad password' }), { code: 'kafka_sasl' });
  t.match(kafkaOutcome({ name: 'KafkaJSProtocolError', type: 'LEADER_NOT_AVAILABLE', retriable: true, message: 'x' }), { retry: 'kafka_leader_not_available' });
  t.match(kafkaOutcome({ name: 'KafkaJSConnectionError', message: 'refused' }), { retry: 'kafka_connectionerror' });
});
