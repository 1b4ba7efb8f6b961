/**
 * Coverage analysis for `meshtrail doctor`: feed it raw log lines, get back which identity/TLS
 * facts each reporter kind's format carries, how the mTLS verdicts came out and on what evidence,
 * a score, plain statements of what cannot be proven, and the snippet that fixes it.
 *
 * Lines are read exactly as `meshtrail ingest` reads them (`processLine`, auto-detection), with a
 * user-given template tried first. Nothing is stored; memory is bounded by the number of distinct
 * groups, formats and evidence kinds, not by the number of lines.
 */
import type { DoctorGroup, DoctorReport } from '../../schemas/coverage-api.js';
import type { Flow } from '../../schemas/flow.js';
import { parseJsonObject } from '../decode/json-object.js';
import { decodeEnvelope } from '../decode/envelope.js';
import type { LineParser } from '../pipeline/contracts.js';
import { processLine } from '../pipeline/process-line.js';
import { registeredParsers } from '../parse/registry.js';
import type { TemplateParser } from '../parse/template/index.js';
import {
  COVERAGE_SCORE_DEFINITION, GROUP_CAVEATS, GROUP_FACTS, ZTUNNEL_FACTS, evidenceKind, groupOf, lineOperators, type FactSpec,
} from './facts.js';
import { IDENTITY_SNIPPET_OPERATORS, SNIPPET_PROVIDER, recommendedLabels, recommendedText, snippetYaml } from './snippet.js';
import { VerdictTally } from './verdicts.js';

/** Options for {@link CoverageAnalyzer}. */
export interface CoverageOptions {
  /** The user's format (compiled `--format-template`), tried before auto-detection. */
  template?: TemplateParser;
  /** Which snippet variant to emit; default `labels`. */
  snippet?: 'labels' | 'text';
}

/** A fact of either catalogue (ztunnel facts have no operators). */
type AnyFact = Omit<FactSpec, 'operators'> & { operators?: readonly string[] };

interface FactTally {
  lines: number;
  carried: Map<string, number>;
}

const pct = (n: number, d: number) => (d === 0 ? '0%' : `${Math.round((100 * n) / d)}%`);

/** Accumulates sampled lines; {@link CoverageAnalyzer.report} summarises them. */
export class CoverageAnalyzer {
  private readonly parsers: readonly LineParser[] | undefined;
  private readonly verdicts = new VerdictTally();
  private readonly facts = new Map<string, FactTally>();
  private readonly failures = new Map<string, { lines: number; example: string }>();
  private readonly seenOperators = new Set<string>();
  private lines = 0;

  constructor(private readonly options: CoverageOptions = {}) {
    this.parsers = options.template ? [options.template, ...registeredParsers()] : undefined;
  }

  /** Parses one raw line (envelope allowed) and counts what it shows. Blank lines are ignored. */
  addLine(text: string): void {
    if (text.trim() === '') return;
    this.lines++;
    const outcome = processLine(text, { format: 'auto', parsers: this.parsers });
    if (!outcome.ok) {
      const seen = this.failures.get(outcome.reason);
      if (seen) seen.lines++;
      else this.failures.set(outcome.reason, { lines: 1, example: outcome.detail });
      return;
    }
    this.addFlow(outcome.flow, text);
  }

  /** Counts a line that could not be read at all (e.g. over the line-length limit). */
  addFailure(reason: string, detail: string): void {
    this.lines++;
    const seen = this.failures.get(reason);
    if (seen) seen.lines++;
    else this.failures.set(reason, { lines: 1, example: detail });
  }

  private addFlow(flow: Flow, text: string): void {
    const group = groupOf(flow);
    this.verdicts.add({
      group,
      format: flow.format,
      mtls: flow.mtls,
      evidence: evidenceKind(flow.mtls_evidence, flow.mtls),
      hasSource: flow.source_principal !== null,
      hasDestination: flow.destination_principal !== null,
    });
    let tally = this.facts.get(group);
    if (!tally) this.facts.set(group, (tally = { lines: 0, carried: new Map() }));
    tally.lines++;
    const bump = (id: string) => tally.carried.set(id, (tally.carried.get(id) ?? 0) + 1);
    if (group === 'ztunnel') {
      for (const f of ZTUNNEL_FACTS) if (f.present(flow)) bump(f.id);
      return;
    }
    const template = this.options.template && flow.format === this.options.template.name ? this.options.template.operators : null;
    const ops = lineOperators(flow, template === null ? jsonKeys(flow, text) : null, template);
    for (const op of ops) this.seenOperators.add(op);
    for (const f of GROUP_FACTS[group]) if (f.operators.some((op) => ops.has(op))) bump(f.id);
  }

