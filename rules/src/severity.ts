import { z } from 'zod';

/** Four colours, lowest to highest (domain/monitors.md § Severity). */
export const SEVERITIES = ['blue', 'yellow', 'orange', 'red'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

/** Contract §3 numeric code: red 1 … blue 4. */
export const SEVERITY_CODE: Record<Severity, number> = { blue: 4, yellow: 3, orange: 2, red: 1 };

/** none 0 … red 4 by comparisons of interned strings: no keyed property load on the hot path. */
const rankOf = (s: Severity | null): number => (s === null ? 0 : s === 'blue' ? 1 : s === 'yellow' ? 2 : s === 'orange' ? 3 : 4);

/** Positive when `a` is more severe than `b`; `null` means "no alarm" and ranks lowest. */
export function compareSeverity(a: Severity | null, b: Severity | null): number {
  return rankOf(a) - rankOf(b);
}

export function maxSeverity(a: Severity | null, b: Severity | null): Severity | null {
  return compareSeverity(a, b) >= 0 ? a : b;
}

/** none 0, blue 1, yellow 2, orange 3, red 4: how expressions see a rule's verdict (`rule.<id> >= red`). */
export function severityRank(severity: Severity | null): number {
  return rankOf(severity);
}
