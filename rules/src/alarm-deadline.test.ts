import { describe, expect, it } from 'vitest';
import { createAlarmBook } from './alarm-book.js';
import type { VerdictChange } from './rule-engine.js';

const HOUR = 3_600_000;
const change = (status: 'true' | 'false', at: number, key = 's/d/r'): VerdictChange => ({
  key,
  site: 's',
  device: key.split('/')[1] as string,
  profile: 'p',
  rule: 'r',
  source: 'test',
  verdict:
    status === 'true' ? { status, severity: 'orange', metric: 'x', value: 9, threshold: 5, unit: null, message: 'high' } : { status },
  at,
});

/** Deadlines 10 h after the raise, for the test. */
const book = () => {
  let n = 0;
  return createAlarmBook({
    newAlarmId: () => {
      n += 1;
      return `alm_${n}`;
    },
    deadlineOf: (_site, raisedAt) => raisedAt + 10 * HOUR,
  });
};

describe('the same-day deadline in the alarm book (alarm.overdue)', () => {
  it('counts from when the gateway raised the alarm: a reading from a backlog sent hours late gets its full day', () => {
    const alarms = book();
    const late = { ...change('true', 0), receivedAt: 5 * HOUR };
    const [raised] = alarms.apply(late);
    expect(raised?.alarm).toMatchObject({ raisedAt: new Date(0).toISOString(), reportedAt: new Date(5 * HOUR).toISOString() });
    expect(raised?.alarm.deadline).toBe(new Date(15 * HOUR).toISOString());
    // on time (the reading's arrival a minute or less after its time, or none for a change of the clock): no reportedAt
    alarms.apply(change('false', 6 * HOUR));
    const [back] = alarms.apply({ ...change('true', 7 * HOUR), receivedAt: 7 * HOUR + 60_000 });
    expect(back?.alarm.reportedAt).toBeUndefined();
    expect(back?.alarm.deadline).toBe(new Date(15 * HOUR).toISOString());
    const [other] = alarms.apply(change('true', 8 * HOUR, 's/e/r'));
    expect(other?.alarm).not.toHaveProperty('reportedAt');
    expect(other?.alarm.deadline).toBe(new Date(18 * HOUR).toISOString());
  });

  it('a reading a little late across the cut-off is not born overdue: its deadline counts from its arrival', () => {
    const CUT = 10 * HOUR;
    const alarms = createAlarmBook({ newAlarmId: () => 'alm_1', deadlineOf: (_site, t) => (Math.floor(t / CUT) + 1) * CUT });
    // read 10 s before a cut-off, arrived 30 s after it (40 s late: no reportedAt)
    const [raised] = alarms.apply({ ...change('true', CUT - 10_000), receivedAt: CUT + 30_000 });
    expect(raised?.alarm.reportedAt).toBeUndefined();
    expect(raised?.alarm.deadline).toBe(new Date(2 * CUT).toISOString());
    expect(alarms.tick(CUT + 31_000).map((t) => t.type)).toEqual([]);
  });

  it('an alarm still unresolved at its deadline goes alarm.overdue once, cleared or not, with the next seq', () => {
    const alarms = book();
    const [raised] = alarms.apply(change('true', 0));
    expect(raised?.alarm.deadline).toBe(new Date(10 * HOUR).toISOString());
    alarms.apply(change('false', HOUR));
    expect(alarms.nextDueAt()).toBe(10 * HOUR);
    expect(alarms.tick(10 * HOUR - 1)).toEqual([]);
    const due = alarms.tick(10 * HOUR);
    expect(due.map((step) => [step.type, step.alarm.seq, step.alarm.overdue])).toEqual([['alarm.overdue', 3, true]]);
    expect(alarms.tick(20 * HOUR)).toEqual([]);
    // overdue is a record, not a state to leave: resolving it later keeps it
    const resolved = alarms.resolve('alm_1', 'duty', 'late', 21 * HOUR);
    expect(resolved.ok && resolved.transition.alarm.overdue).toBe(true);
  });

  it('an alarm resolved in time never goes overdue; a re-raise keeps the first deadline; a restored book keeps its deadlines', () => {
    const alarms = book();
    alarms.apply(change('true', 0, 's/a/r'));
    alarms.apply(change('false', HOUR, 's/a/r'));
    expect(alarms.resolve('alm_1', 'duty', null, 2 * HOUR).ok).toBe(true);
    alarms.apply(change('true', 3 * HOUR, 's/b/r'));
    alarms.apply(change('false', 4 * HOUR, 's/b/r'));
    alarms.apply(change('true', 5 * HOUR, 's/b/r'));
    expect(alarms.get('alm_2')?.deadline).toBe(new Date(13 * HOUR).toISOString());

    const again = book();
    again.restore(JSON.parse(JSON.stringify(alarms.snapshot())));
    expect(again.tick(13 * HOUR).map((step) => [step.type, step.alarm.id])).toEqual([['alarm.overdue', 'alm_2']]);
    expect(again.tick(30 * HOUR)).toEqual([]);
  });

  it('a restored book does not wake for the deadline of an alarm resolved or already overdue', () => {
    const b = book();
    b.apply(change('true', 0, 's/a/r'));
    b.apply(change('false', 1, 's/a/r'));
    b.resolve(b.list({ state: 'all' })[0]?.id as string, 'op', null, 2);
    b.apply(change('true', 0, 's/b/r'));
    b.tick(10 * HOUR);
    const copy = book();
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(copy.nextDueAt()).toBeNull();
  });
});
