import t from 'tap';
import { SinksConfigSchema, resolveSinkNames } from '../../../schemas/sinks-config.js';

t.test('defaults are filled in and ${ENV}-expanded secrets are plain strings', async (t) => {
  const [hec] = SinksConfigSchema.parse([{ type: 'splunk_hec', url: 'https://splunk:8088', token: 'abc' }]);
  t.match(hec, { type: 'splunk_hec', sourcetype: 'meshtrail:finding', batch_max_events: 100, retry: { initial_ms: 500, max_ms: 60_000 }, timeout_ms: 10_000 });
  const [k] = SinksConfigSchema.parse([{ type: 'kafka', brokers: ['b:9092'] }]);
  t.match(k, { idempotent: true, topic: 'meshtrail.findings' });
  const [s] = SinksConfigSchema.parse([{ type: 'syslog', host: 'h', port: 514 }]);
  t.match(s, { transport: 'tcp', format: 'cef', facility: 10 });
  t.same(SinksConfigSchema.parse(undefined), []);
});

t.test('unknown keys, bad values and inconsistent settings are refused', async (t) => {
  t.notOk(SinksConfigSchema.safeParse([{ type: 'webhook', url: 'http://x', secret: '0123456789abcdef', typo: 1 }]).success, 'unknown key');
  t.notOk(SinksConfigSchema.safeParse([{ type: 'webhook', url: 'http://x', secret: 'short' }]).success, 'weak secret');
  t.notOk(SinksConfigSchema.safeParse([{ type: 'syslog', host: 'h', port: 514, tls: { ca_file: 'ca' } }]).success, 'tls without transport tls');
  t.notOk(SinksConfigSchema.safeParse([{ type: 'syslog', host: 'h', port: 6514, transport: 'tls', tls: { cert_file: 'c' } }]).success, 'cert without key');
  t.notOk(SinksConfigSchema.safeParse([{ type: 'splunk_hec', url: 'h', token: 't', retry: { initial_ms: 10, max_ms: 5 } }]).success, 'max < initial');
  t.notOk(SinksConfigSchema.safeParse([{ type: 'nope' }]).success, 'unknown type');
});

t.test('names default to the type, numbered when a type repeats, and must be unique', async (t) => {
  t.same(resolveSinkNames([{ type: 'webhook' }, { type: 'splunk_hec' }, { type: 'webhook', name: 'soc' }]), ['webhook-1', 'splunk_hec', 'soc']);
  const dup = SinksConfigSchema.safeParse([
    { type: 'webhook', name: 'x', url: 'http://a', secret: '0123456789abcdef' },
    { type: 'webhook', name: 'x', url: 'http://b', secret: '0123456789abcdef' },
  ]);
  t.notOk(dup.success);
  t.match(JSON.stringify(dup.error?.issues), /duplicate sink name x/);
});
