/**
 * The human-readable `meshtrail doctor` report. Every value that can come from a log line (format
 * names of user templates, failure details quoting the line) passes `sanitizeForTerminal`, so a
 * hostile line cannot drive the terminal.
 */
import type { DoctorReport } from '../../schemas/coverage-api.js';
import { sanitizeForTerminal } from '../util/terminal.js';

const GROUP_TITLE: Record<string, string> = {
  sidecar_inbound: 'sidecar inbound (server side)',
  sidecar_outbound: 'sidecar outbound (client side)',
  gateway: 'gateway',
  waypoint: 'waypoint',
  ztunnel: 'ztunnel',
  unknown: 'unknown reporter or direction',
};

const pct = (x: number) => `${Math.round(100 * x)}%`;
const safe = (s: string) => sanitizeForTerminal(s);

/** Renders the report for a terminal (plain text, no colour). */
export function renderDoctorText(report: DoctorReport, options: { snippet?: boolean } = {}): string {
  const out: string[] = [];
  const s = report.sample;
  out.push(`meshtrail doctor: ${s.lines} lines sampled, ${s.flows} understood, ${s.failed} not understood`);
  for (const f of s.failures) out.push(`  ${safe(f.reason)}: ${f.lines} lines (e.g. ${safe(f.example)})`);
  out.push('', `Overall identity/TLS coverage score: ${report.score}/100`);
  out.push(`  (${report.score_definition})`);
  for (const g of report.groups) {
    out.push('', `== ${GROUP_TITLE[g.group] ?? g.group}: ${g.flows} flows, score ${g.score}/100`);
    out.push(`   formats: ${g.formats.map((f) => `${safe(f.format)} (${f.flows})`).join(', ')}`);
    out.push('   facts the format carries:');
    for (const f of g.facts) {
      const mark = f.carried ? '[x]' : '[ ]';
      const note = f.weight === 0 ? ' (informational)' : '';
      const ops = f.operators.length ? ` ${f.operators.map((o) => `%${o}%`).join(' / ')}` : '';
      out.push(`     ${mark} ${f.label}${ops}${f.carried && f.share < 1 ? ` in ${pct(f.share)} of lines` : ''}${note}`);
    }
    out.push(`   mTLS verdict: true ${g.mtls.true}, false ${g.mtls.false}, unknown ${g.mtls.unknown}` +
      ` (principals: source ${pct(g.source_principal_share)}, destination ${pct(g.destination_principal_share)})`);
    out.push(`   evidence: ${g.evidence.map((e) => `${e.kind}${e.mtls === null ? '' : `=${String(e.mtls)}`} ${e.flows}`).join(', ')}`);
    if (g.cannot_prove.length) {
      out.push('   what meshtrail cannot prove with this format:');
      for (const c of g.cannot_prove) out.push(`     - ${c}`);
    }
  }
  if (report.groups.length === 0) out.push('', 'No line of the sample was understood: nothing to assess. Check the format (--format-template FILE) and the failures above.');
  if (options.snippet !== false) {
    out.push('', report.snippet.added_operators.length
      ? `To let meshtrail prove identities and TLS, apply this (${report.snippet.kind} format; ${report.snippet.note})`
      : `Your lines already carry every identity/TLS operator meshtrail uses. For reference, the recommended format (${report.snippet.kind}):`);
    out.push('', report.snippet.yaml);
  }
  return `${out.join('\n')}\n`;
}
