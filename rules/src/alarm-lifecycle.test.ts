import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AlarmTransition } from './alarm.js';
import { type AlarmBook, createAlarmBook } from './alarm-book.js';
import type { VerdictChange } from './rule-engine.js';
import type { Severity } from './severity.js';
import type { VerdictDetail } from './verdict.js';

/** A book without flapping unless asked: these tests follow one alarm through its life as a duty officer sees it. */
const book = (options: { maxClosed?: number; flapping?: { transitions: number; windowMs: number } | false } = {}): AlarmBook => {
  let n = 0;
  return createAlarmBook({ newAlarmId: () => `alm_${++n}`, flapping: false, ...options });
};

const at = (site: string, device: string) => ({ key: `${site}/${device}/r`, site, device, profile: 'p', rule: 'r', source: 'test' });

const raise = (t: number, severity: Severity, value = 9, where = at('s', 'd')): VerdictChange => ({
  ...where,
  at: t,
  verdict: {
    status: 'true',
    severity,
    metric: 'x',
    value,
    threshold: 5,
    unit: 'ppm',
    message: `x ${value} ppm`,
    messageZh: `x 为 ${value}`,
  },
});

const clear = (t: number, detail?: VerdictDetail, where = at('s', 'd')): VerdictChange => ({
  ...where,
  at: t,
  verdict: detail ? { status: 'false', detail } : { status: 'false' },
});

const types = (steps: readonly AlarmTransition[]) => steps.map((s) => s.type);
const idOf = (steps: readonly AlarmTransition[]): string => steps[0]?.alarm.id as string;

