import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIT_PER_CHECK, type Admission, CHECK_EVERY_MS, createAdmission, FLOOR_AFTER_MS } from './admission.js';

const LIMITS = { maxLaneWait: 1_000, maxHold: 10_000 };

/** An admission over a lane whose delay the test sets, on a clock the test moves (with vitest's fake timers). */
function setUp(limits = LIMITS) {
  const lane = { delay: 0 };
  let clock = 0;
  const counts: number[] = [];
  const admission = createAdmission({ laneDelay: () => lane.delay, clock: () => clock, holding: (n) => counts.push(n) }, limits);
  /** Runs the checks due in `ms` of time that passes as it should (the event loop on time). */
  const pass = (ms: number): void => {
    for (let t = 0; t < ms; t += CHECK_EVERY_MS) {
      clock += CHECK_EVERY_MS;
      vi.advanceTimersByTime(CHECK_EVERY_MS);
    }
  };
  /** The event loop was held `ms` before the next check ran. */
  const stall = (ms: number): void => {
    clock += ms + CHECK_EVERY_MS;
    vi.advanceTimersByTime(CHECK_EVERY_MS);
  };
  /** CONNECTs asking now; each answer lands in `answers` under its name. */
  const answers = new Map<string, boolean>();
  const ask = (name: string, gone = () => false): void => admission.admit((admitted) => answers.set(name, admitted), gone);
  /** CONNECTs asking now, in this order; the names of those let in, in the order they were. */
  const askAll = (names: readonly string[]): string[] => {
    const order: string[] = [];
    for (const name of names)
      admission.admit(
        (admitted) => {
          if (admitted) order.push(name);
        },
        () => false,
      );
    return order;
  };
  return { admission, lane, answers, ask, askAll, pass, stall, counts };
}

let running: Admission | undefined;
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  running?.close();
  running = undefined;
  vi.useRealTimers();
});

