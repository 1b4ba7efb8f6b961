import t from 'tap';
import { meshtrailBackground, stop, waitForOutput } from '../helpers/cli.js';

t.test('the embedded default ingests bundled traffic, serves it on localhost, and stops cleanly on SIGTERM', async (t) => {
  const dir = t.testdir({});
  const child = meshtrailBackground(['demo', '--data', dir, '--listen', '127.0.0.1:0']);
  t.teardown(() => { child.kill('SIGKILL'); });
  const summary = await waitForOutput(child, /flows stored: (\d+), lines quarantined: (\d+)/);
  const [url] = await waitForOutput(child, /http:\/\/127\.0\.0\.1:\d+(?=\/healthz)/);
  const health = (await (await fetch(`${url}/healthz`)).json()) as { flows: number; quarantine: number };
  t.equal(health.flows, Number(summary[1]));
  t.equal(health.quarantine, Number(summary[2]));
  t.ok(health.flows > 1000, 'sample traffic is substantial');
  const flows = (await (await fetch(`${url}/api/v1/flows?response_code=5xx&limit=5`)).json()) as { items: unknown[] };
  t.ok(flows.items.length > 0, 'the sample has failures to look at');
  t.equal(await stop(child), 0, 'exits 0 on SIGTERM');
});
