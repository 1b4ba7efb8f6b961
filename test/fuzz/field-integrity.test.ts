/**
 * Hostile content in a field an attacker controls (User-Agent, headers, ztunnel error text,
 * any JSON value) must either come back verbatim in that field, with every other field
 * unchanged, or the line must be quarantined. It must never be shifted silently into another
 * field: that would let a client forge evidence (a request id, an address) by choosing a header.
 *
 * Lines are generated from known field values, so the test knows where each value belongs.
 */
import fc from 'fast-check';
import t from 'tap';
import type { Flow } from '../../schemas/flow.js';
import type { ParseOutcome } from '../../src/pipeline/contracts.js';
import { processLine } from '../../src/pipeline/process-line.js';
import { compileTemplate } from '../../src/parse/template/index.js';
import {
  ENVELOPES, fuzzParams, hostileSingleLine, hostileString, jsonLineFields, renderTextLine, renderZtunnelJson,
  renderZtunnelPlain, rustDebug, textLineFields, TEXT_LAYOUTS, wrap, ztunnelFields, type TextLineFields,
} from '../support/arbitraries.js';

/** What a parser makes of a printed value: Envoy's "-" and the empty string mean absent. */
const asText = (v: string): string | null => (v === '' || v === '-' ? null : v);

/** The access-log fields a line carries (everything but the hostile one is compared). */
const COMPARED: (keyof Flow)[] = [
  'start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details',
  'connection_termination_details', 'upstream_transport_failure_reason', 'bytes_received', 'bytes_sent', 'duration',
  'upstream_service_time', 'x_forwarded_for', 'user_agent', 'request_id', 'authority', 'upstream_host',
  'upstream_cluster', 'upstream_local_address', 'downstream_local_address', 'downstream_remote_address',
  'requested_server_name', 'route_name', 'source_principal', 'destination_principal',
];

/**
 * Checks that `outcome` is either a failure or a flow equal to `reference` except that `field`
 * holds `expected`. Throws a readable error otherwise.
 */
function preservedOrQuarantined(outcome: ParseOutcome, reference: Flow, field: keyof Flow, expected: unknown, extraKey?: string): true {
  if (!outcome.ok) return true;
  const flow = outcome.flow;
  const got = extraKey === undefined ? flow[field] : flow.extra[extraKey];
  if (got !== expected) throw new Error(`hostile ${extraKey ?? field} came back as ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  for (const k of COMPARED) {
    if (k === field) continue;
    if (JSON.stringify(flow[k]) !== JSON.stringify(reference[k])) {
      throw new Error(`field ${k} changed from ${JSON.stringify(reference[k])} to ${JSON.stringify(flow[k])} when ${field} held hostile text`);
    }
  }
  return true;
}

function parsed(line: string, parsers?: Parameters<typeof processLine>[1]['parsers']): Flow {
  const r = processLine(line, parsers ? { format: 'auto', parsers } : { format: 'auto' });
  if (!r.ok) throw new Error(`reference line not parsed: ${r.reason}: ${r.detail}`);
  return r.flow;
}

t.test('TEXT: hostile User-Agent is kept verbatim or the line is quarantined, in every layout and envelope', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(textLineFields, fc.constantFrom(...TEXT_LAYOUTS), fc.constantFrom(...ENVELOPES), hostileSingleLine, (f, layout, envelope, ua) => {
        const reference = parsed(wrap(renderTextLine(f, layout), envelope));
        const outcome = processLine(wrap(renderTextLine({ ...f, user_agent: ua }, layout), envelope), { format: 'auto' });
        return preservedOrQuarantined(outcome, reference, 'user_agent', asText(ua));
      }),
      fuzzParams(3000),
    ),
  );
});

t.test('TEXT: a User-Agent made of quote-space runs (the unescaped-quote case Envoy produces) is kept or quarantined as ambiguous', async (t) => {
  // Envoy does not escape `"`. The parser anchors the layout from both ends; when the quotes leave
  // exactly one reading the User-Agent is kept verbatim, otherwise the line is quarantined as
  // ambiguous_fields (never with another reason, never with a shifted field).
  const quoteRuns = fc.array(fc.constantFrom('" "', '"', ' ', '" ', ' "', 'x', '""'), { minLength: 1, maxLength: 12 }).map((xs) => xs.join(''));
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(textLineFields, fc.constantFrom(...TEXT_LAYOUTS), quoteRuns, (f, layout, ua) => {
        const reference = parsed(renderTextLine(f, layout));
        const outcome = processLine(renderTextLine({ ...f, user_agent: ua }, layout), { format: 'auto' });
        if (!outcome.ok && outcome.reason === 'ambiguous_fields') return true;
        if (!outcome.ok) throw new Error(`quarantined (${outcome.reason}) a line whose only oddity is the User-Agent ${JSON.stringify(ua)}`);
        return preservedOrQuarantined(outcome, reference, 'user_agent', asText(ua));
      }),
      fuzzParams(500),
    ),
  );
});

