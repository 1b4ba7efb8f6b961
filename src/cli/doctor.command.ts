/**
 * `meshtrail doctor [--format-template FILE] [--sample N] [--json] [--snippet labels|text] [FILE|-]`:
 * reads the first N non-blank lines of the user's logs (default 10,000), parses them exactly as
 * ingest would, and reports per reporter kind which identity/TLS facts the format carries, the
 * mTLS verdicts and their evidence, a coverage score, what cannot be proven, and a ready-to-apply
 * Istio snippet that adds the missing operators. Nothing is stored. Stops reading at N lines.
 */
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { DoctorReport } from '../../schemas/coverage-api.js';
import { CoverageAnalyzer } from '../doctor/coverage.js';
import { renderDoctorText } from '../doctor/render.js';
import { MeshtrailError } from '../errors.js';
import { compileLabels, compileTemplate, type TemplateParser } from '../parse/template/index.js';
import { LineSplitter } from '../sources/line-splitter.js';
import { openInput } from './input.js';

/** Default number of lines sampled. */
export const DEFAULT_DOCTOR_SAMPLE = 10_000;

/** Usage line for `meshtrail doctor`, for the CLI's help text. */
export const DOCTOR_USAGE =
  'doctor [--format-template FILE] [--sample N] [--json] [--snippet labels|text] [FILE|-]   which identity/TLS facts your log format carries, and the Istio snippet that adds the rest';

/** Options of {@link doctorCommand}. */
export interface DoctorOptions {
  /** Input file; `-` or undefined reads `stdin`. */
  input?: string | undefined;
  /** File holding the user's access-log format: an Envoy TEXT format string or a JSON `labels` object. */
  formatTemplate?: string | undefined;
  /** Lines to sample (non-blank); default {@link DEFAULT_DOCTOR_SAMPLE}. */
  sample?: number | undefined;
  /** Print the report as JSON (`DoctorReportSchema`) instead of text. */
  json?: boolean | undefined;
  /** Snippet variant; default `labels` (recognised by `--format auto` without configuration). */
  snippet?: 'labels' | 'text' | undefined;
  /** Stream read for `-` (default `process.stdin`). */
  stdin?: Readable;
  /** Where the report goes (default `process.stdout`). */
  out?: Writable;
}

/**
 * Reads a `--format-template` file: a JSON object is a Telemetry `labels` map, anything else an
 * Envoy TEXT format (a trailing newline, or the `\n` escape as written in YAML, is dropped).
 * Parsers are named `istio-labels` / `istio-template` because they read Istio proxies' lines.
 */
export function loadFormatTemplate(file: string): TemplateParser {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new MeshtrailError(code === 'ENOENT' ? 'ERR_INPUT_NOT_FOUND' : 'ERR_INPUT_UNREADABLE', `--format-template ${file}: ${(cause as Error).message}`, { cause });
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let labels: unknown;
    try {
      labels = JSON.parse(trimmed);
    } catch (cause) {
      throw new MeshtrailError('ERR_CONFIG_INVALID', `--format-template ${file}: looks like a JSON labels map but is not valid JSON: ${(cause as Error).message}`, { cause });
    }
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string')) {
      throw new MeshtrailError('ERR_CONFIG_INVALID', `--format-template ${file}: a labels map must be a JSON object of strings ({"key": "%OPERATOR%"})`);
    }
    return compileLabels(labels as Record<string, string>, { name: 'istio-labels' });
  }
  const format = text.replace(/\r?\n$/, '').replace(/\\n$/, '');
  return compileTemplate(format, { name: 'istio-template' });
}

/** Parses `meshtrail doctor` arguments (after the command word); throws `ERR_USAGE`. */
export function parseDoctorArgs(argv: string[]): DoctorOptions {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: { 'format-template': { type: 'string' }, sample: { type: 'string' }, json: { type: 'boolean' }, snippet: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw new MeshtrailError('ERR_USAGE', `${(cause as Error).message}\n\nusage: meshtrail ${DOCTOR_USAGE}`, { cause });
  }
  if (a.positionals.length > 1) throw new MeshtrailError('ERR_USAGE', `doctor takes at most one input (a file or -)\n\nusage: meshtrail ${DOCTOR_USAGE}`);
  let sample: number | undefined;
  if (a.values.sample !== undefined) {
    sample = Number(a.values.sample);
    if (!/^\d+$/.test(a.values.sample) || !Number.isSafeInteger(sample) || sample < 1) throw new MeshtrailError('ERR_USAGE', '--sample must be a positive integer');
  }
  const snippet = a.values.snippet;
  if (snippet !== undefined && snippet !== 'labels' && snippet !== 'text') throw new MeshtrailError('ERR_USAGE', '--snippet must be labels or text');
  return { input: a.positionals[0], formatTemplate: a.values['format-template'], sample, json: a.values.json ?? false, snippet };
}

/** Runs the doctor: samples the input, writes the report to `out`, and returns it. */
export async function doctorCommand(options: DoctorOptions = {}): Promise<DoctorReport> {
  const template = options.formatTemplate !== undefined ? loadFormatTemplate(options.formatTemplate) : undefined;
  const limit = options.sample ?? DEFAULT_DOCTOR_SAMPLE;
  const analyzer = new CoverageAnalyzer({ template, snippet: options.snippet });
  const stdin = options.input === undefined || options.input === '-';
  const stream = stdin ? (options.stdin ?? openInput(undefined).stream) : openInput(options.input).stream;

  const splitter = new LineSplitter();
  let taken = 0;
  const take = (lines: ReturnType<LineSplitter['push']>): boolean => {
    for (const line of lines) {
      if (line.oversize !== undefined) {
        taken++;
        analyzer.addFailure('line_too_long', `line ${line.lineNo} is ${line.oversize} bytes, over the line-length limit`);
      }
      else {
        const text = line.bytes.toString('utf8');
        if (text.trim() === '') continue;
        taken++;
        analyzer.addLine(text);
      }
      if (taken >= limit) return false;
    }
    return true;
  };
  let more = true;
  for await (const chunk of stream) {
    if (!take(splitter.push(chunk as Buffer))) { more = false; break; }
  }
  if (more) take(splitter.end());
  // A sample is enough: stop reading a file early. stdin is left alone (the caller owns it).
  if (!stdin) stream.destroy();

  const report = analyzer.report();
  const out = options.out ?? process.stdout;
  out.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctorText(report));
  return report;
}
