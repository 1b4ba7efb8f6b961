import t from 'tap';
import { ingestMetrics } from '../../../src/telemetry/metrics.js';

t.test('every scrape reports the process memory by kind, read at that moment', async (t) => {
  const text = ingestMetrics().registry.render();
  const kinds = new Map([...text.matchAll(/^meshtrail_process_memory_bytes\{kind="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  for (const k of ['rss', 'heap_used', 'heap_total', 'external', 'array_buffers', 'heap_new', 'heap_old']) t.ok((kinds.get(k) ?? 0) > 0, `${k} = ${kinds.get(k)}`);
  t.ok(kinds.get('heap_used')! <= kinds.get('heap_total')!, 'heap_used <= heap_total');
  t.ok(kinds.get('heap_total')! < kinds.get('rss')!, 'the heap is part of the resident set');
  t.match(text, /# TYPE meshtrail_process_memory_bytes gauge/);
});
