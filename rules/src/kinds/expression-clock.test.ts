import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

const MIN = 60_000;
const at = (iso: string): number => Date.parse(iso);
/** Monday 2026-11-23, local time at UTC+8 (the default offset). */
const local = (hhmm: string): number => at(`2026-11-23T${hhmm}:00+08:00`);

const ruleWith = (condition: string, more = '') => `
profile: p
rules:
  - { id: night, kind: expression, condition: "${condition}", severity: yellow${more}, source: t }
`;

describe('expression rules that read the local time', () => {
  it('raise at 22:00 and clear at 06:00 local from the clock alone, without data', () => {
    const h = harness(ruleWith('load > 5 and (local_hour >= 22 or local_hour < 6)'));
    h.read(local('21:30'), { load: 9 });
    expect(h.state('night')).toBe('false');
    expect(h.engine.nextDueAt()).toBe(local('22:00'));
    h.advanceTo(local('22:00'));
    expect(h.state('night')).toBe('yellow');
    expect(h.changes.map((c) => c.at)).toEqual([local('22:00')]);
    h.advanceTo(local('22:00') + 8 * 60 * MIN);
    expect(h.state('night')).toBe('false');
    expect(h.changes.map((c) => c.at)).toEqual([local('22:00'), local('22:00') + 8 * 60 * MIN]);
  });

  it('turn with the device’s own UTC offset (a half-hour zone turns on the half hour of UTC)', () => {
    const h = harness(ruleWith('load > 5 and local_hour >= 22'), { attributes: { utc_offset_h: 5.5 } });
    h.read(at('2026-11-23T16:00:00Z'), { load: 9 }); // 21:30 local
    expect(h.engine.nextDueAt()).toBe(at('2026-11-23T16:30:00Z'));
    h.advanceTo(at('2026-11-23T16:30:00Z'));
    expect(h.state('night')).toBe('yellow');
    // a quarter-hour zone (Nepal, +5:45): 16:00 UTC is 21:45 local, 22:00 local is 16:15 UTC
    const nepal = harness(ruleWith('load > 5 and local_hour >= 22'), { attributes: { utc_offset_h: 5.75 } });
    nepal.read(at('2026-11-23T16:00:00Z'), { load: 9 });
    expect(nepal.engine.nextDueAt()).toBe(at('2026-11-23T16:15:00Z'));
    nepal.advanceTo(at('2026-11-23T16:15:00Z'));
    expect(nepal.state('night')).toBe('yellow');
  });

  it('are judged on readings of their own names and on the whole hour, not on readings of other metrics', () => {
    // local_hour >= 22.5 turns between whole hours: without a reading of load it is judged at 23:00
    const h = harness(ruleWith('load > 5 and local_hour >= 22.5'));
    h.read(local('22:10'), { load: 9 });
    h.read(local('22:40'), { other: 1 });
    expect(h.state('night')).toBe('false');
    h.advanceTo(local('23:00'));
    expect(h.changes.map((c) => [c.at, c.verdict.status])).toEqual([[local('23:00'), 'true']]);
  });

  it.each([
    ['a comparison', 'load > 5 and local_hour >= 22'],
    ['the right side of a comparison', 'load > 5 and 22 <= local_hour'],
    ['a negation', 'load > 5 and -local_hour <= -22'],
    ['a not', 'load > 5 and not (local_hour < 22)'],
    ['arithmetic', 'load > 5 and local_hour + 0 >= 22'],
    ['a function call', 'load > 5 and max(0, local_hour) >= 22'],
    ['the right side of an or', 'load > 5 and (load > 100 or weekday >= 1 and local_hour >= 22)'],
  ])('are judged again on the hour when the clock is read in %s', (_, condition) => {
    const h = harness(ruleWith(condition));
    h.read(local('21:10'), { load: 9 });
    expect(h.state('night')).toBe('false');
    h.advanceTo(local('22:00'));
    expect(h.state('night')).toBe('yellow');
  });

  it('are judged again on the hour when only the guard reads the clock', () => {
    const h = harness(ruleWith('load > 5', ', when: "local_hour >= 22"'));
    h.read(local('21:10'), { load: 9 });
    expect(h.state('night')).toBe('false');
    h.advanceTo(local('22:00'));
    expect(h.state('night')).toBe('yellow');
  });

  it('a rule that does not read the clock has nothing due', () => {
    const h = harness(ruleWith('load > 5 and (attr.k > 1 or -load < -1 and not flag)'), { attributes: { k: 0 } });
    h.read(local('21:10'), { load: 9, flag: false });
    expect(h.engine.nextDueAt()).toBeNull();
  });

  it('an on-delay ending before the next hour is due first', () => {
    const h = harness(ruleWith('load > 5 and local_hour >= 21', ', onDelay: 20m'));
    h.read(local('21:10'), { load: 9 });
    expect(h.state('night')).toBe('pending');
    expect(h.engine.nextDueAt()).toBe(local('21:30'));
    h.advanceTo(local('21:30'));
    expect(h.state('night')).toBe('yellow');
  });
});

describe('expression rule verdicts', () => {
  it('a condition over attributes only is judged on any reading of the device', () => {
    const h = harness(ruleWith('attr.door_forced'), { attributes: { door_forced: true } });
    h.read(0, { x: 1 });
    expect(h.state('night')).toBe('yellow');
  });

  it('say the rule and its condition when raised, and that the condition no longer holds when cleared', () => {
    const h = harness(`
profile: p
rules:
  - { id: fan_off, kind: expression, condition: "running and not fan", severity: orange, source: t }
  - { id: named, kind: expression, name: Fan stopped, name_zh: 风机停止, condition: "running and not fan", severity: orange, source: t }
`);
    h.read(0, { running: true, fan: false });
    expect(h.last('fan_off')).toMatchObject({
      message: 'fan_off: running and not fan',
      messageZh: 'fan_off：fan_off: running and not fan',
    });
    expect(h.last('named')).toMatchObject({
      message: 'Fan stopped: running and not fan',
      messageZh: '风机停止：Fan stopped: running and not fan',
    });
    h.read(1000, { fan: true });
    expect(h.last('fan_off')).toMatchObject({
      status: 'false',
      detail: { message: 'fan_off: the condition no longer holds', messageZh: 'fan_off：报警条件已不成立' },
    });
    expect(h.last('named')).toMatchObject({
      status: 'false',
      detail: { message: 'Fan stopped: the condition no longer holds', messageZh: '风机停止：报警条件已不成立' },
    });
  });

  it('a condition gone before its on-delay ran out ends the pending without a clear message (nothing was raised)', () => {
    const h = harness(ruleWith('load > 5', ', onDelay: 10s'));
    h.read(0, { load: 9 });
    expect(h.state('night')).toBe('pending');
    h.read(5000, { load: 1 });
    expect(h.last('night')).toEqual({ status: 'false' });
  });
});
