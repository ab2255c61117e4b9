import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verdictChange } from '../test-support/verdict-change.js';
import type { AlarmTransition } from './alarm.js';
import { type AlarmBook, createAlarmBook } from './alarm-book.js';
import { createShelving, HELD_TYPES, type ShelveRequest } from './alarm-shelving.js';
import type { Severity } from './severity.js';

const MIN = 60_000;
let n = 0;
const book = (deps: { deadlineOf?: (site: string, raisedAt: number) => number } = {}): AlarmBook =>
  createAlarmBook({ newAlarmId: () => `alm_${++n}`, flapping: false, ...deps });

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
    // the red step takes the alarm out of the window, released as at a window's end (it is chased like any red alarm)
    other.shelving.takeChanged();
    const red = other.apply(change(2, 'red'));
    // the window changed (it covers the alarm no more): saved with the step
    expect(other.shelving.takeChanged().map((shelf) => shelf.released)).toEqual([[other.list({})[0]?.id]]);
    expect(red.map((step) => [step.type, step.alarm.seq, step.alarm.severity, step.held ? 'held' : 'out', step.note ?? null])).toEqual([
      ['alarm.escalated', 2, 'red', 'held', null],
      ['alarm.unshelved', 3, 'red', 'out', 'red: this shelf does not hold red alarms'],
      // consumers last saw nothing of it: raised, red
      ['alarm.raised', 4, 'red', 'out', null],
    ]);
    expect(other.list({})[0]?.shelved).toBeNull();
    // the window covers it no more: its later steps go out, also once it is no longer red, and its end says nothing
    expect(delivered(other.apply(change(3, 'orange')))).toEqual(['alarm.deescalated']);
    expect(delivered(other.apply(change(4, null)))).toEqual(['alarm.cleared']);
    expect(other.list({})[0]?.shelved).toBeNull();
    expect(delivered(other.tick(60 * MIN))).toEqual([]);
    expect(other.shelving.list(true)[0]?.released).toEqual([other.list({})[0]?.id]);
  });

  it('the steps after a red one in its batch are held with it, and the release shows them: a red return that begins flapping', () => {
    const b = createAlarmBook({ newAlarmId: () => `alm_${++n}`, flapping: { transitions: 2, windowMs: 10 * MIN } });
    b.shelving.shelve(window({}), 0);
    b.apply(change(1, 'yellow'));
    b.apply(change(2, null));
    const red = b.apply(change(3, 'red'));
    expect(red.map((step) => [step.type, step.alarm.seq, step.held ? 'held' : 'out'])).toEqual([
      ['alarm.raised', 3, 'held'],
      ['alarm.flapping', 4, 'held'],
      ['alarm.unshelved', 5, 'out'],
      ['alarm.raised', 6, 'out'],
    ]);
    expect(red.at(-1)?.alarm).toMatchObject({ severity: 'red', state: 'active', flapping: true, shelved: null });
  });

  it("a red step ends an operator's shelf of that alarm: it shows no more, and a dispatcher may shelve it again", () => {
    const b = book();
    b.apply(change(0, 'yellow'));
    const id = b.list({})[0]?.id as string;
    expect(b.shelving.shelve(window({ id: 'shf_alarm', scope: 'alarm', alarm: id, site: undefined, device: undefined }), 1)).toMatchObject({
      ok: true,
    });
    expect(delivered(b.apply(change(2, 'red')))).toEqual(['alarm.unshelved', 'alarm.escalated']);
    expect(b.shelving.get('shf_alarm')).toMatchObject({ endedAt: new Date(2).toISOString(), endedBy: null });
    expect(b.shelving.list(false)).toEqual([]);
    expect(b.shelving.shelve(window({ scope: 'alarm', alarm: id, site: undefined, device: undefined, holdsRed: true }), 3)).toMatchObject({
      ok: true,
    });
  });

  it('a red step shows what its window held before it: the return of a cleared alarm and a missed deadline', () => {
    const b = book({ deadlineOf: () => 20 * MIN });
    b.apply(change(0, 'orange'));
    const id = b.list({})[0]?.id as string;
    b.acknowledge(id, 'duty', null, 1 * MIN);
    b.shelving.shelve(window({ from: 2 * MIN, until: 60 * MIN }), 2 * MIN);
    expect(delivered([...b.apply(change(5 * MIN, null)), ...b.apply(change(6 * MIN, 'orange')), ...b.tick(20 * MIN)])).toEqual([]);
    const red = b.apply(change(25 * MIN, 'red'));
    expect(delivered(red)).toEqual(['alarm.unshelved', 'alarm.raised', 'alarm.overdue']);
    expect(red.at(-1)?.alarm).toMatchObject({ severity: 'red', acknowledged: false, occurrences: 2, overdue: true, shelved: null });
  });

  it("a red step under an operator's window that a dispatcher's window also covers stays held, under the dispatcher's", () => {
    const b = book();
    b.shelving.shelve(window({ id: 'shf_op' }), 0);
    b.shelving.shelve(window({ id: 'shf_dispatch', scope: 'site', device: undefined, holdsRed: true, by: 'dispatcher' }), 0);
    b.apply(change(1, 'orange'));
    expect(b.list({})[0]?.shelved?.shelf).toBe('shf_op');
    const red = b.apply(change(2, 'red'));
    expect(red.map((step) => [step.type, step.held ?? 'out', step.by])).toEqual([
      ['alarm.escalated', 'shf_op', null],
      ['alarm.shelved', 'out', 'dispatcher'],
    ]);
    expect(b.list({})[0]?.shelved?.shelf).toBe('shf_dispatch');
    expect(delivered(b.apply(change(3, null)))).toEqual([]);
  });

  it('a shelf that ends shows what consumers missed: an overdue deadline, and a clear and return (a new acknowledgement is due)', () => {
    const b = book({ deadlineOf: () => 20 * MIN });
    b.apply(change(0, 'orange'));
    const id = b.list({})[0]?.id as string;
    b.acknowledge(id, 'duty', null, 1 * MIN);
    expect(b.shelving.shelve(window({ from: 2 * MIN, until: 30 * MIN }), 2 * MIN)).toMatchObject({
      ok: true,
      transitions: [{ type: 'alarm.shelved' }],
    });
    expect(delivered([...b.apply(change(5 * MIN, null)), ...b.apply(change(6 * MIN, 'orange'))])).toEqual([]);
    expect(delivered(b.tick(20 * MIN))).toEqual([]);
    const end = b.tick(30 * MIN);
    expect(delivered(end)).toEqual(['alarm.unshelved', 'alarm.raised', 'alarm.overdue']);
    expect(end[1]?.alarm).toMatchObject({ acknowledged: false, occurrences: 2, overdue: true });

    // overdue before its shelf (delivered then): its end does not say it again
    const seen = book({ deadlineOf: () => 1 * MIN });
    seen.apply(change(0, 'orange'));
    expect(delivered(seen.tick(1 * MIN))).toEqual(['alarm.overdue']);
    seen.shelving.shelve(window({ from: 2 * MIN, until: 30 * MIN }), 2 * MIN);
    expect(delivered(seen.tick(30 * MIN))).toEqual(['alarm.unshelved']);
  });

  it('an alarm resolved while a shelf holds it past its deadline: its alarm.overdue goes out first, then the resolve', () => {
    const b = book({ deadlineOf: () => 20 * MIN });
    b.apply(change(0, 'orange'));
    b.apply(change(1 * MIN, null));
    const id = b.list({})[0]?.id as string;
    expect(
      b.shelving.shelve(window({ scope: 'alarm', alarm: id, site: undefined, device: undefined, until: 120 * MIN }), 10 * MIN).ok,
    ).toBe(true);
    expect(delivered(b.tick(20 * MIN))).toEqual([]);
    const result = b.resolve(id, 'op', 'done', 30 * MIN);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const steps = [...(result.before ?? []), result.transition];
    expect(steps.map((s) => [s.type, s.alarm.seq, Boolean(s.held)])).toEqual([
      ['alarm.overdue', 5, false],
      ['alarm.resolved', 6, false],
    ]);
    // one that was delivered overdue before its shelf, or that a resolve refused, says nothing more
    const seen = book({ deadlineOf: () => 1 * MIN });
    seen.apply(change(0, 'orange'));
    const seenId = seen.list({})[0]?.id as string;
    expect(delivered(seen.tick(1 * MIN))).toEqual(['alarm.overdue']);
    seen.shelving.shelve(window({ scope: 'alarm', alarm: seenId, site: undefined, device: undefined, until: 120 * MIN }), 2 * MIN);
    expect(seen.resolve(seenId, 'op', null, 3 * MIN)).toMatchObject({ ok: false, error: { code: 'alarm_still_active' } });
    seen.apply(change(4 * MIN, null));
    expect(seen.resolve(seenId, 'op', null, 5 * MIN)).not.toHaveProperty('before');
    expect(seen.history(seenId).filter((s) => s.type === 'alarm.overdue')).toHaveLength(1);
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

  it('a window ended early holds nothing after its end, nor a change at its end time; one that began and ended between ticks shelves nothing', () => {
    const b = book();
    const early = b.shelving.shelve(window({ until: 60 * MIN }), 0);
    b.shelving.end(early.ok ? early.shelf.id : '', 'op', null, 10 * MIN);
    expect(delivered(b.apply(change(11 * MIN, 'yellow')))).toEqual(['alarm.raised']);

    const atEnd = book();
    atEnd.shelving.shelve(window({ until: 30 * MIN }), 0);
    // the change comes before the clock's tick at the end: the window is already over
    expect(delivered(atEnd.apply(change(30 * MIN, 'yellow')))).toEqual(['alarm.raised']);

    const missed = book();
    missed.apply(change(0, 'yellow'));
    missed.shelving.shelve(window({ from: 5 * MIN, until: 10 * MIN }), 1 * MIN);
    expect(missed.tick(20 * MIN)).toEqual([]);
    expect(missed.list({})[0]?.shelved).toBeUndefined();
  });

  it('at the end the alarm shows the level it went to meanwhile; an alarm cleared before the window shows nothing more', () => {
    const up = book();
    up.apply(change(0, 'yellow'));
    up.shelving.shelve(window({}), 1);
    up.apply(change(2, 'orange'));
    const upEnd = up.tick(60 * MIN);
    expect(delivered(upEnd)).toEqual(['alarm.unshelved', 'alarm.escalated']);
    expect(upEnd[1]?.alarm).toMatchObject({ severity: 'orange', previousSeverity: 'yellow' });

    const down = book();
    down.apply(change(0, 'orange'));
    down.shelving.shelve(window({}), 1);
    down.apply(change(2, 'yellow'));
    const downEnd = down.tick(60 * MIN);
    expect(delivered(downEnd)).toEqual(['alarm.unshelved', 'alarm.deescalated']);
    expect(downEnd[1]?.alarm).toMatchObject({ severity: 'yellow', previousSeverity: 'orange' });

    const quiet = book();
    quiet.apply(change(0, 'yellow'));
    quiet.apply(change(1, null));
    const on = quiet.shelving.shelve(window({}), 2);
    expect(on.ok && on.transitions.map((s) => s.type)).toEqual(['alarm.shelved']);
    expect(delivered(quiet.tick(60 * MIN))).toEqual(['alarm.unshelved']);
  });

  it('the held steps of an alarm raised during a window show the shelf in its history', () => {
    const b = book();
    const on = b.shelving.shelve(window({}), 0);
    b.apply(change(1, 'yellow'));
    const id = b.list({})[0]?.id as string;
    expect(b.history(id)[0]?.alarm.shelved).toMatchObject({ shelf: on.ok ? on.shelf.id : '', scope: 'device' });
  });

  it('overlapping windows: a shelved alarm is not shelved again, and the end of one hands its alarms to the other still on', () => {
    const b = book();
    b.apply(change(0, 'yellow', 'd'));
    b.apply(change(0, 'yellow', 'e'));
    const device = b.shelving.shelve(window({ device: 'd', until: 30 * MIN, by: 'op', reason: 'filter bags' }), 1);
    expect(device.ok && device.transitions.map((s) => s.alarm.device)).toEqual(['d']);
    const site = b.shelving.shelve(window({ scope: 'site', device: undefined, by: 'lead', reason: 'plant shutdown' }), 2);
    expect(site.ok && site.transitions.map((s) => s.alarm.device)).toEqual(['e']);
    const handed = b.shelving.end(device.ok ? device.shelf.id : '', 'op', null, 3);
    expect(handed.ok && handed.transitions.map((s) => [s.type, s.alarm.device, s.by, s.note, s.alarm.shelved?.shelf])).toEqual([
      ['alarm.shelved', 'd', 'lead', 'plant shutdown', site.ok ? site.shelf.id : ''],
    ]);
    expect(delivered(b.apply(change(4, 'orange', 'd')))).toEqual([]);
  });

  it("one alarm's shelf holds only that alarm, a device's window only that device, and the alarm's own shelf before a window", () => {
    const b = book();
    const r1 = b.apply(change(0, 'yellow', 'd', 'r1'))[0]?.alarm.id as string;
    b.apply(change(0, 'yellow', 'd', 'r2'));
    b.shelving.shelve(window({ scope: 'alarm', alarm: r1, site: undefined, device: undefined }), 1);
    expect(delivered(b.apply(change(2, 'orange', 'd', 'r2')))).toEqual(['alarm.escalated']);
    expect(delivered(b.apply(change(2, 'orange', 'd', 'r1')))).toEqual([]);

    const w = book();
    w.shelving.shelve(window({ device: 'd' }), 0);
    expect(delivered(w.apply(change(1, 'yellow', 'e')))).toEqual(['alarm.raised']);

    // a window that begins while the alarm has its own shelf: the alarm's own shelf holds it
    const both = book();
    const id = both.apply(change(0, 'yellow'))[0]?.alarm.id as string;
    both.shelving.shelve(window({ id: 'shf_window', from: 10 * MIN }), 0);
    both.shelving.shelve(window({ id: 'shf_own', scope: 'alarm', alarm: id, site: undefined, device: undefined }), 5 * MIN);
    expect(both.tick(10 * MIN)).toEqual([]);
    expect(both.apply(change(20 * MIN, 'orange')).map((s) => s.held)).toEqual(['shf_own']);
  });

  it('refuses an empty window, a resolved or already shelved alarm, a second end, and unshelving a resolved alarm or one in a window', () => {
    const b = book();
    expect(b.shelving.shelve(window({ from: 50, until: 50 }), 0)).toEqual({ ok: false, error: { code: 'shelf_window_invalid' } });
    const done = b.apply(change(0, 'yellow', 'd', 'done'))[0]?.alarm.id as string;
    b.apply(change(1, null, 'd', 'done'));
    b.resolve(done, 'op', null, 2);
    const alarmScope = { scope: 'alarm' as const, site: undefined, device: undefined };
    expect(b.shelving.shelve(window({ ...alarmScope, alarm: done }), 3)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });

    const id = b.apply(change(0, 'yellow'))[0]?.alarm.id as string;
    const own = b.shelving.shelve(window({ ...alarmScope, alarm: id }), 1);
    expect(b.shelving.shelve(window({ ...alarmScope, alarm: id }), 2)).toEqual({ ok: false, error: { code: 'alarm_already_shelved' } });
    const ownId = own.ok ? own.shelf.id : '';
    expect(b.shelving.end(ownId, 'op', null, 3)).toMatchObject({ ok: true });
    expect(b.shelving.end(ownId, 'op', null, 4)).toEqual({ ok: false, error: { code: 'shelf_ended' } });

    // shelved, cleared and resolved: its shelf ended with it
    const gone = b.apply(change(0, 'yellow', 'd', 'gone'))[0]?.alarm.id as string;
    b.shelving.shelve(window({ ...alarmScope, alarm: gone }), 1);
    b.apply(change(2, null, 'd', 'gone'));
    b.resolve(gone, 'op', null, 3);
    expect(b.shelving.unshelveAlarm(gone, 'op', null, 4)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });

    const inWindow = book();
    inWindow.shelving.shelve(window({}), 0);
    const held = inWindow.apply(change(1, 'yellow'))[0]?.alarm.id as string;
    expect(inWindow.shelving.unshelveAlarm(held, 'op', null, 2)).toEqual({ ok: false, error: { code: 'alarm_in_maintenance_window' } });
  });

  it("the shelf records what it covers and from when: an alarm's shelf from now at the earliest, a window from its own start", () => {
    const b = book();
    const id = b.apply(change(0, 'yellow'))[0]?.alarm.id as string;
    const site = b.shelving.shelve(window({ scope: 'site', device: 'd', alarm: id }), 0);
    expect(site).toMatchObject({ ok: true, shelf: { scope: 'site', site: 's', device: null, alarm: null } });
    const device = b.shelving.shelve(window({ from: 0, alarm: id }), 5 * MIN);
    expect(device).toMatchObject({ ok: true, shelf: { device: 'd', alarm: null, from: new Date(0).toISOString() } });

    const alarmScope = { scope: 'alarm' as const, alarm: id, site: undefined, device: undefined };
    const past = book();
    const pastId = past.apply(change(0, 'yellow'))[0]?.alarm.id as string;
    const fromPast = past.shelving.shelve(window({ ...alarmScope, alarm: pastId, from: 0 }), 5 * MIN);
    expect(fromPast).toMatchObject({ ok: true, shelf: { alarm: pastId, device: 'd', from: new Date(5 * MIN).toISOString() } });
    const later = book();
    const laterId = later.apply(change(0, 'yellow'))[0]?.alarm.id as string;
    const fromLater = later.shelving.shelve(window({ ...alarmScope, alarm: laterId, from: 10 * MIN }), 5 * MIN);
    expect(fromLater).toMatchObject({ ok: true, shelf: { from: new Date(10 * MIN).toISOString() }, transitions: [] });
  });

  it('resolving an alarm ends its own shelf only, keeps the end of a shelf ended before, and a refused resolve ends nothing', () => {
    const b = book();
    const r1 = b.apply(change(0, 'yellow', 'd', 'r1'))[0]?.alarm.id as string;
    const r2 = b.apply(change(0, 'yellow', 'd', 'r2'))[0]?.alarm.id as string;
    const alarmScope = { scope: 'alarm' as const, site: undefined, device: undefined };
    b.shelving.shelve(window({ ...alarmScope, id: 'shf_r1', alarm: r1 }), 1);
    b.shelving.shelve(window({ ...alarmScope, id: 'shf_r2', alarm: r2 }), 1);
    b.shelving.shelve(window({ id: 'shf_e', device: 'e' }), 1);
    b.shelving.unshelveAlarm(r1, 'lead', null, 2);
    b.apply(change(3, null, 'd', 'r1'));
    expect(b.resolve(r1, 'op', null, 4)).toMatchObject({ ok: true });
    expect(b.shelving.get('shf_r1')).toMatchObject({ endedBy: 'lead', endedAt: new Date(2).toISOString() });
    expect(b.resolve(r2, 'op', null, 5)).toEqual({ ok: false, error: { code: 'alarm_still_active' } });
    expect(b.shelving.list(false).map((s) => s.id)).toEqual(['shf_r2', 'shf_e']);
  });

  it('lists the shelves newest first (ties: the larger id first), ended ones on request; get and takeChanged', () => {
    const b = book();
    expect(b.shelving.get('shf_none')).toBeUndefined();
    b.shelving.shelve(window({ id: 'shf_a', until: 10 * MIN }), 0);
    for (const id of ['shf_c', 'shf_e', 'shf_b', 'shf_d']) b.shelving.shelve(window({ id, device: id }), 1 * MIN);
    expect(b.shelving.takeChanged().map((s) => s.id)).toEqual(['shf_a', 'shf_c', 'shf_e', 'shf_b', 'shf_d']);
    expect(b.shelving.takeChanged()).toEqual([]);
    b.shelving.end('shf_a', 'op', 'done', 2 * MIN);
    expect(b.shelving.takeChanged()).toMatchObject([{ id: 'shf_a', endedBy: 'op' }]);
    expect(b.shelving.get('shf_a')).toMatchObject({ id: 'shf_a', endedAt: new Date(2 * MIN).toISOString() });
    expect(b.shelving.list(false).map((s) => s.id)).toEqual(['shf_e', 'shf_d', 'shf_c', 'shf_b']);
    expect(b.shelving.list(true).map((s) => s.id)).toEqual(['shf_e', 'shf_d', 'shf_c', 'shf_b', 'shf_a']);
  });

  it('lists by creation time whatever order the shelves came in', () => {
    const b = book();
    b.shelving.shelve(window({ id: 'shf_m', device: 'm' }), 2 * MIN);
    b.shelving.shelve(window({ id: 'shf_z', device: 'z' }), 1 * MIN);
    b.shelving.shelve(window({ id: 'shf_y', device: 'y' }), 1 * MIN);
    b.shelving.shelve(window({ id: 'shf_a', device: 'a' }), 3 * MIN);
    expect(b.shelving.list(false).map((s) => s.id)).toEqual(['shf_a', 'shf_m', 'shf_z', 'shf_y']);
  });

  it('keeps at most maxEnded ended shelves, the oldest forgotten first', () => {
    const shelving = createShelving({ get: () => undefined, open: () => [], transition: () => expect.unreachable(), history: () => [] });
    const keep = createShelving(
      { get: () => undefined, open: () => [], transition: () => expect.unreachable(), history: () => [] },
      { maxEnded: 1 },
    );
    for (const s of [shelving, keep]) {
      s.shelve(window({ id: 'shf_1' }), 0);
      s.shelve(window({ id: 'shf_2' }), 0);
      s.takeChanged();
      s.end('shf_1', 'op', null, 1);
      s.end('shf_2', 'op', null, 2);
    }
    expect(shelving.list(true).map((s) => s.id)).toEqual(['shf_2', 'shf_1']);
    expect(keep.list(true).map((s) => s.id)).toEqual(['shf_2']);
    expect(keep.takeChanged().map((s) => s.id)).toEqual(['shf_2']);
  });

  it('shelves of sites given up leave, and count no more among the ended kept; adopted ones are kept up to maxEnded', () => {
    const ctx = { get: () => undefined, open: () => [], transition: () => expect.unreachable(), history: () => [] };
    const a = createShelving(ctx, { maxEnded: 2 });
    a.shelve(window({ id: 'shf_s', site: 's' }), 0);
    a.shelve(window({ id: 'shf_t', site: 't' }), 0);
    a.end('shf_s', 'op', null, 1);
    const handedOver = a.snapshot().filter((shelf) => shelf.site === 's');
    a.forgetSites(new Set(['s']));
    expect(a.list(true).map((s) => s.id)).toEqual(['shf_t']);
    // site s comes back with its ended shelf, then t's ends: two ended, both kept (a forgotten shelf counted still
    // among the ended would push the adopted one out)
    a.adopt(handedOver);
    a.end('shf_t', 'op', null, 3);
    expect(
      a
        .list(true)
        .map((s) => s.id)
        .sort(),
    ).toEqual(['shf_s', 'shf_t']);
    // adopted: what is kept of the ended is bounded as if they had ended here
    const b = createShelving(ctx, { maxEnded: 1 });
    b.adopt(a.snapshot());
    expect(b.list(true)).toHaveLength(1);
  });

  it('a restored book wakes for shelves still on only; nextDueAt is the earliest of a deadline and the end of a window', () => {
    const b = book();
    b.shelving.shelve(window({ id: 'shf_x', until: 60 * MIN }), 0);
    b.shelving.end('shf_x', 'op', null, 1);
    const copy = book();
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(copy.nextDueAt()).toBeNull();

    const due = book({ deadlineOf: (_site, raisedAt) => raisedAt + 120 * MIN });
    due.apply(change(0, 'yellow', 'e'));
    due.shelving.shelve(window({ until: 30 * MIN }), 0);
    expect(due.nextDueAt()).toBe(30 * MIN);
  });

  it('an alarm come down from red is shelved only by a dispatcher', () => {
    const b = book();
    const id = b.apply(change(0, 'red'))[0]?.alarm.id as string;
    b.apply(change(1, 'orange'));
    const request = window({ scope: 'alarm', alarm: id, site: undefined, device: undefined });
    expect(b.shelving.shelve(request, 2)).toEqual({ ok: false, error: { code: 'shelve_requires_dispatcher' } });
  });
});