describe('admission while the telemetry lane is behind', () => {
  it('lets a device in at once while the lane keeps up', () => {
    const t = setUp();
    running = t.admission;
    t.lane.delay = 999;
    t.ask('dc-01');
    expect(t.answers.get('dc-01')).toBe(true);
    expect(t.admission.holding).toBe(0);
    expect(t.counts).toEqual([]);
  });

  it('holds CONNECTs while a publish would wait maxLaneWait or more, and lets them in oldest first as the lane catches up', () => {
    const t = setUp();
    running = t.admission;
    t.lane.delay = 1_000;
    const order = t.askAll(['first', 'second', 'third']);
    // short of the floor's first turn
    t.pass(FLOOR_AFTER_MS - CHECK_EVERY_MS);
    expect(order).toEqual([]);
    expect(t.admission.holding).toBe(3);
    expect(t.counts).toEqual([1, 2, 3]);
    t.lane.delay = 999;
    t.pass(CHECK_EVERY_MS);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(t.admission.holding).toBe(0);
    expect(t.counts.at(-1)).toBe(0);
  });

  it('lets in at most ADMIT_PER_CHECK per check, also when a burst finds the lane idle', () => {
    const t = setUp();
    running = t.admission;
    for (let i = 0; i < ADMIT_PER_CHECK + 10; i += 1) t.ask(`d${i}`);
    expect([...t.answers.values()].filter(Boolean)).toHaveLength(ADMIT_PER_CHECK);
    expect(t.answers.has(`d${ADMIT_PER_CHECK}`)).toBe(false);
    expect(t.admission.holding).toBe(10);
    t.pass(CHECK_EVERY_MS);
    expect([...t.answers.values()].filter(Boolean)).toHaveLength(ADMIT_PER_CHECK + 10);
    expect(t.admission.holding).toBe(0);
  });

  it('lets held CONNECTs in at most ADMIT_PER_CHECK per check, and reports how many still wait', () => {
    const t = setUp();
    running = t.admission;
    t.lane.delay = 5_000;
    for (let i = 0; i < 2 * ADMIT_PER_CHECK + 20; i += 1) t.ask(`d${i}`);
    t.lane.delay = 0;
    const admitted = () => [...t.answers.values()].filter(Boolean).length;
    t.pass(CHECK_EVERY_MS);
    expect(admitted()).toBe(ADMIT_PER_CHECK);
    expect(t.counts.at(-1)).toBe(ADMIT_PER_CHECK + 20);
    t.pass(CHECK_EVERY_MS);
    expect(admitted()).toBe(2 * ADMIT_PER_CHECK);
    expect(t.counts.at(-1)).toBe(20);
    t.pass(CHECK_EVERY_MS);
    expect(admitted()).toBe(2 * ADMIT_PER_CHECK + 20);
    expect(t.counts.at(-1)).toBe(0);
  });

  it('stops letting held CONNECTs in as soon as the lane falls behind again', () => {
    let blocked = true;
    let admitted = 0;
    // each device let in brings 300 ms of work to the lane
    running = createAdmission({ laneDelay: () => (blocked ? 5_000 : admitted * 300), clock: () => 0 }, LIMITS);
    const letIn = (ok: boolean): void => {
      if (ok) admitted += 1;
    };
    for (let i = 0; i < 10; i += 1) running.admit(letIn, () => false);
    expect(running.holding).toBe(10);
    blocked = false;
    vi.advanceTimersByTime(CHECK_EVERY_MS);
    expect(admitted).toBe(4);
    expect(running.holding).toBe(6);
  });

  it('lets the oldest held CONNECT in once nobody was let in for FLOOR_AFTER_MS, however long the lane stays behind', () => {
    const t = setUp({ maxLaneWait: 1_000, maxHold: 60_000 });
    running = t.admission;
    t.lane.delay = 60_000;
    const order = t.askAll(['first', 'second', 'third']);
    t.pass(FLOOR_AFTER_MS - CHECK_EVERY_MS);
    expect(order).toEqual([]);
    t.pass(CHECK_EVERY_MS);
    expect(order).toEqual(['first']);
    t.pass(FLOOR_AFTER_MS - CHECK_EVERY_MS);
    expect(order).toEqual(['first']);
    t.pass(CHECK_EVERY_MS);
    expect(order).toEqual(['first', 'second']);
    t.pass(FLOOR_AFTER_MS);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(t.admission.holding).toBe(0);
  });

  it('does not reach the floor while devices are let in as the lane catches up (a storm)', () => {
    let room = 0;
    let clock = 0;
    const order: number[] = [];
    // the lane has room for one more device now and then (each brings it behind again)
    running = createAdmission({ laneDelay: () => (room-- > 0 ? 0 : 60_000), clock: () => clock }, { maxLaneWait: 1_000, maxHold: 60_000 });
    for (let i = 0; i < 6; i += 1)
      running.admit(
        (ok) => ok && order.push(i),
        () => false,
      );
    for (let round = 0; round < 3; round += 1) {
      for (let t = 0; t < 900; t += CHECK_EVERY_MS) {
        clock += CHECK_EVERY_MS;
        vi.advanceTimersByTime(CHECK_EVERY_MS);
      }
      room = 1;
      clock += CHECK_EVERY_MS;
      vi.advanceTimersByTime(CHECK_EVERY_MS);
    }
    // one let in per round by the lane's room, none by the floor: nobody went a second without being let in
    expect(order).toEqual([0, 1, 2]);
    expect(running.holding).toBe(3);
  });

  it('refuses (false) the CONNECTs held maxHold that the floor did not let in, and goes on with the younger ones', () => {
    const t = setUp({ maxLaneWait: 1_000, maxHold: 2_500 });
    running = t.admission;
    t.lane.delay = 60_000;
    for (let i = 0; i < 5; i += 1) t.ask(`old${i}`);
    t.pass(1_500);
    t.ask('young');
    t.pass(1_000);
    // the floor let the oldest in at 1 s and the next at 2 s; at 2.5 s the other three ran out
    const olds = Array.from({ length: 5 }, (_, i) => t.answers.get(`old${i}`));
    expect(olds).toEqual([true, true, false, false, false]);
    expect(t.answers.has('young')).toBe(false);
    expect(t.admission.holding).toBe(1);
    // the floor's next turn, at 3 s, lets it in before its own maxHold runs out
    t.pass(500);
    expect(t.answers.get('young')).toBe(true);
    expect(t.admission.holding).toBe(0);
  });

  it('answers false to a held CONNECT whose connection has gone, at the next check, without using a place', () => {
    const t = setUp();
    running = t.admission;
    t.lane.delay = 5_000;
    const gone = { a: false };
    t.ask('a', () => gone.a);
    for (let i = 0; i < ADMIT_PER_CHECK; i += 1) t.ask(`d${i}`);
    gone.a = true;
    t.lane.delay = 0;
    t.pass(CHECK_EVERY_MS);
    expect(t.answers.get('a')).toBe(false);
    expect([...t.answers.values()].filter(Boolean)).toHaveLength(ADMIT_PER_CHECK);
    expect(t.admission.holding).toBe(0);
  });

  it('does not count an event loop on time as late, however small maxLaneWait', () => {
    const t = setUp({ maxLaneWait: CHECK_EVERY_MS + 1, maxHold: 10_000 });
    running = t.admission;
    t.pass(10 * CHECK_EVERY_MS);
    t.ask('on-time');
    expect(t.answers.get('on-time')).toBe(true);
  });

  it("holds CONNECTs while the broker's own event loop runs late (an inline lane judging a storm)", () => {
    const t = setUp();
    running = t.admission;
    t.stall(1_500);
    t.ask('late');
    expect(t.answers.has('late')).toBe(false);
    t.pass(CHECK_EVERY_MS);
    expect(t.answers.get('late')).toBe(true);
  });

  it('answers false to every CONNECT still held when the gateway closes, and only to those', () => {
    const t = setUp();
    t.lane.delay = 5_000;
    for (let i = 0; i <= ADMIT_PER_CHECK; i += 1) t.ask(`d${i}`);
    t.ask('gone', () => true);
    t.lane.delay = 0;
    t.pass(CHECK_EVERY_MS);
    // the first ADMIT_PER_CHECK are in; one more and the gone one still wait
    t.admission.close();
    expect([...t.answers.values()].filter(Boolean)).toHaveLength(ADMIT_PER_CHECK);
    expect(t.answers.get(`d${ADMIT_PER_CHECK}`)).toBe(false);
    expect(t.answers.get('gone')).toBe(false);
    expect(t.admission.holding).toBe(0);
  });

  it('refuses at once a CONNECT whose secret check ends after the gateway closed', () => {
    const t = setUp();
    t.admission.close();
    t.ask('late');
    expect(t.answers.get('late')).toBe(false);
    expect(t.admission.holding).toBe(0);
  });
});
