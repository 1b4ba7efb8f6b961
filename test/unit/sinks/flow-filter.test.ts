/**
 * The `flows:` filter selects exactly what GET /api/v1/flows selects with the same words (the
 * API's own query code is the oracle), read through the flow feed in small windows and batches;
 * ids missing after the cursor are counted as lost, once.
 */
import { Readable } from 'node:stream';
import t from 'tap';
import { FlowsQuerySchema } from '../../../schemas/api.js';
import { SinkFlowsSchema, type SinkFlowsFilter } from '../../../schemas/sinks-config.js';
import { ingestStream } from '../../../src/pipeline/ingest-stream.js';
import { generateMeshTraffic } from '../../../src/sample/mesh-traffic.js';
import { flowFilterSql } from '../../../src/sinks/flow-filter.js';
import { SqliteFlowFeed } from '../../../src/sinks/flow-feed.js';
import { flowRows } from '../../../src/store/flows.query.js';
import { Store } from '../../../src/store/store.js';
import { openTestDb } from './fixtures.js';

const db = openTestDb(t.testdir());
t.teardown(() => db.close());
const store = new Store(db);
// Cursors start at the newest flow id ("from now"): create them before the flows exist.
const feed = new SqliteFlowFeed(store, 37);
const sinks = ['plaintext', 'unknown', 'notmtls', 'inbound-bookinfo', 'fivexx', 'code200-outbound', 'all', 'nons', 'lost'];
for (const s of sinks) t.equal(feed.start(s).created, true);
t.equal(feed.start('plaintext').created, false, 'start is idempotent');
const lines = generateMeshTraffic({ requests: 150, seed: 7, end: Date.parse('2026-03-01T12:00:00Z') });
await ingestStream(store, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { format: 'auto', label: 'mesh' });

/** Every flow id the feed delivers for `filter`, draining it in batches of 4. */
function drain(sink: string, filter: SinkFlowsFilter): { ids: number[]; lost: number; eventIds: string[] } {
  const ids: number[] = [];
  const eventIds: string[] = [];
  let lost = 0;
  for (let b = feed.read(sink, filter, 4); b; b = feed.read(sink, filter, 4)) {
    if (b.flows.length > 4 || b.end <= b.after) throw new Error(`unbounded batch or no progress: ${JSON.stringify({ n: b.flows.length, after: b.after, end: b.end })}`);
    ids.push(...b.flows.map((e) => e.flow.id));
    eventIds.push(...b.flows.map((e) => e.event_id));
    lost += b.lost;
    feed.advance(sink, b);
  }
  return { ids, lost, eventIds };
}

/** What /flows answers for these query parameters, as sorted ids. */
function api(...queries: Record<string, string>[]): number[] {
  const ids = queries.flatMap((q) => [...flowRows(store, FlowsQuerySchema.parse(q))].map((r) => r.item.id));
  return [...new Set(ids)].sort((a, b) => a - b);
}

const cfg = (v: unknown): SinkFlowsFilter => SinkFlowsSchema.parse(v);
const cases: [string, SinkFlowsFilter, number[]][] = [
  ['plaintext', cfg('plaintext'), api({ mtls: 'false' })],
  ['unknown', cfg({ mtls: 'unknown' }), api({ mtls: 'unknown' })],
  ['notmtls', cfg('not_mtls'), api({ mtls: 'false' }, { mtls: 'unknown' })],
  ['inbound-bookinfo', cfg({ direction: 'inbound', namespace: 'bookinfo' }), api({ direction: 'inbound', namespace: 'bookinfo' })],
  ['fivexx', cfg({ response_code: '5xx' }), api({ response_code: '5xx' })],
  ['code200-outbound', cfg({ response_code: 200, direction: 'outbound', mtls: [true, 'false'] }),
    api({ response_code: '200', direction: 'outbound', mtls: 'true' }, { response_code: '200', direction: 'outbound', mtls: 'false' })],
  ['all', cfg('all'), api({})],
];

t.test('each filter selects exactly what /flows selects, in id order, once', async (t) => {
  for (const [sink, filter, expected] of cases) {
    t.ok(expected.length > 0, `${sink}: the generated mesh has such flows (${expected.length})`);
    const got = drain(sink, filter);
    t.same(got.ids, expected, `${sink}: same flows as the API`);
    t.equal(new Set(got.eventIds).size, got.ids.length, `${sink}: event ids are distinct`);
    t.equal(got.lost, 0, `${sink}: nothing lost`);
    t.equal(feed.lag(sink), 0);
    t.match(feed.state(sink), { delivered: expected.length, lost: 0 });
  }
  t.ok(cases[0]![2].length < cases[6]![2].length, 'plaintext is a strict subset (the filter really filters)');
});

t.test('a namespace no flow carries matches nothing and the cursor still moves on', async (t) => {
  t.equal(flowFilterSql({ namespace: 'nowhere' }, () => undefined), null);
  const got = drain('nons', cfg({ namespace: 'nowhere' }));
  t.same(got.ids, []);
  t.equal(feed.lag('nons'), 0, 'caught up without sending anything');
});

t.test('flows deleted before the sink read them are counted as lost, once', async (t) => {
  const max = (db.prepare('SELECT max(id) AS m FROM flows').get() as { m: number }).m;
  const first = drain('lost', { mtls: ['false'] });
  t.ok(first.ids.length > 0);
  // More flows arrive, then some of them are deleted before the sink reads them.
  const more = generateMeshTraffic({ requests: 40, seed: 8, end: Date.parse('2026-03-02T12:00:00Z') });
  await ingestStream(store, Readable.from([Buffer.from(more.join('\n') + '\n')]), { format: 'auto', label: 'more' });
  const deleted = db.prepare('DELETE FROM flows WHERE id > ? AND id < ? AND id % 3 = 0').run(max, max + 60).changes;
  t.ok(deleted > 0);
  const plaintextLeft = api({ mtls: 'false' }).filter((id) => id > max);
  const second = drain('lost', { mtls: ['false'] });
  t.same(second.ids, plaintextLeft, 'every remaining matching flow');
  t.equal(second.lost, deleted, 'the deleted flows are reported');
  t.equal(feed.state('lost')!.lost, deleted, 'and stored');
  t.ok(feed.state('lost')!.last_lost_at);
  // A stale or repeated advance cannot count them again.
  feed.advance('lost', { after: max, end: max + 60, flows: [], lost: deleted });
  t.equal(feed.state('lost')!.lost, deleted);
});

t.test('a sink that stops forwarding flows forgets its cursor; a new one starts from now', async (t) => {
  const before = feed.forget('all');
  t.ok(before);
  t.equal(feed.state('all'), undefined);
  const { state, created } = feed.start('all');
  t.ok(created);
  t.equal(state.flow_id, (db.prepare('SELECT max(id) AS m FROM flows').get() as { m: number }).m, 'starts at the newest flow');
  t.equal(feed.read('all', {}, 10), null, 'nothing to send until new flows arrive');
});
