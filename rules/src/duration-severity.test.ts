import { describe, expect, it } from 'vitest';
import { durationSchema, formatDuration, parseDuration } from './duration.js';
import { compareSeverity, maxSeverity, SEVERITIES, SEVERITY_CODE, severityRank } from './severity.js';

describe('durations of rule files', () => {
  it('reads every unit, decimals and spaces; a number is milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('15min')).toBe(900_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration(' 10 s ')).toBe(10_000);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(2500)).toBe(2500);
  });

  it('refuses negative, infinite and unitless or malformed texts', () => {
    expect(parseDuration(-1)).toBeNull();
    expect(parseDuration(Number.NaN)).toBeNull();
    expect(parseDuration(Number.POSITIVE_INFINITY)).toBeNull();
    for (const text of ['10', '-5s', '1.h', '.5h', '5 hours', '5sx', 'x5s', '', 'h']) expect(parseDuration(text), text).toBeNull();
  });

  it('says what it expected in a rule file, with what it got', () => {
    expect(durationSchema.parse('2m')).toBe(120_000);
    expect(durationSchema.safeParse('soon').error?.issues.map((i) => i.message)).toEqual([
      'expected a duration such as "30s", "10m", "24h" or milliseconds, got "soon"',
    ]);
    expect(durationSchema.safeParse(-5).error?.issues.map((i) => i.message)).toEqual([
      'expected a duration such as "30s", "10m", "24h" or milliseconds, got -5',
    ]);
    expect(durationSchema.safeParse(undefined).error?.issues.map((i) => i.message)).toEqual(['required']);
    expect(durationSchema.safeParse(true).error?.issues.map((i) => i.message)).toEqual([
      'expected a duration such as "30s", "10m", "24h" or milliseconds',
    ]);
  });

  it('is written for messages in the largest unit it reaches, to one decimal', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1000)).toBe('1 s');
    expect(formatDuration(59_999)).toBe('60 s');
    expect(formatDuration(60_000)).toBe('1 min');
    expect(formatDuration(900_000)).toBe('15 min');
    expect(formatDuration(3_600_000)).toBe('1 h');
    expect(formatDuration(5_400_000)).toBe('1.5 h');
    expect(formatDuration(86_400_000)).toBe('1 d');
    expect(formatDuration(7 * 86_400_000)).toBe('7 d');
  });
});

describe('severities', () => {
  it('rank blue < yellow < orange < red, with no alarm below all', () => {
    expect([null, ...SEVERITIES].map(severityRank)).toEqual([0, 1, 2, 3, 4]);
    for (const [i, a] of [null, ...SEVERITIES].entries()) {
      for (const [j, b] of [null, ...SEVERITIES].entries()) {
        expect(Math.sign(compareSeverity(a, b)), `${a} vs ${b}`).toBe(Math.sign(i - j));
        expect(maxSeverity(a, b), `max(${a}, ${b})`).toBe(i >= j ? a : b);
      }
    }
  });

  it('carry the contract codes red 1 … blue 4', () => {
    expect(SEVERITY_CODE).toEqual({ red: 1, orange: 2, yellow: 3, blue: 4 });
  });
});
