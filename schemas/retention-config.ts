/**
 * The `retention:` section of the configuration: how long raw flows, quarantined input and the
 * rollups are kept. Raw flows are the bulk of the database and are needed only for investigation
 * of recent incidents; the rollups (per-minute / per-hour edge counts) answer /edges,
 * /stats/timeseries and period mTLS reports and are kept much longer. Defaults live here and
 * nowhere else.
 *
 * Wire into `schemas/config.ts` as `retention: RetentionConfigSchema.prefault({})`: `prefault`
 * parses the missing section as `{}`, giving every default below (zod 4's `.default({})` would
 * return `{}` itself, unparsed, with no field set).
 */
import { z } from 'zod';

/** Days, as a whole number; 0 disables the deletion of that kind of row. */
const days = (dflt: number, what: string) =>
  z.number().int().min(0).max(36_500).default(dflt).describe(`${what} older than this many days are deleted; 0 keeps them forever. Default ${dflt}.`);

export const RetentionConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Run the retention loop in `meshtrail run`. Default true.'),
    flows_days: days(14, 'Raw flows (by their start time)'),
    quarantine_days: days(30, 'Quarantined records (by the time they were received)'),
    rollups_days: days(400, 'Per-minute and per-hour edge rollups (by bucket start)'),
    interval_ms: z.number().int().min(1000).max(86_400_000).default(3_600_000)
      .describe('How often a retention pass runs, ms; the first pass runs shortly after start. Default one hour.'),
    chunk_rows: z.number().int().min(100).max(100_000).default(5000)
      .describe('Rows deleted per transaction. Each chunk holds the write lock (and the event loop) briefly; ingestion batches run between chunks. Default 5000.'),
    incremental_vacuum_pages: z.number().int().min(0).max(1_000_000).default(2000)
      .describe('Pages returned to the file system after a pass, in steps, when the database was created with auto_vacuum=INCREMENTAL; 0 never shrinks the file (freed pages are reused by new rows either way). Default 2000 (8 MiB at 4 KiB pages).'),
  })
  .strict()
  .refine((r) => r.rollups_days === 0 || r.flows_days === 0 || r.rollups_days >= r.flows_days, {
    message: 'rollups_days must be at least flows_days: the rollups are the long-term summary of the flows',
    path: ['rollups_days'],
  });

export type RetentionConfig = z.infer<typeof RetentionConfigSchema>;
