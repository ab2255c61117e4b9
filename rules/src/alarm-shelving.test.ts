import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verdictChange } from '../test-support/verdict-change.js';
import type { AlarmTransition } from './alarm.js';
import { type AlarmBook, createAlarmBook } from './alarm-book.js';
import { HELD_TYPES, type ShelveRequest } from './alarm-shelving.js';
import type { Severity } from './severity.js';

const MIN = 60_000;
let n = 0;
const book = (): AlarmBook => createAlarmBook({ newAlarmId: () => `alm_${++n}`, flapping: false });

const change = (at: number, severity: Severity | null, device = 'd', rule = 'r') => verdictChange(at, severity, { device, rule });

const window = (over: Partial<ShelveRequest>): ShelveRequest => ({
  id: `shf_${++n}`,
  scope: 'device',
  site: 's',
  device: 'd',
  reason: 'filter bags replaced',
  by: 'op',
  from: 0,
  until: 60 * MIN,
  holdsRed: false,
  ...over,
});

/** What consumers receive: the transitions not held. */
const delivered = (steps: readonly AlarmTransition[]): string[] => steps.filter((s) => !s.held).map((s) => s.type);

describe('shelving and maintenance windows', () => {
  it('holds the transitions of a device under maintenance in the history and shows its current state at the end', () => {
    const b = book();
    const shelved = b.shelving.shelve(window({ from: 0, until: 30 * MIN }), 0);
    expect(shelved).toMatchObject({ ok: true, transitions: [] });
    const during = [...b.apply(change(1 * MIN, 'yellow')), ...b.apply(change(2 * MIN, 'orange'))];
    expect(delivered(during)).toEqual([]);
    expect(during.map((s) => s.type)).toEqual(['alarm.raised', 'alarm.escalated']);
    const alarm = b.list({ state: 'all' })[0];
    expect(alarm?.shelved).toMatchObject({ scope: 'device', reason: 'filter bags replaced', by: 'op' });
    expect(b.history(alarm?.id as string).map((s) => s.held)).toEqual([expect.any(String), expect.any(String)]);

    expect(b.nextDueAt()).toBe(30 * MIN);
    const end = b.tick(30 * MIN);
    expect(delivered(end)).toEqual(['alarm.unshelved', 'alarm.raised']);
    expect(end[1]?.alarm).toMatchObject({ state: 'active', severity: 'orange', previousSeverity: null, shelved: null });
    // after the window the alarm's transitions go out again
    expect(delivered(b.apply(change(31 * MIN, null)))).toEqual(['alarm.cleared']);
  });

  it('shelves open alarms at the start of a window, and an alarm that cleared meanwhile shows cleared at its end', () => {
    const b = book();
    b.apply(change(0, 'orange'));
    const result = b.shelving.shelve(window({ from: 5 * MIN, until: 10 * MIN }), 1 * MIN);
    expect(result.ok && result.transitions).toEqual([]);
    expect(b.tick(5 * MIN).map((s) => s.type)).toEqual(['alarm.shelved']);
    expect(delivered(b.apply(change(6 * MIN, null)))).toEqual([]);
    expect(delivered(b.tick(10 * MIN))).toEqual(['alarm.unshelved', 'alarm.cleared']);
  });

  it('an explicit end before the expiry unshelves at once, with who and why; the timer then does nothing', () => {
    const b = book();
    b.apply(change(0, 'yellow'));
    const id = b.list({})[0]?.id as string;
    const on = b.shelving.shelve(window({ scope: 'alarm', alarm: id, site: undefined, device: undefined }), 1 * MIN);
    expect(on.ok && on.transitions.map((s) => [s.type, s.by, s.note])).toEqual([['alarm.shelved', 'op', 'filter bags replaced']]);
    expect(b.shelving.unshelveAlarm(id, 'lead', 'done early', 2 * MIN)).toMatchObject({
      ok: true,
      transitions: [{ type: 'alarm.unshelved', by: 'lead', note: 'done early' }],
    });
    expect(b.tick(60 * MIN)).toEqual([]);
    expect(b.shelving.unshelveAlarm(id, 'lead', null, 61 * MIN)).toEqual({ ok: false, error: { code: 'shelf_not_found' } });
  });

  it('a red alarm is shelved only by a dispatcher; an operator window never holds a red transition', () => {
    const b = book();
    b.apply(change(0, 'red'));
    const id = b.list({})[0]?.id as string;
    const scope = { scope: 'alarm' as const, alarm: id, site: undefined, device: undefined };
    expect(b.shelving.shelve(window(scope), 1)).toEqual({ ok: false, error: { code: 'shelve_requires_dispatcher' } });
    expect(b.shelving.shelve(window({ ...scope, holdsRed: true }), 1)).toMatchObject({ ok: true });

    const other = book();
    other.shelving.shelve(window({}), 0);
    expect(delivered(other.apply(change(1, 'yellow')))).toEqual([]);
    expect(delivered(other.apply(change(2, 'red')))).toEqual(['alarm.escalated']);
  });

  it('refuses windows that end before they begin or in the past, unknown and resolved alarms', () => {
    const b = book();
    expect(b.shelving.shelve(window({ until: 10 }), 10)).toEqual({ ok: false, error: { code: 'shelf_window_invalid' } });
    expect(b.shelving.shelve(window({ from: 50, until: 40 }), 0)).toEqual({ ok: false, error: { code: 'shelf_window_invalid' } });
    expect(b.shelving.shelve(window({ scope: 'alarm', alarm: 'alm_x' }), 0)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    expect(b.shelving.end('shf_none', 'op', null, 0)).toEqual({ ok: false, error: { code: 'shelf_not_found' } });
  });

  it('a site window covers every device of the site and its site rules, and no other site', () => {
    const b = book();
    b.shelving.shelve(window({ scope: 'site', site: 's', device: undefined }), 0);
    expect(delivered(b.apply(change(1, 'yellow', 'd1')))).toEqual([]);
    expect(delivered(b.apply(change(1, 'yellow', '_site', 'faked_offline')))).toEqual([]);
    const elsewhere = { ...change(1, 'yellow'), key: 'other/d/r', site: 'other' };
    expect(delivered(b.apply(elsewhere))).toEqual(['alarm.raised']);
  });

  it('resolving a shelved alarm ends its own shelf, quietly', () => {
    const b = book();
    b.apply(change(0, 'yellow'));
    const id = b.list({})[0]?.id as string;
    b.shelving.shelve(window({ scope: 'alarm', alarm: id, site: undefined, device: undefined }), 1);
    b.apply(change(2, null));
    expect(b.resolve(id, 'op', 'done', 3)).toMatchObject({ ok: true });
    expect(b.shelving.list(false)).toEqual([]);
    expect(b.shelving.list(true)[0]).toMatchObject({ endedAt: new Date(3).toISOString(), endedBy: 'op' });
    expect(b.tick(60 * MIN)).toEqual([]);
  });

  it('survives snapshot and restore: the window is still on and still expires', () => {
    const b = book();
    b.shelving.shelve(window({ until: 20 * MIN }), 0);
    b.apply(change(1 * MIN, 'yellow'));
    const copy = book();
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(delivered(copy.apply(change(2 * MIN, 'orange')))).toEqual([]);
    expect(copy.nextDueAt()).toBe(20 * MIN);
    expect(delivered(copy.tick(20 * MIN))).toEqual(['alarm.unshelved', 'alarm.raised']);
  });

  it('no transition is lost: held + delivered = every transition, and after the window consumers see the current state (property)', () => {
    const step = fc.record({
      dt: fc.integer({ min: 1, max: 5 * MIN }),
      severity: fc.constantFrom<Severity | null>(null, 'blue', 'yellow', 'orange'),
    });
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 30 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (steps, length, start) => {
          const b = book();
          b.shelving.shelve(window({ from: start * MIN, until: (start + length) * MIN }), 0);
          const out: AlarmTransition[] = [];
          let at = 0;
          for (const s of steps) {
            at += s.dt;
            out.push(...b.tick(at), ...b.apply(change(at, s.severity)));
          }
          out.push(...b.tick(at + 61 * MIN + start * MIN));
          const all = b.list({ state: 'all' }).flatMap((a) => b.history(a.id));
          expect(out.length).toBe(all.length);
          // exactly the condition's transitions inside the window are held
          for (const s of out) {
            if (HELD_TYPES.has(s.type)) expect(s.held !== undefined).toBe(s.at >= start * MIN && s.at < (start + length) * MIN);
            else expect(s.held).toBeUndefined();
          }
          // held + delivered = all, and seq has no gaps in the history
          expect(out.filter((s) => s.held).length + out.filter((s) => !s.held).length).toBe(all.length);
          for (const alarm of b.list({ state: 'all' }))
            expect(b.history(alarm.id).map((s) => s.alarm.seq)).toEqual(b.history(alarm.id).map((_, i) => i + 1));
          // the last delivered event shows what the alarm is now
          const alarm = b.list({ state: 'all' })[0];
          if (!alarm) return;
          const lastCondition = out.filter((s) => !s.held && s.type !== 'alarm.shelved' && s.type !== 'alarm.unshelved').at(-1);
          if (lastCondition) {
            expect(lastCondition.alarm.state).toBe(alarm.state);
            if (alarm.state === 'active') expect(lastCondition.alarm.severity).toBe(alarm.severity);
          } else expect(alarm.state).toBe('cleared');
        },
      ),
      { numRuns: 300 },
    );
  });
});