t.test('JSON: hostile text in any string field is kept verbatim in that field', async (t) => {
  const stringKeys = ['method', 'path', 'protocol', 'user_agent', 'x_forwarded_for', 'request_id', 'authority', 'response_code_details', 'route_name'] as const;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(jsonLineFields, fc.constantFrom(...stringKeys), fc.constantFrom(...ENVELOPES), hostileString, (record, key, envelope, value) => {
        const reference = parsed(wrap(JSON.stringify(record), envelope));
        const outcome = processLine(wrap(JSON.stringify({ ...record, [key]: value }), envelope), { format: 'auto' });
        if (!outcome.ok) throw new Error(`JSON escapes everything, yet the line was quarantined: ${outcome.reason}: ${outcome.detail}`);
        return preservedOrQuarantined(outcome, reference, key, asText(value));
      }),
      fuzzParams(1500),
    ),
  );
});

t.test('JSON: hostile keys and values outside the Istio key set land in extra under their own name', async (t) => {
  // `__proto__` is excluded here: see the lead's report (it is dropped from `extra`).
  const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__' && !(k in parsed('{"method":"GET"}')));
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(jsonLineFields, key, hostileString.filter((v) => v !== '' && v !== '-'), (record, k, v) => {
        const line = JSON.stringify({ ...record, [k]: v });
        const outcome = processLine(line, { format: 'auto' });
        if (!outcome.ok) throw new Error(`${outcome.reason}: ${outcome.detail}`);
        // Operator-named keys are claimed by columns; everything else must be in extra verbatim.
        if (outcome.flow.extra[k] !== undefined && outcome.flow.extra[k] !== v) throw new Error(`extra[${JSON.stringify(k)}] = ${JSON.stringify(outcome.flow.extra[k])}`);
        return true;
      }),
      fuzzParams(800),
    ),
  );
});

t.test('ztunnel plain: hostile Debug-escaped values are unescaped into their field, nothing shifts', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(ztunnelFields, fc.constantFrom(...ENVELOPES), hostileString, (f, envelope, value) => {
        const reference = parsed(wrap(renderZtunnelPlain(f), envelope));
        // A replacer function: a string replacement would expand `$'` and `$&` inside the hostile value.
        const line = renderZtunnelPlain(f).replace(`error=${rustDebug(f.error)}`, () => `error=${rustDebug(value)} x.custom=${rustDebug(value)}`);
        const outcome = processLine(wrap(line, envelope), { format: 'auto' });
        preservedOrQuarantined(outcome, reference, 'response_code_details', value === '' ? null : value);
        if (outcome.ok && value !== '' && outcome.flow.extra['x.custom'] !== value) throw new Error(`x.custom came back as ${JSON.stringify(outcome.flow.extra['x.custom'])}`);
        return true;
      }),
      fuzzParams(800),
    ),
  );
});

t.test('ztunnel JSON: hostile values are kept verbatim in their field', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(ztunnelFields, hostileString, (f, value) => {
        const reference = parsed(renderZtunnelJson(f));
        const outcome = processLine(renderZtunnelJson({ ...f, error: value }), { format: 'auto' });
        if (!outcome.ok) throw new Error(`${outcome.reason}: ${outcome.detail}`);
        return preservedOrQuarantined(outcome, reference, 'response_code_details', value === '' ? null : value);
      }),
      fuzzParams(500),
    ),
  );
});

t.test('custom TEXT template: hostile User-Agent is kept verbatim or the line is quarantined', async (t) => {
  const template = compileTemplate(
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%REQ(USER-AGENT)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"',
    { name: 'fuzz-template' },
  );
  const render = (f: TextLineFields, ua: string) =>
    `[${f.start_time}] "${f.method} ${f.path} ${f.protocol}" ${f.response_code} ${f.response_flags} ${f.bytes_received} ${f.bytes_sent} ${f.duration} "${ua}" "${f.authority}" "${f.upstream_host}"`;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(textLineFields, hostileSingleLine, (f, ua) => {
        const reference = parsed(render(f, f.user_agent), [template]);
        const outcome = processLine(render(f, ua), { format: 'auto', parsers: [template] });
        return preservedOrQuarantined(outcome, reference, 'user_agent', asText(ua));
      }),
      fuzzParams(800),
    ),
  );
});
