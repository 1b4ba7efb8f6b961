import t from 'tap';
import { FlowSchema } from '../../schemas/flow.js';
import { generateMeshTraffic } from '../../src/sample/mesh-traffic.js';
import { meshtrail } from '../helpers/cli.js';

t.test('parse prints one JSON object per line, in order: a schema-valid flow or an error with its line number', (t) => {
  const lines = generateMeshTraffic({ requests: 20, seed: 9, malformed: false });
  const input = [lines[0], 'garbage here', '', ...lines.slice(1)].join('\n');
  const r = meshtrail(['parse', '--format', 'auto', '-'], { input });
  t.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(out.length, lines.length + 1, 'blank lines produce no output; every other line does');
  t.same(out[1], { error: { line: 2, reason: String((out[1] as { error: { reason: string } }).error.reason), detail: String((out[1] as { error: { detail: string } }).error.detail) } });
  for (const [i, o] of out.entries()) {
    if (i === 1) continue;
    const parsed = FlowSchema.safeParse(o);
    t.ok(parsed.success, `line ${i + 1} is a valid flow${parsed.success ? '' : ': ' + parsed.error.message}`);
  }
  const ids = out.filter((o) => !('error' in o)).map((o) => o.request_id);
  t.ok(ids.every((id) => id === null || typeof id === 'string'));
  t.end();
});

t.test('parse refuses an unknown format with a usage error', (t) => {
  const r = meshtrail(['parse', '--format', 'yaml', '-'], { input: '' });
  t.equal(r.status, 2);
  t.match(r.stderr, /--format must be one of auto, istio-text, istio-json/);
  t.end();
});
