import { describe, expect, it } from 'vitest';
import { type AlarmEvent, createAlarmBook } from '../../../rules/src/index.js';
import { hopperRaise } from '../../../test/support/hopper-alarm.js';
import { createDeviceRegistry } from '../devices/device-registry.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { createAlarmService } from './alarm-service.js';
import { createShelfService, type ShelfActor } from './shelf-service.js';

const MIN = 60_000;
const T0 = Date.parse('2026-12-03T08:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const operator: ShelfActor = { name: 'wang.fang', mayShelveRed: false };
const dispatcher: ShelfActor = { name: 'li.na', mayShelveRed: true };

const raise = hopperRaise;

/** The shelf service on a real alarm book and registry (site-a: dc-01, dc-02; site-b: pump-01); `clock.t` is now. */
function setup(now?: () => number) {
  const clock = { t: T0 };
  let alarmIds = 0;
  let shelfIds = 0;
  const alarms = createAlarmService({
    book: createAlarmBook({ newAlarmId: () => `alm_${++alarmIds}` }),
    now: now ?? (() => clock.t),
    newEventId: () => 'evt',
    metrics: createGatewayMetrics({ processMetrics: false }),
    log: createLogger('silent'),
  });
  const events: AlarmEvent[] = [];
  alarms.onEvent((event) => events.push(event));
  const registry = createDeviceRegistry([
    { id: 'dc-01', site: 'site-a', profile: 'dust-collector', attributes: {} },
    { id: 'dc-02', site: 'site-a', profile: 'dust-collector', attributes: {} },
    { id: 'pump-01', site: 'site-b', profile: 'pump', attributes: {} },
  ]);
  const shelves = createShelfService({
    alarms,
    registry,
    now: now ?? (() => clock.t),
    newShelfId: () => `shf_${++shelfIds}`,
    maxDurationMs: 480 * MIN,
  });
  return { clock, alarms, shelves, events, types: () => events.map((e) => [e.type, e.data.alarm.id]) };
}

describe('shelving one alarm', () => {
  it('shelves it until a time or for some minutes from now, by the actor, and returns the shelf and the alarm as shelved', () => {
    const { alarms, shelves, types } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN), raise('dc-02', 'orange', T0 - MIN)]);
    const first = shelves.shelveAlarm('alm_1', 'sensor being replaced', { until: T0 + 30 * MIN }, operator);
    expect(first).toEqual({
      ok: true,
      shelf: {
        id: 'shf_1',
        scope: 'alarm',
        site: 'site-a',
        device: 'dc-01',
        alarm: 'alm_1',
        reason: 'sensor being replaced',
        by: 'wang.fang',
        from: iso(T0),
        until: iso(T0 + 30 * MIN),
        holdsRed: false,
        createdAt: iso(T0),
        endedAt: null,
        endedBy: null,
      },
      alarm: expect.objectContaining({
        id: 'alm_1',
        shelved: { shelf: 'shf_1', scope: 'alarm', reason: 'sensor being replaced', by: 'wang.fang', until: iso(T0 + 30 * MIN) },
      }),
    });
    const second = shelves.shelveAlarm('alm_2', 'known', { durationMinutes: 45 }, dispatcher);
    expect(second.ok && [second.shelf.until, second.shelf.holdsRed, second.shelf.by]).toEqual([iso(T0 + 45 * MIN), true, 'li.na']);
    expect(types()).toEqual([
      ['alarm.raised', 'alm_1'],
      ['alarm.raised', 'alm_2'],
      ['alarm.shelved', 'alm_1'],
      ['alarm.shelved', 'alm_2'],
    ]);
    expect(shelves.list(false).map((shelf) => shelf.id)).toEqual(['shf_2', 'shf_1']);
  });

  it('the alarm returned is a copy: what the shelf did stays as returned when the alarm moves on', () => {
    const { shelves, alarms } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN)]);
    const outcome = shelves.shelveAlarm('alm_1', 'noisy', { durationMinutes: 10 }, operator);
    expect(outcome.ok && outcome.alarm).not.toBe(alarms.book.get('alm_1'));
    shelves.unshelveAlarm('alm_1', null, operator);
    expect(outcome.ok && outcome.alarm?.shelved?.shelf).toBe('shf_1');
    expect(alarms.book.get('alm_1')?.shelved).toBeFalsy();
  });

  it('a shelf begins now even when a start is asked for: only a window may begin later', () => {
    const { shelves, alarms } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN)]);
    const outcome = shelves.shelveAlarm('alm_1', 'noisy', { from: T0 + 60 * MIN, until: T0 + 30 * MIN }, operator);
    expect(outcome.ok && [outcome.shelf.from, outcome.shelf.until]).toEqual([iso(T0), iso(T0 + 30 * MIN)]);
  });

  it('refuses a window that ends now, in the past, without an end, or beyond handling.shelving.maxDuration', () => {
    const { shelves, alarms, events } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN)]);
    const notFuture = { ok: false, code: 'shelf_window_invalid', message: 'until is not in the future' };
    expect(shelves.shelveAlarm('alm_1', 'r', { until: T0 }, operator)).toEqual(notFuture);
    expect(shelves.shelveAlarm('alm_1', 'r', { until: T0 - MIN }, operator)).toEqual(notFuture);
    expect(shelves.shelveAlarm('alm_1', 'r', {}, operator)).toEqual(notFuture);
    expect(shelves.shelveAlarm('alm_1', 'r', { durationMinutes: 481 }, operator)).toEqual({
      ok: false,
      code: 'shelf_too_long',
      message: 'the window is longer than handling.shelving.maxDuration (480 min)',
    });
    expect(shelves.shelveAlarm('alm_1', 'r', { until: T0 + 480 * MIN + 1 }, operator)).toMatchObject({ code: 'shelf_too_long' });
    expect(events.map((e) => e.type)).toEqual(['alarm.raised']);
    expect(shelves.list(true)).toEqual([]);
    expect(shelves.shelveAlarm('alm_1', 'r', { until: T0 + 1 }, operator).ok).toBe(true);
  });

  it('a window of exactly handling.shelving.maxDuration is allowed', () => {
    const { shelves, alarms } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN)]);
    expect(shelves.shelveAlarm('alm_1', 'r', { durationMinutes: 480 }, operator).ok).toBe(true);
  });

  it("the book's refusals, each with what was asked and why", () => {
    const { shelves, alarms } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN), raise('dc-02', 'red', T0 - MIN)]);
    const times = { durationMinutes: 10 };
    expect(shelves.shelveAlarm('alm_9', 'r', times, operator)).toEqual({
      ok: false,
      code: 'alarm_not_found',
      message: 'cannot shelve alarm alm_9: no such alarm',
    });
    expect(shelves.shelveAlarm('alm_2', 'r', times, operator)).toEqual({
      ok: false,
      code: 'shelve_requires_dispatcher',
      message: 'cannot shelve alarm alm_2: a red (life-safety) alarm is shelved only by a dispatcher',
    });
    const shelved = shelves.shelveAlarm('alm_1', 'r', times, operator);
    const id = shelved.ok ? shelved.shelf.id : '';
    expect(shelves.shelveAlarm('alm_1', 'r', times, operator)).toEqual({
      ok: false,
      code: 'alarm_already_shelved',
      message: 'cannot shelve alarm alm_1: the alarm is already shelved',
    });
    expect(shelves.unshelveAlarm('alm_2', null, dispatcher)).toEqual({
      ok: false,
      code: 'shelf_not_found',
      message: 'cannot unshelve alarm alm_2: no such shelf',
    });
    expect(shelves.unshelveAlarm('alm_9', null, dispatcher)).toEqual({
      ok: false,
      code: 'alarm_not_found',
      message: 'cannot unshelve alarm alm_9: no such alarm',
    });
    alarms.apply([{ ...raise('dc-02', 'red', T0), verdict: { status: 'false' } }]);
    expect(alarms.resolve('alm_2', 'li.na', null).ok).toBe(true);
    expect(shelves.shelveAlarm('alm_2', 'r', times, dispatcher)).toEqual({
      ok: false,
      code: 'alarm_resolved',
      message: 'cannot shelve alarm alm_2: the alarm is resolved',
    });
    expect(shelves.end('shf_7', null, dispatcher)).toEqual({
      ok: false,
      code: 'shelf_not_found',
      message: 'cannot end shf_7: no such shelf',
    });
    expect(shelves.end(id, 'done', dispatcher).ok).toBe(true);
    expect(shelves.end(id, 'done', dispatcher)).toEqual({
      ok: false,
      code: 'shelf_ended',
      message: `cannot end ${id}: the shelf has already ended`,
    });
  });

  it('unshelving delivers alarm.unshelved with the alarm as it is now; the ended shelf records who ended it', () => {
    const { shelves, alarms, types } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN)]);
    shelves.shelveAlarm('alm_1', 'noisy', { durationMinutes: 60 }, operator);
    const outcome = shelves.unshelveAlarm('alm_1', 'fixed', dispatcher);
    expect(outcome.ok && [outcome.shelf.endedAt, outcome.shelf.endedBy, outcome.alarm?.shelved ?? null]).toEqual([iso(T0), 'li.na', null]);
    expect(types().at(-1)).toEqual(['alarm.unshelved', 'alm_1']);
    expect(alarms.book.history('alm_1').at(-1)).toMatchObject({ type: 'alarm.unshelved', by: 'li.na', note: 'fixed' });
    expect(shelves.list(false)).toEqual([]);
    expect(shelves.list(true).map((shelf) => [shelf.id, shelf.endedBy])).toEqual([['shf_1', 'li.na']]);
  });
});

