import path from 'node:path';
import t from 'tap';
import { loadConfig, parseConfig } from '../../../src/config/load.js';

t.test('defaults fill a minimal config; the result is frozen', (t) => {
  const c = parseConfig({ sources: [{ type: 'file', path: './access.log' }] }, {});
  t.equal(c.database, './data/meshtrail.db');
  t.equal(c.api.listen, '127.0.0.1:8080', 'API binds to localhost by default');
  t.equal(c.database_cache_mib, 32, 'SQLite page cache 32 MiB by default');
  t.match(c.sources[0], { type: 'file', path: './access.log', follow: true, format: 'auto', batch_max_records: 2000 });
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.sources[0]));
  t.end();
});

t.test('the issue example validates, kafka defaults included', (t) => {
  const c = parseConfig({
    database: './data/meshtrail.db',
    api: { listen: '127.0.0.1:8080' },
    sources: [
      { type: 'kafka', brokers: ['127.0.0.1:9092'], topics: ['istio-access-logs'], group_id: 'meshtrail', from_beginning: true },
      { type: 'file', path: './access.log', follow: true },
    ],
  }, {});
  t.match(c.sources[0], { type: 'kafka', client_id: 'meshtrail', ssl: false });
  t.end();
});

t.test('unknown keys and bad values are refused with the path of the offending key, all at once', (t) => {
  try {
    parseConfig({ databse: 'x', api: { listen: 'everywhere' }, sources: [{ type: 'kafka', brokers: [], topics: ['t'], grup_id: 'g' }, { type: 'ftp' }] }, {});
    t.fail('should have thrown');
  } catch (err) {
    const msg = (err as Error).message;
    t.match((err as { code: string }).code, 'ERR_CONFIG_INVALID');
    t.match(msg, /databse: unknown key/);
    t.match(msg, /api\.listen: must be host:port/);
    t.match(msg, /sources\[0\]\.brokers: /);
    t.match(msg, /sources\[0\]\.grup_id: unknown key/);
    t.match(msg, /sources\[1\]\.type/);
  }
  t.end();
});

t.test('secrets come from the environment; a missing variable is named', (t) => {
  const doc = { sources: [{ type: 'kafka', brokers: ['k:9092'], topics: ['t'], sasl: { mechanism: 'scram-sha-512', username: 'mt', password: '${KAFKA_PASSWORD}' } }] };
  const c = parseConfig(doc, { KAFKA_PASSWORD: 's3cret' });
  t.match(c.sources[0], { sasl: { password: 's3cret' } });
  t.throws(() => parseConfig(doc, {}), { message: /sources\[0\]\.sasl\.password: environment variable KAFKA_PASSWORD is not set/ });
  t.end();
});

t.test('loadConfig reports unreadable files and invalid YAML clearly', (t) => {
  const dir = t.testdir({ 'bad.yaml': 'sources: [\n', 'ok.yaml': 'database: /tmp/x.db\n' });
  t.throws(() => loadConfig(path.join(dir, 'missing.yaml')), { code: 'ERR_CONFIG_INVALID', message: /cannot read/ });
  t.throws(() => loadConfig(path.join(dir, 'bad.yaml')), { code: 'ERR_CONFIG_INVALID', message: /not valid YAML/ });
  t.equal(loadConfig(path.join(dir, 'ok.yaml')).database, '/tmp/x.db');
  t.end();
});

t.test('the page cache is a positive whole number of MiB', (t) => {
  for (const bad of [0, -1, 2.5, 5000, '32']) {
    t.throws(() => parseConfig({ database_cache_mib: bad }, {}), /database_cache_mib: /, `${JSON.stringify(bad)} is refused`);
  }
  t.end();
});
