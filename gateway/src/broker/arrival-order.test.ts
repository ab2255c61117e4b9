import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createArrivalOrder } from './arrival-order.js';

describe("a client's PUBLISH decisions, passed on in the order the PUBLISHes came", () => {
  it('whatever order the decisions come in, and each client on its own (property)', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 30 })
          .chain((clients) =>
            fc.tuple(
              fc.constant(clients),
              fc.shuffledSubarray([...clients.keys()], { minLength: clients.length, maxLength: clients.length }),
            ),
          ),
        ([clientOf, decidedIn]) => {
          const order = createArrivalOrder<{ id: number }>();
          const clients = [{ id: 0 }, { id: 1 }, { id: 2 }];
          const passed: number[] = [];
          const inTurn = clientOf.map((client, index) => [client, order.next(clients[client] as { id: number }), index] as const);
          for (const at of decidedIn) {
            const [, pass, index] = inTurn[at] as (typeof inTurn)[number];
            pass(() => passed.push(index));
          }
          expect(passed).toHaveLength(clientOf.length);
          for (const client of [0, 1, 2]) {
            const own = passed.filter((index) => clientOf[index] === client);
            expect(own).toEqual([...own].sort((a, b) => a - b));
          }
        },
      ),
    );
  });

  it('a decision passed on may bring the next PUBLISH of the client, decided at once: it follows in turn', () => {
    const order = createArrivalOrder<object>();
    const client = {};
    const passed: string[] = [];
    const first = order.next(client);
    const second = order.next(client);
    second(() => passed.push('second'));
    first(() => {
      passed.push('first');
      const third = order.next(client);
      third(() => passed.push('third'));
    });
    expect(passed).toEqual(['first', 'second', 'third']);
    // nothing waits any more: the next is passed on at once
    order.next(client)(() => passed.push('fourth'));
    expect(passed).toHaveLength(4);
  });
});