  /** The report over every line added so far. */
  report(): DoctorReport {
    const groups: DoctorGroup[] = this.verdicts.groupsSeen().map((v) => {
      const tally = this.facts.get(v.group) ?? { lines: 0, carried: new Map<string, number>() };
      const specs: readonly AnyFact[] = v.group === 'ztunnel' ? ZTUNNEL_FACTS : GROUP_FACTS[v.group];
      const facts = specs.map((f) => {
        const n = tally.carried.get(f.id) ?? 0;
        return { id: f.id, label: f.label, operators: [...(f.operators ?? [])], weight: f.weight, carried: n > 0, share: tally.lines ? n / tally.lines : 0 };
      });
      const total = facts.reduce((s, f) => s + f.weight, 0);
      const got = facts.reduce((s, f) => s + (f.carried ? f.weight : 0), 0);
      const score = total === 0 ? 0 : Math.round((100 * got) / total);
      const cannot = specs.filter((f, i) => f.weight > 0 && !facts[i]!.carried).map((f) => f.missing);
      cannot.push(...(GROUP_CAVEATS[v.group] ?? []));
      if (v.mtls.unknown > 0) {
        const top = v.evidence.find((e) => e.mtls === null);
        cannot.push(`${v.mtls.unknown} of ${v.flows} flows (${pct(v.mtls.unknown, v.flows)}) got no mTLS verdict${top ? ` (most often: ${top.kind})` : ''}: for them neither mutual authentication nor plaintext can be proven.`);
      }
      const heuristic = v.evidence.filter((e) => e.kind.startsWith('heuristic')).reduce((s, e) => s + e.flows, 0);
      if (heuristic > 0) {
        cannot.push(`${heuristic} of ${v.flows} verdicts (${pct(heuristic, v.flows)}) rest on a heuristic (Istio's SNI or TLS listener), not on a certificate in the line: they show a mesh sidecar made the call, not which identity it had.`);
      }
      return { ...v, facts, score, cannot_prove: cannot };
    });
    const flows = this.verdicts.flows;
    const score = flows === 0 ? 0 : Math.round(groups.reduce((s, g) => s + g.score * g.flows, 0) / flows);
    const kind = this.options.snippet ?? 'labels';
    const added = IDENTITY_SNIPPET_OPERATORS.filter((op) => !this.seenOperators.has(op));
    const failed = [...this.failures.values()].reduce((s, f) => s + f.lines, 0);
    return {
      sample: {
        lines: this.lines,
        flows,
        failed,
        failures: [...this.failures].map(([reason, f]) => ({ reason, lines: f.lines, example: f.example })).sort((a, b) => b.lines - a.lines || a.reason.localeCompare(b.reason)),
      },
      score,
      score_definition: COVERAGE_SCORE_DEFINITION,
      groups,
      snippet: {
        provider: SNIPPET_PROVIDER,
        kind,
        added_operators: added,
        labels: recommendedLabels(),
        text: recommendedText(),
        yaml: snippetYaml({ kind, added }),
        note: kind === 'labels'
          ? 'JSON lines with these keys are recognised by `--format auto`: no meshtrail configuration is needed.'
          : 'A custom TEXT layout is not auto-detected: give meshtrail the same format string (`--format-template FILE`). The labels variant needs no configuration.',
      },
    };
  }
}

/** The keys of the line's JSON object, or null when it is not JSON. */
function jsonKeys(flow: Flow, text: string): string[] | null {
  if (!flow.format.includes('json')) return null;
  const decoded = decodeEnvelope(text);
  if (!decoded.ok) return null;
  const parsed = parseJsonObject(decoded.envelope.line);
  return parsed.ok ? Object.keys(parsed.value) : null;
}
