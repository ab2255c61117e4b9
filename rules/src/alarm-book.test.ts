import { describe, expect, it } from 'vitest';
import { verdictChange } from '../test-support/verdict-change.js';
import { type AlarmBook, createAlarmBook } from './alarm-book.js';
import type { Severity } from './severity.js';

let n = 0;
const book = (flapping?: { transitions: number; windowMs: number } | false): AlarmBook =>
  createAlarmBook({ newAlarmId: () => `alm_${++n}`, ...(flapping === undefined ? {} : { flapping }) });

const change = (at: number, severity: Severity | null) => verdictChange(at, severity);

describe('alarm book', () => {
  it('raises, escalates, clears, and acknowledges/resolves with seq counting every transition', () => {
    const b = book(false);
    const raised = b.apply(change(0, 'yellow'));
    expect(raised.map((t) => t.type)).toEqual(['alarm.raised']);
    expect(b.apply(change(1, 'red')).map((t) => t.type)).toEqual(['alarm.escalated']);
    expect(b.apply(change(2, null)).map((t) => t.type)).toEqual(['alarm.cleared']);
    const id = raised[0]?.alarm.id as string;
    expect(b.resolve(id, 'op', 'done', 3)).toMatchObject({ ok: true, transition: { alarm: { seq: 4, resolved: true } } });
  });

  it('puts an alarm that changes more than K times in a window into flapping, holds back the storm, and unflaps when quiet', () => {
    const b = book({ transitions: 3, windowMs: 60_000 });
    const types: string[] = [];
    for (let i = 0; i < 10; i += 1) types.push(...b.apply(change(i * 1000, i % 2 === 0 ? 'yellow' : null)).map((t) => t.type));
    // flapping from the fourth reversal (a clear); the condition's next return raises it, and it stays active: the six
    // transitions after it are held
    expect(types).toEqual(['alarm.raised', 'alarm.cleared', 'alarm.raised', 'alarm.cleared', 'alarm.flapping', 'alarm.raised']);
    expect(b.list({ state: 'all' })[0]?.flapping).toBe(true);
    expect(b.apply(change(11_000, 'red')).map((t) => t.type)).toEqual(['alarm.escalated']);
    expect(b.apply(change(12_000, null))).toEqual([]);
    expect(b.nextDueAt()).toBe(72_000);
    expect(b.tick(71_999)).toEqual([]);
    const end = b.tick(72_000);
    expect(end.map((t) => t.type)).toEqual(['alarm.unflapped', 'alarm.cleared']);
    expect(end.map((t) => t.alarm.seq)).toEqual([8, 9]);
    expect(b.list({ state: 'all' })[0]?.flapping).toBe(false);
  });

  it('keeps flapping state across snapshot and restore', () => {
    const b = book({ transitions: 1, windowMs: 10_000 });
    b.apply(change(0, 'yellow'));
    b.apply(change(1, null));
    const copy = book({ transitions: 1, windowMs: 10_000 });
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(copy.snapshot()).toEqual(b.snapshot());
    expect(copy.nextDueAt()).toBe(10_001);
    expect(copy.apply(change(3, null))).toEqual([]);
    expect(copy.tick(20_000).map((t) => t.type)).toEqual(['alarm.unflapped']);
    expect(copy.list({ state: 'all' })[0]).toMatchObject({ state: 'cleared', flapping: false });
  });
});
