import { describe, expect, it } from 'vitest';
import type { AlarmChase } from './alarm.js';
import { createAlarmBook } from './alarm-book.js';
import type { VerdictChange } from './rule-engine.js';

const change = (status: 'true' | 'false', at: number): VerdictChange => ({
  key: 's/d/r',
  site: 's',
  device: 'd',
  profile: 'p',
  rule: 'r',
  source: 'test',
  verdict: status === 'true' ? { status, severity: 'red', metric: 'x', value: 9, threshold: 5, unit: null, message: 'high' } : { status },
  at,
});

const chase = (step: number, extra: Partial<AlarmChase> = {}): AlarmChase => ({
  policy: 'red',
  step,
  condition: 'not_acknowledged',
  dueAt: new Date(step * 60_000).toISOString(),
  notify: { subscribers: ['manager'], users: ['zhang.wei'] },
  ...extra,
});

describe('an escalation step in the alarm book (alarm.chased)', () => {
  it('is a transition of the alarm with the next seq, the step on the alarm, in its history and snapshot', () => {
    const book = createAlarmBook({ newAlarmId: () => 'alm_1' });
    book.apply(change('true', 0));
    const result = book.chase('alm_1', chase(1), 'step 1 of red', 300_000);
    if (!result.ok) throw new Error(result.error.code);
    expect(result.transition).toMatchObject({ type: 'alarm.chased', at: 300_000, by: null, note: 'step 1 of red' });
    expect(result.transition.alarm).toMatchObject({ seq: 2, chase: chase(1), acknowledged: false });
    expect(result.transition.alarm.assignee).toBeUndefined();
    expect(book.get('alm_1')?.chase).toEqual(chase(1));
    expect(book.history('alm_1').map((t) => [t.type, t.alarm.seq, t.alarm.chase?.step ?? null])).toEqual([
      ['alarm.raised', 1, null],
      ['alarm.chased', 2, 1],
    ]);
    // the transition keeps the step it fired, not the alarm's later one
    book.chase('alm_1', chase(2), null, 900_000);
    expect(book.history('alm_1')[1]?.alarm.chase?.step).toBe(1);
    const restored = createAlarmBook({ newAlarmId: () => 'x' });
    restored.restore(book.snapshot());
    expect(restored.get('alm_1')?.chase).toEqual(chase(2));
    expect(restored.history('alm_1').map((t) => t.type)).toEqual(['alarm.raised', 'alarm.chased', 'alarm.chased']);
  });

  it('a step that assigns makes the user the assignee, since the step', () => {
    const book = createAlarmBook({ newAlarmId: () => 'alm_1' });
    book.apply(change('true', 0));
    const result = book.chase('alm_1', chase(1, { assignee: 'li.na' }), null, 600_000);
    expect(result.ok && result.transition.alarm).toMatchObject({ assignee: 'li.na', assignedAt: new Date(600_000).toISOString() });
    expect(book.get('alm_1')).toMatchObject({ assignee: 'li.na' });
  });

  it('is refused for an alarm that does not exist or is resolved', () => {
    const book = createAlarmBook({ newAlarmId: () => 'alm_1' });
    expect(book.chase('nope', chase(1), null, 0)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    book.apply(change('true', 0));
    book.apply(change('false', 1_000));
    expect(book.resolve('alm_1', 'w', null, 2_000).ok).toBe(true);
    expect(book.chase('alm_1', chase(1), null, 3_000)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });
    expect(book.get('alm_1')?.chase).toBeUndefined();
    expect(book.history('alm_1').map((t) => t.type)).not.toContain('alarm.chased');
  });
});
