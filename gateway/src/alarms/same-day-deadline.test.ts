import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextWallTime, sameDayDeadline } from './same-day-deadline.js';

const at = (iso: string): number => Date.parse(iso);
const settings = { enabled: true, timeZone: 'Asia/Shanghai', at: '23:59', sites: {} };

describe('the same-day deadline (handling.deadline)', () => {
  it("is 23:59 Beijing time of the day the alarm was raised, by the site's clock, not UTC's", () => {
    const deadlineOf = sameDayDeadline(settings);
    // 08:00 in Beijing (00:00 UTC): that evening
    expect(new Date(deadlineOf('s', at('2026-12-02T00:00:00Z')) as number).toISOString()).toBe('2026-12-02T15:59:00.000Z');
    // 23:45 in Beijing: fourteen minutes later, still that day
    expect(new Date(deadlineOf('s', at('2026-12-02T15:45:00Z')) as number).toISOString()).toBe('2026-12-02T15:59:00.000Z');
    // 00:05 in Beijing on the 3rd (still the 2nd in UTC): the 3rd's evening
    expect(new Date(deadlineOf('s', at('2026-12-02T16:05:00Z')) as number).toISOString()).toBe('2026-12-03T15:59:00.000Z');
  });

  it('a site may have its own time zone and deadline time; deadlines can be off', () => {
    const deadlineOf = sameDayDeadline({ ...settings, sites: { urumqi: { timeZone: 'Asia/Urumqi', at: '18:00' } } });
    // Ürümqi is UTC+6: 18:00 there is 12:00 UTC
    expect(new Date(deadlineOf('urumqi', at('2026-12-02T03:00:00Z')) as number).toISOString()).toBe('2026-12-02T12:00:00.000Z');
    expect(new Date(deadlineOf('other', at('2026-12-02T03:00:00Z')) as number).toISOString()).toBe('2026-12-02T15:59:00.000Z');
    expect(sameDayDeadline({ ...settings, enabled: false })('s', at('2026-12-02T03:00:00Z'))).toBeNull();
  });

  it('keeps the wall-clock time across a daylight-saving change', () => {
    // Berlin goes from UTC+1 to UTC+2 on 2026-03-29: 18:00 is 17:00 UTC the day before and 16:00 UTC that day
    expect(new Date(nextWallTime(at('2026-03-28T12:00:00Z'), 'Europe/Berlin', 18, 0)).toISOString()).toBe('2026-03-28T17:00:00.000Z');
    expect(new Date(nextWallTime(at('2026-03-29T12:00:00Z'), 'Europe/Berlin', 18, 0)).toISOString()).toBe('2026-03-29T16:00:00.000Z');
  });

  it('gives every raise the deadline computed afresh, in any order of raise times and sites (a property)', () => {
    const zones = ['Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'Asia/Urumqi'];
    const clock = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    fc.assert(
      fc.property(
        clock,
        fc.constantFrom(...zones),
        clock,
        fc.constantFrom(...zones),
        // raise times over a year with daylight-saving changes, mostly close together (the same day), in any order
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 365 * 86_400_000 }), fc.integer({ min: -7_200_000, max: 7_200_000 })), {
          minLength: 1,
          maxLength: 30,
        }),
        (plantAt, plantZone, ownAt, ownZone, raises) => {
          const deadlineOf = sameDayDeadline({
            enabled: true,
            timeZone: plantZone,
            at: plantAt,
            sites: { own: { timeZone: ownZone, at: ownAt } },
          });
          let previous = at('2026-01-01T00:00:00Z');
          for (const [ownSite, jump, near] of raises) {
            const raisedAt = jump % 3 === 0 ? at('2026-01-01T00:00:00Z') + jump : previous + near;
            previous = raisedAt;
            const [zone, time] = ownSite ? [ownZone, ownAt] : [plantZone, plantAt];
            const [hh, mm] = time.split(':').map(Number) as [number, number];
            expect(deadlineOf(ownSite ? 'own' : 'plant', raisedAt)).toBe(nextWallTime(raisedAt, zone, hh, mm));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
