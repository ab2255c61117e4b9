import type { AuditEntry } from './audit-log.js';

export const AUDIT_CSV_COLUMNS = [
  'id',
  'at',
  'actor',
  'actorKind',
  'action',
  'target',
  'outcome',
  'note',
  'by',
  'address',
  'detail',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. A text that a
 * spreadsheet would run as a formula (starting with = + - @ or a tab or CR) is prefixed with `'` (OWASP's advice).
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The entries as CSV: UTF-8 with a byte-order mark (so that Excel reads Chinese right), a header row, CRLF line ends. */
export function auditCsv(entries: readonly AuditEntry[]): string {
  const rows = entries.map((entry) =>
    AUDIT_CSV_COLUMNS.map((column) => {
      const value = entry[column];
      return csvField(column === 'detail' ? (value === null ? null : JSON.stringify(value)) : (value as string | number | null));
    }).join(','),
  );
  return `\uFEFF${[AUDIT_CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
