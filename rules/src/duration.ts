import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)$/;

/** Parses "500ms", "10s", "15m", "24h", "7d"; a bare number is milliseconds. */
export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : null;
  const match = PATTERN.exec(input.trim());
  if (!match) return null;
  const [, amount, unit] = match;
  return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

/** A duration field in a rule or config file, parsed to milliseconds. */
export const durationSchema = z
  .union([z.number(), z.string()], {
    error: (issue) => (issue.input === undefined ? 'required' : 'expected a duration such as "30s", "10m", "24h" or milliseconds'),
  })
  .transform((raw, ctx) => {
    const ms = parseDuration(raw);
    if (ms === null) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration such as "30s", "10m", "24h" or milliseconds, got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const UNITS: ReadonlyArray<readonly [number, string, string]> = [
  [86_400_000, 'd', '天'],
  [3_600_000, 'h', '小时'],
  [60_000, 'min', '分钟'],
  [1_000, 's', '秒'],
];

/** A duration for messages: "30 s", "15 min", "1.5 h", "7 d". */
export function formatDuration(ms: number): string {
  for (const [size, name] of UNITS) {
    if (ms >= size) return `${Number((ms / size).toFixed(1))} ${name}`;
  }
  return `${ms} ms`;
}

/** The same in Chinese: "30 秒", "15 分钟", "1.5 小时", "7 天". */
export function formatDurationZh(ms: number): string {
  for (const [size, , name] of UNITS) {
    if (ms >= size) return `${Number((ms / size).toFixed(1))} ${name}`;
  }
  return `${ms} 毫秒`;
}