describe('the alarm lifecycle a duty officer follows', () => {
  it('a raise opens an alarm with what was measured; the same severity again changes nothing; a pending verdict changes nothing', () => {
    const b = book();
    const [raised] = b.apply(raise(1_000, 'orange'));
    expect(raised).toMatchObject({
      type: 'alarm.raised',
      at: 1_000,
      by: null,
      alarm: {
        seq: 1,
        severity: 'orange',
        previousSeverity: null,
        state: 'active',
        acknowledged: false,
        resolved: false,
        value: 9,
        threshold: 5,
        unit: 'ppm',
        message: 'x 9 ppm',
        messageZh: 'x 为 9',
        raisedAt: new Date(1_000).toISOString(),
        clearedAt: null,
        occurrences: 1,
      },
    });
    expect(b.apply(raise(2_000, 'orange', 10))).toEqual([]);
    expect(b.apply({ ...clear(3_000), verdict: { status: 'pending', dueAt: 5_000 } })).toEqual([]);
    expect(b.get(idOf([raised as AlarmTransition]))).toMatchObject({ state: 'active', seq: 1 });
  });

  it('escalates and de-escalates between levels, each event naming the level it came from', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'yellow', 6)));
    const up = b.apply(raise(1, 'red', 20));
    expect(up.map((s) => [s.type, s.alarm.previousSeverity, s.alarm.severity, s.alarm.value])).toEqual([
      ['alarm.escalated', 'yellow', 'red', 20],
    ]);
    const down = b.apply(raise(2, 'orange', 12));
    expect(down.map((s) => [s.type, s.alarm.previousSeverity, s.alarm.severity, s.alarm.value])).toEqual([
      ['alarm.deescalated', 'red', 'orange', 12],
    ]);
    expect(b.history(id).map((s) => s.alarm.seq)).toEqual([1, 2, 3]);
  });

  it('a clear shows the clearing value when the rule gives it, else says what cleared; the alarm stays open until resolved', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'orange')));
    const [cleared] = b.apply(clear(5_000, { metric: null, value: 4, threshold: 6, unit: 'ppm', message: 'x back to 4 ppm' }));
    expect(cleared).toMatchObject({
      type: 'alarm.cleared',
      alarm: {
        state: 'cleared',
        severity: 'orange',
        previousSeverity: 'orange',
        metric: 'x',
        value: 4,
        threshold: 6,
        message: 'x back to 4 ppm',
        messageZh: 'x back to 4 ppm',
        clearedAt: new Date(5_000).toISOString(),
      },
    });
    expect(b.apply(clear(6_000))).toEqual([]);
    expect(b.list({}).map((a) => a.id)).toEqual([id]);

    const other = book();
    other.apply(raise(0, 'red'));
    expect(other.apply(clear(1))[0]?.alarm).toMatchObject({ message: 'Cleared: x 9 ppm', messageZh: '已解除：x 为 9', value: 9 });
  });

  it('a condition that returns before the alarm is resolved re-raises the same alarm, counted, and it needs a new acknowledgement', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'orange')));
    expect(b.acknowledge(id, 'op', null, 1).ok).toBe(true);
    b.apply(clear(2_000));
    const again = b.apply(raise(3_000, 'yellow', 7));
    expect(again.map((s) => s.type)).toEqual(['alarm.raised']);
    expect(again[0]?.alarm).toMatchObject({
      id,
      severity: 'yellow',
      previousSeverity: null,
      state: 'active',
      acknowledged: false,
      acknowledgedBy: null,
      acknowledgedAt: null,
      raisedAt: new Date(3_000).toISOString(),
      clearedAt: null,
      occurrences: 2,
      value: 7,
    });
    // an acknowledgement naming the occurrence its sender saw lands only on that one
    expect(b.acknowledge(id, 'op2', 'seen again', 4, 1)).toEqual({ ok: false, error: { code: 'alarm_reoccurred' } });
    expect(b.get(id)?.acknowledged).toBe(false);
    expect(b.acknowledge(id, 'op2', 'seen again', 4, 2).ok).toBe(true);
    // so does a resolution: a disposal written for the first occurrence does not close the second
    b.apply(clear(5_000));
    expect(b.resolve(id, 'op2', null, 6_000, undefined, 1)).toEqual({ ok: false, error: { code: 'alarm_reoccurred' } });
    expect(b.get(id)?.resolved).toBe(false);
    expect(b.resolve(id, 'op2', null, 6_000, undefined, 2).ok).toBe(true);
  });

  it('acknowledge: once, by whom and when, refused for an unknown, an acknowledged or a resolved alarm', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'red')));
    expect(b.acknowledge('nope', 'op', null, 1)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    const ack = b.acknowledge(id, 'op', 'on my way', 2_000);
    expect(ack).toMatchObject({
      ok: true,
      transition: {
        type: 'alarm.acknowledged',
        by: 'op',
        note: 'on my way',
        at: 2_000,
        alarm: { acknowledged: true, acknowledgedBy: 'op', acknowledgedAt: new Date(2_000).toISOString(), note: 'on my way', seq: 2 },
      },
    });
    expect(b.acknowledge(id, 'op2', null, 3_000)).toEqual({ ok: false, error: { code: 'alarm_already_acknowledged' } });
    b.apply(clear(4_000));
    b.resolve(id, 'op', null, 5_000);
    expect(b.get(id)?.note).toBe('on my way');
    const fresh = book();
    const other = idOf(fresh.apply(raise(0, 'red')));
    fresh.apply(clear(1));
    fresh.resolve(other, 'op', null, 2);
    expect(fresh.acknowledge(other, 'op', null, 3)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });
  });

  it('resolve: only a cleared alarm, once; then the key is free and the next raise is a new alarm', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'orange')));
    expect(b.resolve('nope', 'op', null, 1)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    expect(b.resolve(id, 'op', null, 1)).toEqual({ ok: false, error: { code: 'alarm_still_active' } });
    b.apply(clear(2));
    const done = b.resolve(id, 'op', 'valve replaced', 3, { cause: 'leak', measures: 'valve replaced', responsible: 'Li' });
    expect(done).toMatchObject({
      ok: true,
      transition: {
        type: 'alarm.resolved',
        by: 'op',
        alarm: {
          resolved: true,
          resolvedBy: 'op',
          resolvedAt: new Date(3).toISOString(),
          note: 'valve replaced',
          disposal: { cause: 'leak', measures: 'valve replaced', responsible: 'Li' },
        },
      },
    });
    expect(b.resolve(id, 'op', null, 4)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });
    expect(b.assign(id, 'Li', 'boss', null, 4)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });
    // a clear for the resolved alarm's key changes nothing; a new condition opens a new alarm
    expect(b.apply(clear(5))).toEqual([]);
    const next = b.apply(raise(6, 'yellow'));
    expect(next[0]?.alarm).toMatchObject({ seq: 1, occurrences: 1, severity: 'yellow' });
    expect(next[0]?.alarm.id).not.toBe(id);
    expect(b.list({}).map((a) => a.id)).toEqual([next[0]?.alarm.id]);
  });

  it('assign: to a person, re-assignable, refused for an unknown alarm', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'orange')));
    expect(b.assign('nope', 'Li', 'boss', null, 1)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    expect(b.assign(id, 'Li', 'boss', 'go', 1_000)).toMatchObject({
      ok: true,
      transition: { type: 'alarm.assigned', by: 'boss', note: 'go', alarm: { assignee: 'Li', assignedAt: new Date(1_000).toISOString() } },
    });
    expect(b.assign(id, 'Wang', 'boss', null, 2_000)).toMatchObject({ ok: true, transition: { alarm: { assignee: 'Wang' } } });
    expect(b.get(id)?.assignee).toBe('Wang');
  });

  it('lists by state, site, device and severity, newest first', () => {
    const b = book();
    const a = idOf(b.apply(raise(1_000, 'yellow', 9, at('s1', 'd1'))));
    const c = idOf(b.apply(raise(3_000, 'red', 9, at('s2', 'd2'))));
    const d = idOf(b.apply(raise(2_000, 'red', 9, at('s1', 'd3'))));
    b.apply(clear(4_000, undefined, at('s1', 'd3')));
    const e = idOf(b.apply(raise(0, 'blue', 9, at('s1', 'd4'))));
    b.apply(clear(5_000, undefined, at('s1', 'd4')));
    b.resolve(e, 'op', null, 6_000);
    const ids = (q: Parameters<AlarmBook['list']>[0]) => b.list(q).map((x) => x.id);
    expect(ids({})).toEqual([c, d, a]);
    expect(ids({ state: 'open' })).toEqual([c, d, a]);
    expect(ids({ state: 'active' })).toEqual([c, a]);
    expect(ids({ state: 'cleared' })).toEqual([d, e]);
    expect(ids({ state: 'all' })).toEqual([c, d, a, e]);
    expect(ids({ site: 's1' })).toEqual([d, a]);
    expect(ids({ device: 'd2' })).toEqual([c]);
    expect(ids({ severity: 'red' })).toEqual([c, d]);
    expect(ids({ state: 'all', site: 's1', severity: 'blue' })).toEqual([e]);
  });

  it('alarms raised in the same millisecond list in a stable order', () => {
    const b = book();
    const first = idOf(b.apply(raise(0, 'red', 9, at('s', 'a'))));
    const second = idOf(b.apply(raise(0, 'red', 9, at('s', 'b'))));
    expect(b.list({}).map((x) => x.id)).toEqual([second, first]);
  });

  it('lists newest first, and alarms raised in the same millisecond the one opened last first, whatever the order of arrival (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 12 }), (times) => {
        let n = 0;
        // ids that grow with creation, as the gateway's ULIDs do
        const b = createAlarmBook({ newAlarmId: () => `alm_${String(++n).padStart(4, '0')}`, flapping: false });
        for (const [i, t] of times.entries()) b.apply(raise(t * 1_000, 'red', 9, at('s', `d${i}`)));
        const expected = times.map((t, i) => ({ t, i })).sort((x, y) => y.t - x.t || y.i - x.i);
        expect(b.list({}).map((a) => a.device)).toEqual(expected.map((x) => `d${x.i}`));
      }),
    );
  });

  it('lists newest raised first and the same millisecond by larger id first, whatever order the ids were made in', () => {
    // ids that do not grow with creation (alarms adopted from another node come after the book's own)
    const ids = ['alm_9', 'alm_1', 'alm_8', 'alm_7', 'alm_6'];
    const b = createAlarmBook({ newAlarmId: () => ids.shift() as string, flapping: false });
    b.apply(raise(0, 'red', 9, at('s', 'old')));
    b.apply(raise(1_000, 'red', 9, at('s', 'new')));
    expect(b.list({}).map((x) => x.id)).toEqual(['alm_1', 'alm_9']);
    for (const device of ['a', 'b', 'c']) b.apply(raise(2_000, 'red', 9, at('s', device)));
    expect(b.list({}).map((x) => x.id)).toEqual(['alm_8', 'alm_7', 'alm_6', 'alm_1', 'alm_9']);
  });

  it('an escalation step without an assignee leaves the alarm with the person it was assigned to', () => {
    const b = book();
    const id = idOf(b.apply(raise(0, 'red')));
    b.assign(id, 'Li', 'boss', null, 1_000);
    const chased = b.chase(
      id,
      {
        policy: 'red',
        step: 1,
        condition: 'not_acknowledged',
        dueAt: new Date(2_000).toISOString(),
        notify: { subscribers: [], users: ['zhang.wei'] },
      },
      null,
      2_000,
    );
    expect(chased).toMatchObject({
      ok: true,
      transition: { type: 'alarm.chased', alarm: { assignee: 'Li', assignedAt: new Date(1_000).toISOString() } },
    });
  });

  it('keeps at most maxClosed resolved alarms, forgetting the oldest first; open alarms are never forgotten', () => {
    const b = book({ maxClosed: 2 });
    const open = idOf(b.apply(raise(0, 'red', 9, at('s', 'open'))));
    const closed: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const where = at('s', `d${i}`);
      const id = idOf(b.apply(raise(10 + i, 'yellow', 9, where)));
      b.apply(clear(20 + i, undefined, where));
      b.resolve(id, 'op', null, 30 + i);
      closed.push(id);
    }
    expect(b.get(closed[0] as string)).toBeUndefined();
    expect(b.history(closed[0] as string)).toEqual([]);
    expect(b.get(closed[1] as string)?.resolved).toBe(true);
    expect(b.history(closed[2] as string).map((s) => s.type)).toEqual(['alarm.raised', 'alarm.cleared', 'alarm.resolved']);
    expect(b.get(open)?.state).toBe('active');
  });

  it('after snapshot and restore the same alarms go on: a clear clears the open one, a resolved one stays closed', () => {
    const b = book();
    const open = idOf(b.apply(raise(0, 'orange', 9, at('s', 'a'))));
    const where = at('s', 'b');
    const done = idOf(b.apply(raise(0, 'orange', 9, where)));
    b.apply(clear(1, undefined, where));
    b.resolve(done, 'op', null, 2);
    const copy = book({ maxClosed: 1 });
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(types(copy.apply(clear(3, undefined, at('s', 'a'))))).toEqual(['alarm.cleared']);
    expect(copy.get(open)?.seq).toBe(2);
    expect(copy.history(open).map((s) => s.type)).toEqual(['alarm.raised', 'alarm.cleared']);
    const again = copy.apply(raise(4, 'red', 9, where));
    expect(again[0]?.alarm.id).not.toBe(done);
    // the restored closed alarm counts toward maxClosed
    copy.apply(clear(5, undefined, where));
    copy.resolve(idOf(again), 'op', null, 6);
    expect(copy.get(done)).toBeUndefined();
  });
});

