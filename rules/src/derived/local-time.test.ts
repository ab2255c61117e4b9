import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { isUtcOffset, localClock, utcOffsetOf } from './local-time.js';

const at = (iso: string): number => Date.parse(iso);

describe('local time of day', () => {
  it('is computed from the time and a fixed UTC offset (default China Standard Time, +8 h)', () => {
    // 2026-11-22 is a Sunday
    expect(localClock('local_hour', at('2026-11-22T14:30:00Z'), 8)).toBe(22.5);
    expect(localClock('weekday', at('2026-11-22T14:30:00Z'), 8)).toBe(7);
    expect(localClock('local_hour', at('2026-11-22T16:00:00Z'), 8)).toBe(0);
    expect(localClock('weekday', at('2026-11-22T16:00:00Z'), 8)).toBe(1); // Monday 00:00 local
    expect(localClock('local_hour', at('2026-11-22T02:00:00Z'), -5)).toBe(21);
    expect(localClock('weekday', at('2026-11-22T02:00:00Z'), -5)).toBe(6);
    expect(localClock('local_hour', at('2026-11-22T00:00:00Z'), 5.5)).toBe(5.5);
    expect(localClock('weekday', at('1970-01-01T00:00:00Z'), 0)).toBe(4);
    expect(localClock('local_hour', at('1969-12-31T23:00:00Z'), 0)).toBe(23);
  });

  it('validates the offset: −12…+14 h in quarter hours; absent is +8; anything else makes the time unknown', () => {
    expect([8, 0, -12, 14, 5.5, 5.75, -3.5].every(isUtcOffset)).toBe(true);
    expect([15, -13, 5.3, Number.NaN, '8', null].some(isUtcOffset)).toBe(false);
    expect(utcOffsetOf(undefined)).toBe(8);
    expect(utcOffsetOf(-3)).toBe(-3);
    expect(utcOffsetOf('Asia/Shanghai')).toBeNull();
    expect(utcOffsetOf(99)).toBeNull();
  });

  it('is available to rule expressions as local_hour and weekday, evaluated at the reading time', () => {
    const yaml = `
profile: p
rules:
  - { id: night, kind: expression, condition: "load > 5 and (local_hour >= 22 or local_hour < 6)", severity: yellow, source: t }
  - { id: weekend, kind: expression, condition: "load > 5 and weekday >= 6", severity: blue, source: t }
`;
    const h = harness(yaml);
    h.read(at('2026-11-23T13:59:00Z'), { load: 9 }); // Monday 21:59 local
    expect([h.state('night'), h.state('weekend')]).toEqual(['false', 'false']);
    h.read(at('2026-11-23T14:00:00Z'), { load: 9 }); // 22:00 local
    expect(h.state('night')).toBe('yellow');
    h.read(at('2026-11-23T22:00:00Z'), { load: 9 }); // Tuesday 06:00 local
    expect(h.state('night')).toBe('false');
    h.read(at('2026-11-28T02:00:00Z'), { load: 9 }); // Saturday 10:00 local
    expect(h.state('weekend')).toBe('blue');

    const utc = harness(yaml, { attributes: { utc_offset_h: 0 } });
    utc.read(at('2026-11-23T14:00:00Z'), { load: 9 });
    expect(utc.state('night')).toBe('false');
    utc.read(at('2026-11-23T22:00:00Z'), { load: 9 });
    expect(utc.state('night')).toBe('yellow');

    // an invalid offset: the time is unknown, so the rule neither raises nor clears
    const bad = harness(yaml, { attributes: { utc_offset_h: 'CST' } });
    bad.read(at('2026-11-23T14:00:00Z'), { load: 9 });
    expect(bad.state('night')).toBe('false');
  });
});
