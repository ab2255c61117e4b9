import { describe, expect, it } from 'vitest';
import { verdictChange } from '../test-support/verdict-change.js';
import type { AlarmTransition } from './alarm.js';
import { type AlarmBook, createAlarmBook } from './alarm-book.js';
import type { ShelveRequest } from './alarm-shelving.js';
import type { Severity } from './severity.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** The deadline of the day an alarm is raised on: the end of that day (the gateway's is 23:59 in the site's zone). */
const endOfDay = (_site: string, t: number): number => (Math.floor(t / DAY) + 1) * DAY;

const book = (): AlarmBook => {
  let n = 0;
  return createAlarmBook({ newAlarmId: () => `alm_${++n}`, flapping: false, deadlineOf: endOfDay });
};

const change = (at: number, severity: Severity | null) => verdictChange(at, severity, { device: 'd', rule: 'r' });

/** What consumers receive: the transitions not held. */
const delivered = (steps: readonly AlarmTransition[]): string[] => steps.filter((s) => !s.held).map((s) => s.type);

describe('the closed loop of one alarm: acknowledgement, deadline, returns and windows', () => {
  it('acknowledged at orange is not acknowledged at red: an escalation asks again; a de-escalation does not', () => {
    const b = book();
    const [raised] = b.apply(change(0, 'orange'));
    const id = raised?.alarm.id as string;
    expect(b.acknowledge(id, 'wang', 'going', MIN).ok).toBe(true);
    const [escalated] = b.apply(change(2 * MIN, 'red'));
    expect(escalated).toMatchObject({ type: 'alarm.escalated', alarm: { severity: 'red', acknowledged: false, acknowledgedBy: null } });
    expect(b.acknowledge(id, 'li', 'evacuating', 3 * MIN).ok).toBe(true);
    const [down] = b.apply(change(4 * MIN, 'orange'));
    expect(down).toMatchObject({ type: 'alarm.deescalated', alarm: { acknowledged: true, acknowledgedBy: 'li' } });
  });

  it('an alarm that returns after its deadline passed is due the day it returns, and goes overdue again if not handled', () => {
    const b = book();
    const [raised] = b.apply(change(10 * HOUR, 'orange'));
    expect(raised?.alarm.deadline).toBe(new Date(DAY).toISOString());
    b.apply(change(12 * HOUR, null));
    expect(b.tick(DAY).map((t) => t.type)).toEqual(['alarm.overdue']);
    // the next day it returns: pushed again, so due that day, not overdue yet
    const [back] = b.apply(change(DAY + 9 * HOUR, 'orange'));
    expect(back).toMatchObject({ type: 'alarm.raised', alarm: { deadline: new Date(2 * DAY).toISOString(), overdue: false } });
    expect(b.tick(2 * DAY - 1)).toEqual([]);
    expect(b.tick(2 * DAY).map((t) => t.type)).toEqual(['alarm.overdue']);
  });

  it('a return applied before the tick that would have sent its overdue (a restart over the deadline) sends that overdue first', () => {
    const b = book();
    b.apply(change(10 * HOUR, 'orange'));
    b.apply(change(12 * HOUR, null));
    // no tick at the deadline: the next thing the book sees is the return, five minutes after it
    expect(b.apply(change(DAY + 5 * MIN, 'orange')).map((t) => [t.type, t.at])).toEqual([
      ['alarm.overdue', DAY],
      ['alarm.raised', DAY + 5 * MIN],
    ]);
    expect(b.tick(DAY + 6 * MIN)).toEqual([]);
    expect(b.tick(2 * DAY).map((t) => t.type)).toEqual(['alarm.overdue']);
  });

  it('an alarm that returns the same day keeps that day’s deadline', () => {
    const b = book();
    b.apply(change(HOUR, 'orange'));
    b.apply(change(2 * HOUR, null));
    const [back] = b.apply(change(3 * HOUR, 'orange'));
    expect(back?.alarm.deadline).toBe(new Date(DAY).toISOString());
    expect(b.tick(DAY).map((t) => t.type)).toEqual(['alarm.overdue']);
  });

  it('a window that ends at the deadline sends the raise it held, then the overdue — never the overdue alone', () => {
    const b = book();
    const request: ShelveRequest = {
      id: 'shf_1',
      scope: 'device',
      site: 's',
      device: 'd',
      reason: 'plant stopped for the day',
      by: 'disp',
      from: 0,
      until: DAY,
      holdsRed: true,
    };
    expect(b.shelving.shelve(request, 0).ok).toBe(true);
    expect(delivered(b.apply(change(HOUR, 'yellow')))).toEqual([]);
    // the window's end and the deadline fall due in one tick (23:59 both, or the gateway late over both)
    expect(delivered(b.tick(DAY + MIN))).toEqual(['alarm.unshelved', 'alarm.raised', 'alarm.overdue']);
  });
});
