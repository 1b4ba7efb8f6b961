/**
 * CSV for exports (RFC 4180): a header from the item's zod schema, nested objects flattened to
 * dotted columns, CRLF line ends. Cells a spreadsheet would run as a formula (starting with
 * `=`, `+`, `-`, `@`, tab or CR) are prefixed with `'` (OWASP CSV injection), because access
 * logs carry attacker-chosen text (paths, user agents, headers).
 */
import { z } from 'zod';

/** One CSV column: its header and how to read its value from an item. */
export interface CsvColumn {
  header: string;
  get: (item: unknown) => unknown;
}

/** Columns of `schema`: one per field, nested objects flattened (`reporter.kind`). */
export function csvColumns(schema: z.ZodObject, prefix = '', read: (item: unknown) => unknown = (x) => x): CsvColumn[] {
  const columns: CsvColumn[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const get = (item: unknown) => (read(item) as Record<string, unknown> | null | undefined)?.[key];
    if (field instanceof z.ZodObject) columns.push(...csvColumns(field, `${prefix}${key}.`, get));
    else columns.push({ header: `${prefix}${key}`, get });
  }
  return columns;
}

/** One cell: neutralised against formulas and quoted when needed. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = Array.isArray(value) ? value.join(',') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record, CRLF-terminated. */
export function csvRow(cells: unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The header record of `columns`. */
export function csvHeader(columns: CsvColumn[]): string {
  return csvRow(columns.map((c) => c.header));
}
