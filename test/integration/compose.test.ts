import { spawnSync } from 'node:child_process';
import t from 'tap';
import { root } from '../helpers/cli.js';

t.test('docker-compose config accepts docker-compose.yml', (t) => {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (probe.error) {
    if (process.env.CI === 'true') {
      t.fail('docker-compose is not installed; .ci/run installs it (Debian package docker-compose)');
    } else {
      console.error('\n*** SKIPPING docker-compose validation: docker-compose is not installed (apt-get install docker-compose) ***\n');
      t.pass('skipped loudly: docker-compose missing on this developer machine');
    }
    return t.end();
  }
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  for (const service of ['kafka', 'fluent-bit', 'meshtrail', 'traffic']) t.match(r.stdout, new RegExp(`\\n  ${service}:`), `service ${service}`);
  t.match(r.stdout, /127\.0\.0\.1:8080:8080|host_ip: 127\.0\.0\.1/, 'API published on localhost only');
  t.end();
});
