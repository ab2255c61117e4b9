import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDeadlineQueue } from './deadline-queue.js';

type Op = { op: 'schedule'; key: string; at: number } | { op: 'cancel'; key: string } | { op: 'pop'; now: number };

describe('deadline queue', () => {
  it('pops exactly what a plain map of deadlines would, earliest first, whatever the order of moves', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('schedule' as const), key, at: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ op: fc.constant('cancel' as const), key }),
      fc.record({ op: fc.constant('pop' as const), now: fc.integer({ min: 0, max: 100 }) }),
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
            const expected = [...model]
              .filter(([, at]) => at <= o.now)
              .sort((x, y) => x[1] - y[1])
              .map(([, at]) => `${at}`);
            const got = q.popDue(o.now);
            expect(got.map((k) => `${model.get(k)}`)).toEqual(expected);
            for (const k of got) model.delete(k);
          }
          expect(q.size).toBe(model.size);
          const next = model.size === 0 ? null : Math.min(...model.values());
          expect(q.nextDueAt()).toBe(next);
        }
      }),
    );
  });
});