describe('flapping as the duty officer sees it', () => {
  const flappy = () => book({ flapping: { transitions: 2, windowMs: 10_000 } });

  it('an alarm that escalates through every level and clears once is not flapping', () => {
    const b = flappy();
    const seen: string[] = [];
    for (const [t, s] of [
      [0, 'blue'],
      [1, 'yellow'],
      [2, 'orange'],
      [3, 'red'],
    ] as const)
      seen.push(...types(b.apply(raise(t, s))));
    seen.push(...types(b.apply(clear(4))));
    expect(seen).toEqual(['alarm.raised', 'alarm.escalated', 'alarm.escalated', 'alarm.escalated', 'alarm.cleared']);
  });

  it('reversals count only within the window: slow cycles never flap, the same cycles quickly do', () => {
    const cycle = (gap: number) => {
      const b = flappy();
      const seen: string[] = [];
      for (let i = 0; i < 6; i += 1) seen.push(...types(b.apply(i % 2 === 0 ? raise(i * gap, 'red') : clear(i * gap))));
      return seen;
    };
    expect(cycle(5_000)).not.toContain('alarm.flapping');
    expect(cycle(1_000)).toContain('alarm.flapping');
    // exactly `transitions` reversals in the window is still not flapping, one more is
    const b = flappy();
    expect(types(b.apply(raise(0, 'red')))).toEqual(['alarm.raised']);
    expect(types(b.apply(clear(1)))).toEqual(['alarm.cleared']);
    expect(types(b.apply(raise(2, 'red')))).toEqual(['alarm.raised', 'alarm.flapping']);
  });

  it('oscillation between two levels is flapping too', () => {
    const b = flappy();
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) seen.push(...types(b.apply(raise(i, i % 2 === 0 ? 'orange' : 'yellow'))));
    expect(seen).toEqual(['alarm.raised', 'alarm.deescalated', 'alarm.escalated', 'alarm.flapping']);
  });

  it('while flapping, only a rise above what the alarm shows goes out; quiet for a window, it takes the held state', () => {
    const b = flappy();
    b.apply(raise(0, 'orange'));
    b.apply(clear(1));
    const id = idOf(b.apply(raise(2, 'orange')));
    expect(b.get(id)?.flapping).toBe(true);
    expect(b.apply(raise(3, 'yellow'))).toEqual([]);
    expect(b.apply(raise(4, 'orange'))).toEqual([]);
    expect(b.apply({ ...clear(5), verdict: { status: 'pending', dueAt: 9 } })).toEqual([]);
    expect(types(b.apply(raise(6, 'red')))).toEqual(['alarm.escalated']);
    expect(b.apply(raise(7, 'yellow'))).toEqual([]);
    expect(b.nextDueAt()).toBe(10_007);
    expect(b.tick(10_006)).toEqual([]);
    const end = b.tick(10_007);
    expect(end.map((s) => [s.type, s.alarm.severity])).toEqual([
      ['alarm.unflapped', 'red'],
      ['alarm.deescalated', 'yellow'],
    ]);
    expect(b.get(id)?.flapping).toBe(false);
    expect(b.nextDueAt()).toBeNull();
  });

  it('while flapping, an alarm that shows cleared is raised again when its condition returns: a hazard is never shown gone', () => {
    // more than 3 reversals: the fourth, a clear, begins it (as the default's sixth of more than 5 does)
    const b = book({ flapping: { transitions: 3, windowMs: 10_000 } });
    b.apply(raise(0, 'orange'));
    b.apply(clear(1));
    b.apply(raise(2, 'orange'));
    // flapping begins on this clear: the alarm shows cleared
    const cleared = b.apply(clear(3));
    expect(types(cleared)).toEqual(['alarm.cleared', 'alarm.flapping']);
    const id = idOf(cleared);
    const back = b.apply(raise(4, 'orange'));
    expect(back.map((step) => [step.type, step.alarm.state, step.alarm.occurrences])).toEqual([['alarm.raised', 'active', 3]]);
    // its clears are held while it flaps: it shows active, and the end of flapping shows where the condition stands
    expect(b.apply(clear(5))).toEqual([]);
    expect(b.apply(raise(6, 'orange'))).toEqual([]);
    expect(b.get(id)?.state).toBe('active');
    expect(types(b.apply(clear(7)))).toEqual([]);
    expect(types(b.tick(10_007))).toEqual(['alarm.unflapped', 'alarm.cleared']);
  });

  it('while flapping, a pending verdict (a delay running) neither replaces the held state nor postpones the end of flapping', () => {
    const b = flappy();
    b.apply(raise(0, 'orange'));
    b.apply(clear(1));
    const id = idOf(b.apply(raise(2, 'orange')));
    expect(b.apply(clear(3))).toEqual([]);
    expect(b.apply({ ...raise(4, 'orange'), verdict: { status: 'pending', dueAt: 9_000 } })).toEqual([]);
    expect(b.nextDueAt()).toBe(10_003);
    expect(types(b.tick(10_003))).toEqual(['alarm.unflapped', 'alarm.cleared']);
    expect(b.get(id)?.state).toBe('cleared');
  });

  it('forgets the reversals of an alarm quiet for a window, so that later changes start counting afresh', () => {
    const b = flappy();
    b.apply(raise(0, 'red'));
    b.apply(clear(1));
    expect(b.flapOf('s/d/r')?.times).toHaveLength(2);
    b.tick(10_000);
    expect(b.flapOf('s/d/r')).toBeDefined();
    b.tick(10_001);
    expect(b.flapOf('s/d/r')).toBeUndefined();
    expect(types(b.apply(raise(10_002, 'red')))).toEqual(['alarm.raised']);
  });

  it('nextDueAt is the earliest of a deadline and the end of flapping', () => {
    let n = 0;
    const b = createAlarmBook({
      newAlarmId: () => `alm_${++n}`,
      flapping: { transitions: 1, windowMs: 10_000 },
      deadlineOf: (_site, raisedAt) => raisedAt + 50_000,
    });
    expect(b.nextDueAt()).toBeNull();
    b.apply(raise(0, 'red'));
    expect(b.nextDueAt()).toBe(50_000);
    b.apply(clear(1));
    expect(b.nextDueAt()).toBe(10_001);

    // a deadline before the end of flapping comes first
    let m = 0;
    const soon = createAlarmBook({
      newAlarmId: () => `alm_${++m}`,
      flapping: { transitions: 1, windowMs: 10_000 },
      deadlineOf: (_site, raisedAt) => raisedAt + 5_000,
    });
    soon.apply(raise(0, 'red'));
    soon.apply(clear(1));
    expect(soon.nextDueAt()).toBe(5_000);
    expect(types(soon.tick(5_000))).toEqual(['alarm.overdue']);
    expect(soon.nextDueAt()).toBe(10_001);
  });

  it('drops the bookkeeping of an alarm resolved while flapping at the next tick', () => {
    const b = book({ flapping: { transitions: 1, windowMs: 10_000 } });
    const id = idOf(b.apply(raise(0, 'red')));
    expect(types(b.apply(clear(1)))).toEqual(['alarm.cleared', 'alarm.flapping']);
    expect(b.resolve(id, 'op', null, 2)).toMatchObject({ ok: true });
    b.tick(3);
    expect(b.flapOf('s/d/r')).toBeUndefined();
  });
});
