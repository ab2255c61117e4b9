import { z } from 'zod';
import { parseDuration } from '../../../rules/src/index.js';

export { parseDuration };

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const message = 'expected a duration such as "30s", "10m", "24h", "3d" or milliseconds';

/** A duration in a scenario file ("90s", "2h", "3d" or milliseconds), parsed to milliseconds. */
export const durationField = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  const ms = parseDuration(raw);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `${message}, got ${JSON.stringify(raw)}` });
    return z.NEVER;
  }
  return ms;
});

/** A signed duration ("-2m", "+10m"), for clock skew. */
export const signedDurationField = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  if (typeof raw === 'number') return raw;
  const text = raw.trim();
  const sign = text.startsWith('-') ? -1 : 1;
  const ms = parseDuration(text.replace(/^[+-]/, ''));
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a signed duration such as "-2m" or "+10m", got ${JSON.stringify(raw)}` });
    return z.NEVER;
  }
  return sign * ms;
});

/** Formats milliseconds as the shortest exact "1h30m", "45s", "250ms". */
export function formatOffset(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const parts: string[] = [];
  for (const [size, unit] of [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'm'],
    [1_000, 's'],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${Math.round(rest)}ms`);
  return sign + parts.join('');
}
