import t from 'tap';
import { SinksConfigSchema, SinkFlowsSchema } from '../../../schemas/sinks-config.js';

const hook = { type: 'webhook', url: 'http://x', secret: '0123456789abcdef' };

t.test('flows are off by default; presets and filter objects normalise to one shape', async (t) => {
  const [plain] = SinksConfigSchema.parse([hook]);
  t.equal(plain!.flows, undefined, 'off by default');
  t.same(SinkFlowsSchema.parse('plaintext'), { mtls: ['false'] });
  t.same(SinkFlowsSchema.parse('mtls_unknown'), { mtls: ['unknown'] });
  t.same(SinkFlowsSchema.parse('not_mtls'), { mtls: ['false', 'unknown'] });
  t.same(SinkFlowsSchema.parse('all'), {});
  t.same(SinkFlowsSchema.parse({ mtls: false }), { mtls: ['false'] }, 'YAML booleans are verdicts');
  t.same(SinkFlowsSchema.parse({ mtls: [true, 'unknown', 'true'] }), { mtls: ['true', 'unknown'] }, 'deduplicated');
  t.same(SinkFlowsSchema.parse({ response_code: 503, direction: 'inbound', namespace: 'payments' }),
    { response_code: '503', direction: 'inbound', namespace: 'payments' });
  t.same(SinkFlowsSchema.parse({ response_code: '5xx' }), { response_code: '5xx' });
  const [hec] = SinksConfigSchema.parse([{ type: 'splunk_hec', url: 'https://s:8088', token: 't', flows: 'plaintext' }]);
  t.match(hec, { flows: { mtls: ['false'] }, flows_sourcetype: 'meshtrail:flow' });
  const [k] = SinksConfigSchema.parse([{ type: 'kafka', brokers: ['b:9092'], flows: { mtls: 'unknown' } }]);
  t.match(k, { flows_topic: 'meshtrail.flows', topic: 'meshtrail.findings' });
  const [s] = SinksConfigSchema.parse([{ type: 'syslog', host: 'h', port: 514, flows: 'all' }]);
  t.same(s!.flows, {});
});

t.test('unknown keys, unknown presets, bad values and an empty filter are refused', async (t) => {
  const bad: [string, unknown][] = [
    ['unknown key', { mtls: false, tls: 'x' }],
    ['unknown preset', 'everything'],
    ['empty object (write `all`)', {}],
    ['bad verdict', { mtls: 'maybe' }],
    ['empty verdict list', { mtls: [] }],
    ['bad direction', { direction: 'sideways' }],
    ['bad namespace', { namespace: 'Not_A_Label' }],
    ['bad response code', { response_code: '6xx' }],
    ['response code out of range', { response_code: 1000 }],
    ['null', null],
  ];
  for (const [what, flows] of bad) {
    const r = SinksConfigSchema.safeParse([{ ...hook, flows }]);
    t.notOk(r.success, what);
    if (!r.success) t.ok(r.error.issues.some((i) => i.path.join('.').startsWith('0.flows')), `${what}: the error names the flows key`);
  }
  t.match(JSON.stringify(SinksConfigSchema.safeParse([{ ...hook, flows: {} }]).error?.issues), /flows: all/, 'says how to mean every flow');
  t.notOk(SinksConfigSchema.safeParse([{ type: 'webhook', url: 'http://x', secret: '0123456789abcdef', flows_topic: 'x' }]).success, 'flows_topic is Kafka only');
});
