import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDeadlineQueue } from './deadline-queue.js';

type Op = { op: 'schedule'; key: string; at: number } | { op: 'cancel'; key: string } | { op: 'pop'; now: number };

describe('deadline queue', () => {
  it('pops exactly what a plain map of deadlines would, earliest first and keys of one time in key order, whatever the order of moves', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    const op: fc.Arbitrary<Op> = fc.oneof(
      // few times, so that keys are often due together
      fc.record({ op: fc.constant('schedule' as const), key, at: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ op: fc.constant('cancel' as const), key }),
      fc.record({ op: fc.constant('pop' as const), now: fc.integer({ min: 0, max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const q = createDeadlineQueue();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.op === 'schedule') {
            q.schedule(o.key, o.at);
            model.set(o.key, o.at);
          } else if (o.op === 'cancel') {
            q.cancel(o.key);
            model.delete(o.key);
          } else {
            // ties in key order: what was scheduled when must not decide (an engine restored from a snapshot would tick
            // its rules in another order than the engine that never stopped)
            const expected = [...model]
              .filter(([, at]) => at <= o.now)
              .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))
              .map(([k]) => k);
            const got = q.popDue(o.now);
            expect(got).toEqual(expected);
            for (const k of got) model.delete(k);
          }
          expect(q.size).toBe(model.size);
          const next = model.size === 0 ? null : Math.min(...model.values());
          expect(q.nextDueAt()).toBe(next);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('hands out 300 deadlines filed in a scrambled order one by one in time order', () => {
    // A heap that sifts down into the wrong child, or never into the right one, still pops the earliest
    // deadline first but loses the order of the rest: timers would fire late or out of turn.
    const q = createDeadlineQueue();
    const n = 300;
    for (let i = 0; i < n; i++) {
      const at = (i * 7919) % n; // 7919 is prime: every time from 0 to 299 once, scrambled
      q.schedule(`k${at}`, at);
    }
    const popped: string[] = [];
    for (let now = 0; now < n; now++) popped.push(...q.popDue(now));
    expect(popped).toEqual(Array.from({ length: n }, (_, at) => `k${at}`));
    expect(q.size).toBe(0);
  });
});