describe('maintenance windows', () => {
  it("a device's window: every alarm of that device is shelved; the shelf names the device and no alarm", () => {
    const { shelves, alarms, types } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN), raise('dc-02', 'yellow', T0 - MIN)]);
    const outcome = shelves.declareWindow({ scope: 'device', device: 'dc-01' }, 'bag change', { durationMinutes: 120 }, operator);
    expect(outcome).toEqual({
      ok: true,
      shelf: {
        id: 'shf_1',
        scope: 'device',
        site: 'site-a',
        device: 'dc-01',
        alarm: null,
        reason: 'bag change',
        by: 'wang.fang',
        from: iso(T0),
        until: iso(T0 + 120 * MIN),
        holdsRed: false,
        createdAt: iso(T0),
        endedAt: null,
        endedBy: null,
      },
      alarm: null,
    });
    expect(types().slice(2)).toEqual([['alarm.shelved', 'alm_1']]);
    expect(shelves.unshelveAlarm('alm_1', null, operator)).toEqual({
      ok: false,
      code: 'alarm_in_maintenance_window',
      message: "cannot unshelve alarm alm_1: the alarm is in a device's or site's maintenance window: end the window",
    });
    const ended = shelves.end('shf_1', 'done early', operator);
    expect(ended.ok && [ended.shelf.endedBy, ended.alarm]).toEqual(['wang.fang', null]);
    // it was delivered as raised before the window: only the window's end goes out
    expect(types().slice(3)).toEqual([['alarm.unshelved', 'alm_1']]);
  });

  it('the site given with a device must be the one the registry has it on', () => {
    const { shelves } = setup();
    const times = { durationMinutes: 60 };
    expect(shelves.declareWindow({ scope: 'device', site: 'site-b', device: 'dc-01' }, 'r', times, operator)).toEqual({
      ok: false,
      code: 'shelf_window_invalid',
      message: 'device dc-01 is on site site-a, not site-b',
    });
    const outcome = shelves.declareWindow({ scope: 'device', site: 'site-a', device: 'dc-01' }, 'r', times, operator);
    expect(outcome.ok && [outcome.shelf.site, outcome.shelf.device]).toEqual(['site-a', 'dc-01']);
  });

  it('refuses a device the registry does not hold, or none', () => {
    const { shelves } = setup();
    const times = { durationMinutes: 60 };
    expect(shelves.declareWindow({ scope: 'device', device: 'dc-09' }, 'r', times, operator)).toEqual({
      ok: false,
      code: 'device_not_found',
      message: 'no device dc-09 in the registry',
    });
    expect(shelves.declareWindow({ scope: 'device', site: 'site-a' }, 'r', times, operator)).toEqual({
      ok: false,
      code: 'device_not_found',
      message: 'no device  in the registry',
    });
  });

  it("a site's window covers every device of the site, not those of another; it names no device", () => {
    const { shelves, alarms, types } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN), raise('dc-02', 'orange', T0 - MIN), raise('pump-01', 'yellow', T0 - MIN, 'site-b')]);
    const outcome = shelves.declareWindow(
      { scope: 'site', site: 'site-a', device: 'dc-01' },
      'shutdown',
      { durationMinutes: 60 },
      dispatcher,
    );
    expect(outcome.ok && [outcome.shelf.scope, outcome.shelf.site, outcome.shelf.device, outcome.shelf.holdsRed]).toEqual([
      'site',
      'site-a',
      null,
      true,
    ]);
    expect(types().slice(3)).toEqual([
      ['alarm.shelved', 'alm_1'],
      ['alarm.shelved', 'alm_2'],
    ]);
    expect(shelves.declareWindow({ scope: 'site', site: 'site-b' }, 'r', { durationMinutes: 60 }, operator).ok).toBe(true);
  });

  it('refuses a site no device of the registry is on, or none', () => {
    const { shelves } = setup();
    const times = { durationMinutes: 60 };
    expect(shelves.declareWindow({ scope: 'site', site: 'site-z' }, 'r', times, operator)).toEqual({
      ok: false,
      code: 'site_not_found',
      message: 'no device of the registry is on site site-z',
    });
    expect(shelves.declareWindow({ scope: 'site' }, 'r', times, operator)).toEqual({
      ok: false,
      code: 'site_not_found',
      message: 'no device of the registry is on site ',
    });
  });

  it('a window may begin later: it shelves nothing until then; one declared from the past counts its length from now', () => {
    const { shelves, alarms, clock, types } = setup();
    alarms.apply([raise('dc-01', 'yellow', T0 - MIN)]);
    const later = shelves.declareWindow({ scope: 'device', device: 'dc-01' }, 'r', { from: T0 + 60 * MIN, durationMinutes: 480 }, operator);
    expect(later.ok && [later.shelf.from, later.shelf.until]).toEqual([iso(T0 + 60 * MIN), iso(T0 + 540 * MIN)]);
    expect(types()).toEqual([['alarm.raised', 'alm_1']]);
    alarms.tick(T0 + 60 * MIN);
    expect(types().at(-1)).toEqual(['alarm.shelved', 'alm_1']);
    clock.t = T0 + 120 * MIN;
    const past = shelves.declareWindow({ scope: 'site', site: 'site-b' }, 'r', { from: T0, until: clock.t + 480 * MIN }, operator);
    expect(past.ok && [past.shelf.from, past.shelf.until]).toEqual([iso(T0), iso(T0 + 600 * MIN)]);
    expect(
      shelves.declareWindow({ scope: 'site', site: 'site-b' }, 'r', { from: T0, until: clock.t + 480 * MIN + 1 }, operator),
    ).toMatchObject({ code: 'shelf_too_long' });
  });

  it('refuses a window that ends when it begins, or before', () => {
    const { shelves } = setup();
    const where = { scope: 'device', device: 'dc-01' } as const;
    const notAfter = { ok: false, code: 'shelf_window_invalid', message: 'until is not after from' };
    expect(shelves.declareWindow(where, 'r', { from: T0 + 60 * MIN, until: T0 + 60 * MIN }, operator)).toEqual(notAfter);
    expect(shelves.declareWindow(where, 'r', { from: T0 + 60 * MIN, until: T0 + 30 * MIN }, operator)).toEqual(notAfter);
    expect(shelves.declareWindow(where, 'r', { from: T0 + 60 * MIN }, operator)).toEqual(notAfter);
    expect(shelves.declareWindow(where, 'r', { from: T0 + 60 * MIN, until: T0 + 60 * MIN + 1 }, operator).ok).toBe(true);
  });

  it('a window that has run out by the time the book takes it is refused by the book', () => {
    let t = T0;
    // the clock moves 10 min between the check and the commit
    const { shelves } = setup(() => {
      t += 10 * MIN;
      return t;
    });
    expect(shelves.declareWindow({ scope: 'device', device: 'dc-01' }, 'r', { durationMinutes: 5 }, operator)).toEqual({
      ok: false,
      code: 'shelf_window_invalid',
      message: 'cannot declare the window: the window must end in the future and after it begins',
    });
  });

  it('get returns a shelf by id, as a copy; undefined for none', () => {
    const { shelves } = setup();
    shelves.declareWindow({ scope: 'device', device: 'dc-01' }, 'r', { durationMinutes: 60 }, operator);
    const shelf = shelves.get('shf_1');
    expect(shelf).toMatchObject({ id: 'shf_1', scope: 'device', device: 'dc-01' });
    if (shelf) shelf.reason = 'changed by a caller';
    expect(shelves.get('shf_1')?.reason).toBe('r');
    expect(shelves.get('shf_2')).toBeUndefined();
  });
});
