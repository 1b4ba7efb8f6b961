/**
 * GET /api/v1/reports/mtls: the signed mTLS-enforcement evidence report for a window, as JSON
 * (signed), HTML (printable, self-contained) or Markdown.
 */
import type crypto from 'node:crypto';
import type { PolicySet } from '../../schemas/istio-policy.js';
import { MtlsReportQuerySchema } from '../../schemas/report-api.js';
import { SignedMtlsReportSchema, type SignedMtlsReport } from '../../schemas/report.js';
import { buildMtlsReport } from '../report/mtls-report.js';
import { renderHtml, renderMarkdown } from '../report/render.js';
import { signReport } from '../report/sign.js';
import type { Store } from '../store/store.js';
import { route, type RouteSpec } from './route-spec.js';

/** What the report route needs: the store, the loaded policy set (if any) and the signing key. */
export interface ReportDeps {
  store: Store;
  policies: PolicySet | null;
  signingKey: () => crypto.KeyObject;
}

export function reportRoutes(deps: ReportDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/reports/mtls',
      summary: 'Signed mTLS-enforcement evidence for a time window (json, html or md).',
      access: 'read',
      query: MtlsReportQuerySchema,
      response: SignedMtlsReportSchema,
      produces: ['text/html', 'text/markdown'],
      handle: ({ res, query }) => {
        const report = buildMtlsReport(deps.store, { from: query.from, to: query.to, namespace: query.namespace ?? null, policies: deps.policies });
        const signed = signReport(report, deps.signingKey()) as SignedMtlsReport;
        if (query.format === 'html') {
          // The page is self-contained: inline styles only, no scripts.
          res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'").type('text/html').send(renderHtml(signed));
          return undefined;
        }
        if (query.format === 'md') {
          res.type('text/markdown').send(renderMarkdown(signed));
          return undefined;
        }
        return signed;
      },
    }),
  ];
}
