/**
 * Custom access-log formats: compile an Envoy TEXT format string or a Telemetry `labels` map into
 * a `LineParser`, and render flows through a format string.
 */
export { compileTemplate, type TemplateParser, type CompileOptions } from './template.parser.js';
export { compileLabels, type LabelsOptions } from './labels.parser.js';
export { renderTemplate } from './render.js';
export { tokenizeTemplate, type Segment } from './tokenize.js';
