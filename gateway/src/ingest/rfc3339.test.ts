import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rfc3339Ms } from './rfc3339.js';

describe('device times as RFC 3339 text (contract §2)', () => {
  it('reads times with their offset, T and Z in either case (RFC 3339 §5.6)', () => {
    const at = Date.UTC(2026, 10, 22, 8, 0, 0);
    expect(rfc3339Ms('2026-11-22T08:00:00Z')).toBe(at);
    expect(rfc3339Ms('2026-11-22t08:00:00z')).toBe(at);
    expect(rfc3339Ms('2026-11-22T16:00:00+08:00')).toBe(at);
    expect(rfc3339Ms('2026-11-22T08:00:00.250Z')).toBe(at + 250);
    expect(rfc3339Ms('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(rfc3339Ms('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
  });

  it('refuses a day the month does not have, rather than roll it into the next month', () => {
    for (const text of [
      '2026-11-31T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2026-04-31T12:00:00+08:00',
      '2026-01-32T00:00:00Z',
    ])
      expect(rfc3339Ms(text), text).toBeNaN();
    for (const text of ['2026-00-10T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-00T00:00:00Z', '2026-11-22T24:00:01Z'])
      expect(rfc3339Ms(text), text).toBeNaN();
  });

  it('refuses what is not RFC 3339: no offset, a space for T, a date alone', () => {
    for (const text of ['2026-11-22T08:00:00', '2026-11-22 08:00:00Z', '2026-11-22', '', 'yesterday', '2026-11-22T08:00:00+0800'])
      expect(rfc3339Ms(text), text).toBeNaN();
  });

  it('agrees with the calendar on every day of every month (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (year, month, day) => {
          const text = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T00:00:00Z`;
          const date = new Date(0);
          date.setUTCFullYear(year, month - 1, day);
          const exists = date.getUTCMonth() === month - 1;
          expect(Number.isNaN(rfc3339Ms(text))).toBe(!exists);
          if (exists) expect(rfc3339Ms(text)).toBe(date.getTime());
        },
      ),
    );
  });

  it('refuses an hour past 23 (24:00 would be the next day) and a minute past 59; a leap second is the last millisecond of its minute', () => {
    expect(rfc3339Ms('2026-11-21T24:00:00Z')).toBeNaN();
    expect(rfc3339Ms('2026-11-21T23:60:00Z')).toBeNaN();
    expect(rfc3339Ms('2026-11-21T23:59:61Z')).toBeNaN();
    expect(rfc3339Ms('2016-12-31T23:59:60Z')).toBe(Date.parse('2016-12-31T23:59:59.999Z'));
    expect(rfc3339Ms('2017-01-01T07:59:60.25+08:00')).toBe(Date.parse('2016-12-31T23:59:59.999Z'));
    // a leap second only ever ends a UTC day
    expect(rfc3339Ms('2026-11-21T12:30:60Z')).toBeNaN();
    expect(rfc3339Ms('2016-12-31T23:59:60+08:00')).toBeNaN();
  });

  it('agrees with Date.parse on every valid time of day (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), (h, m, sec) => {
        const text = `2026-11-21T${[h, m, sec].map((n) => String(n).padStart(2, '0')).join(':')}+08:00`;
        expect(rfc3339Ms(text)).toBe(Date.parse(text));
      }),
    );
  });
});
