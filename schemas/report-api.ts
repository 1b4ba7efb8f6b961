/** Query parameters of GET /api/v1/reports/mtls. */
import { z } from 'zod';
import { InstantSchema } from './api.js';

export const MtlsReportQuerySchema = z
  .object({
    from: InstantSchema.describe('Window start, inclusive (ISO-8601 with a zone, or epoch ms).'),
    to: InstantSchema.describe('Window end, exclusive.'),
    namespace: z.string().min(1).max(253).optional().describe('Only destinations in this namespace.'),
    format: z.enum(['json', 'html', 'md']).default('json'),
  })
  .strict()
  .refine((q) => q.from < q.to, { message: 'must be before `to`', path: ['from'] });
