import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDeliveryQueue } from './delivery-queue.js';

interface Item {
  name: string;
  line: string;
  notBefore: number;
  /** Its severity's rank (red 1 … blue 4), for a queue that takes the most severe first; absent: 0. */
  rank?: number;
}

/**
 * The plain reading (the subscriber's dispatch before the queue): scan everything in queued order; a line's first item
 * is its head; take the first head of the lowest rank whose line has nothing out and whose retry is due.
 */
function plainQueue() {
  const items: Item[] = [];
  const taken = new Set<Item>();
  const busy = new Set<string>();
  const heads = (): Item[] => {
    const seen = new Set<string>();
    const out: Item[] = [];
    for (const item of items) {
      if (seen.has(item.line)) continue;
      seen.add(item.line);
      if (!busy.has(item.line)) out.push(item);
    }
    return out;
  };
  return {
    items,
    taken,
    push: (item: Item) => items.push(item),
    remove(item: Item) {
      const index = items.indexOf(item);
      if (index >= 0) items.splice(index, 1);
    },
    take(now: number): Item | undefined {
      const due = heads().filter((head) => head.notBefore <= now);
      const lowest = Math.min(...due.map((head) => head.rank ?? 0));
      const item = due.find((head) => (head.rank ?? 0) === lowest);
      if (item) {
        busy.add(item.line);
        taken.add(item);
      }
      return item;
    },
    release(item: Item) {
      taken.delete(item);
      busy.delete(item.line);
    },
    nextDueAt(): number | null {
      const waiting = heads().map((head) => head.notBefore);
      return waiting.length === 0 ? null : Math.min(...waiting);
    },
    oldestWaiting: () => items.find((item) => !taken.has(item)),
  };
}

type Step =
  | { kind: 'push'; line: number; delay: number; rank: number }
  /** Takes what is due, at most `room` (the subscriber's concurrency left). */
  | { kind: 'take'; advance: number; room: number }
  /** Ends the turn of the `pick`-th taken item: delivered or dead-lettered (gone), or retried `delay` from now. */
  | { kind: 'answer'; pick: number; retry: boolean; delay: number }
  /** Dead-letters the oldest waiting (a full queue), or the `pick`-th waiting (a disabled subscriber). */
  | { kind: 'drop'; pick: number; oldest: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('push' as const),
    line: fc.nat(4),
    delay: fc.oneof(fc.constant(0), fc.nat(30)),
    rank: fc.integer({ min: 1, max: 4 }),
  }),
  // the clock mostly goes on, now and then steps back (the wall clock set back by NTP)
  fc.record({
    kind: fc.constant('take' as const),
    advance: fc.oneof(fc.constant(0), fc.nat(20), fc.integer({ min: -40, max: -1 })),
    room: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ kind: fc.constant('answer' as const), pick: fc.nat(), retry: fc.boolean(), delay: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat(), oldest: fc.boolean() }),
);

describe('the delivery queue', () => {
  it('takes, holds and orders exactly as a scan of the whole queue would, after any steps (in queued order, or the most severe first)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 200 }), fc.boolean(), (steps, ranked) => {
        const queue = ranked
          ? createDeliveryQueue<Item>(
              (item) => item.line,
              (item) => item.rank ?? 0,
            )
          : createDeliveryQueue<Item>((item) => item.line);
        const plain = plainQueue();
        let now = 0;
        let named = 0;
        for (const s of steps) {
          if (s.kind === 'push') {
            const item = { name: `e${named++}`, line: `alarm-${s.line}`, notBefore: now + s.delay, ...(ranked ? { rank: s.rank } : {}) };
            queue.push(item);
            plain.push(item);
          } else if (s.kind === 'take') {
            now += s.advance;
            // The subscriber takes until nothing is due or it has no room, and then, with room left, asks when to look
            // again.
            let room = s.room;
            for (; room > 0; room -= 1) {
              const item = queue.take(now);
              expect(item?.name).toBe(plain.take(now)?.name);
              if (!item) break;
            }
            if (room === 0) continue;
            const at = queue.nextDueAt();
            expect(at).toBe(plain.nextDueAt());
            if (at !== null) expect(at).toBeGreaterThan(now);
          } else if (s.kind === 'answer') {
            const out = [...plain.taken];
            const item = out[s.pick % Math.max(1, out.length)];
            if (!item) continue;
            if (s.retry) item.notBefore = now + s.delay;
            else {
              queue.remove(item);
              plain.remove(item);
            }
            queue.release(item);
            plain.release(item);
          } else {
            const waiting = plain.items.filter((item) => !plain.taken.has(item));
            const item = s.oldest ? plain.oldestWaiting() : waiting[s.pick % Math.max(1, waiting.length)];
            expect(queue.oldestWaiting()?.name).toBe(plain.oldestWaiting()?.name);
            if (!item) continue;
            queue.remove(item);
            plain.remove(item);
          }
          expect(queue.size).toBe(plain.items.length);
          expect([...queue.items()].map((item) => item.name)).toEqual(plain.items.map((item) => item.name));
          for (const item of plain.items) expect(queue.isTaken(item)).toBe(plain.taken.has(item));
        }
      }),
    );
  });

  it('takes the next event of an alarm only once the one before it is answered, even when it is due', () => {
    const queue = createDeliveryQueue<Item>((item) => item.line);
    const raised = { name: 'raised', line: 'a1', notBefore: 0 };
    const cleared = { name: 'cleared', line: 'a1', notBefore: 0 };
    const other = { name: 'other', line: 'a2', notBefore: 0 };
    for (const item of [raised, cleared, other]) queue.push(item);
    expect(queue.take(0)).toBe(raised);
    expect(queue.take(0)).toBe(other);
    expect(queue.take(0)).toBeUndefined();
    raised.notBefore = 500; // failed: retried in 500 ms, and the clear still waits behind it
    queue.release(raised);
    expect(queue.take(499)).toBeUndefined();
    expect(queue.nextDueAt()).toBe(500);
    expect(queue.take(500)).toBe(raised);
  });

  it('a head left ready when the wall clock steps back is taken once its time comes again', () => {
    const queue = createDeliveryQueue<Item>((item) => item.line);
    const a = { name: 'a', line: 'a1', notBefore: 100 };
    const b = { name: 'b', line: 'b1', notBefore: 110 };
    queue.push(a);
    queue.push(b);
    expect(queue.take(200)).toBe(a); // the subscriber is full now: b stays ready
    expect(queue.take(50)).toBeUndefined(); // the clock set back: b is not due at 50
    expect(queue.nextDueAt()).toBe(110);
    expect(queue.take(110)).toBe(b);
  });

  it('a retry round of 100,000 waiting events looks at each a few times, not at the whole queue for each', () => {
    let looks = 0;
    const queue = createDeliveryQueue<Item>((item) => {
      looks += 1;
      return item.line;
    });
    const count = 100_000;
    for (let i = 0; i < count; i++) queue.push({ name: `e${i}`, line: `alarm-${i}`, notBefore: 0 });
    let taken = 0;
    for (let item = queue.take(0); item; item = queue.take(0)) {
      item.notBefore = 60_000; // failed, retried in a minute
      queue.release(item);
      taken += 1;
    }
    expect(taken).toBe(count);
    expect(queue.take(59_999)).toBeUndefined();
    expect(queue.nextDueAt()).toBe(60_000);
    expect(queue.take(60_000)?.name).toBe('e0');
    expect(looks).toBeLessThan(10 * count);
  });
});
