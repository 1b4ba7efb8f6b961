/**
 * Renders a flow through an Envoy TEXT format string, as Envoy would have printed it: the inverse
 * of `compileTemplate`. Used by round-trip tests and by tooling that shows users what a format
 * produces. Absent values print as "-", `:Z` lengths truncate, nothing is escaped (like Envoy).
 */
import type { Flow } from '../../../schemas/flow.js';
import { renderOperatorValue } from '../operators.js';
import { tokenizeTemplate } from './tokenize.js';

/** Renders `flow` through `template`; throws `MeshtrailError(ERR_CONFIG_INVALID)` for a bad template. */
export function renderTemplate(template: string, flow: Flow): string {
  let out = '';
  for (const s of tokenizeTemplate(template)) out += s.kind === 'literal' ? s.text : renderOperatorValue(flow, s.op);
  return out;
}
