import TinyQueue from 'tinyqueue';

/** What the queue needs of a delivery: no attempt before `notBefore` (ms since the epoch; a retry moves it on). */
export interface Schedulable {
  notBefore: number;
}

/**
 * A subscriber's waiting deliveries, in the order they were queued, one line per alarm (its events go out one at a
 * time, in order). Only a line's head can be taken, and only while nothing of that line is out; of the heads that
 * are due, the one queued first goes first. Every step costs O(log n) (a heap of due heads by their place in the
 * queue, a heap of heads waiting for a retry by when), not a scan of the whole queue after every answer: a receiver
 * down for hours with 100,000 events waiting answers each of them without the gateway going quadratic.
 */
export interface DeliveryQueue<T extends Schedulable> {
  readonly size: number;
  /** Puts `item` at the end of its alarm's line. */
  push(item: T): void;
  /** Takes out `item` wherever it is (a taken item stays taken until `release`). */
  remove(item: T): void;
  /**
   * The due head whose line has nothing out — of the lowest rank (`rankOf`; none: all alike), then queued first —
   * now taken, until `release`; or undefined.
   */
  take(now: number): T | undefined;
  /** Ends `item`'s turn: its line's head (itself, if still queued, at its new `notBefore`) can be taken again. */
  release(item: T): void;
  isTaken(item: T): boolean;
  /** When the first head waiting for a retry falls due, or null (after `take(now)`, always later than `now`). */
  nextDueAt(): number | null;
  /** The item queued first that is not taken. */
  oldestWaiting(): T | undefined;
  /** Everything queued, oldest first. */
  items(): IterableIterator<T>;
}

interface Due<T> {
  item: T;
  at: number;
}
interface Ready<T> {
  item: T;
  rank: number;
  place: number;
}

export function createDeliveryQueue<T extends Schedulable>(
  lineOf: (item: T) => string,
  /** Of the heads due, a lower rank goes first (a robot's red alarm before a backlog of yellow ones); ties by place. */
  rankOf: (item: T) => number = () => 0,
): DeliveryQueue<T> {
  /** Every item, oldest first, with its place (the order it was queued in). */
  const places = new Map<T, number>();
  let nextPlace = 0;
  const lines = new Map<string, T[]>();
  const taken = new Set<T>();
  /** Lines with an item out. */
  const busy = new Set<string>();
  // Both heaps may hold entries gone stale (the head taken or removed, its retry moved): checked when they surface.
  const due = new TinyQueue<Due<T>>([], (a, b) => a.at - b.at);
  const ready = new TinyQueue<Ready<T>>([], (a, b) => a.rank - b.rank || a.place - b.place);

  const isHead = (item: T): boolean => {
    const line = lineOf(item);
    return !busy.has(line) && lines.get(line)?.[0] === item;
  };

  /** Offers `line`'s head to `take` (at once, or when its retry falls due). */
  const schedule = (line: string): void => {
    if (busy.has(line)) return;
    const head = lines.get(line)?.[0];
    if (head === undefined) return;
    due.push({ item: head, at: head.notBefore });
  };

  /** Moves the heads due by `now` to the ready heap; drops stale entries on the way. */
  const ripen = (now: number): void => {
    for (let next = due.peek(); next !== undefined && next.at <= now; next = due.peek()) {
      due.pop();
      const { item, at } = next;
      if (isHead(item) && item.notBefore === at) ready.push({ item, rank: rankOf(item), place: places.get(item) as number });
    }
  };

  return {
    get size() {
      return places.size;
    },
    push(item) {
      places.set(item, nextPlace++);
      const line = lineOf(item);
      const queued = lines.get(line);
      if (queued) queued.push(item);
      else {
        lines.set(line, [item]);
        schedule(line);
      }
    },
    remove(item) {
      if (!places.delete(item)) return;
      const line = lineOf(item);
      const queued = lines.get(line) as T[];
      const index = queued.indexOf(item);
      queued.splice(index, 1);
      if (queued.length === 0) lines.delete(line);
      else if (index === 0) schedule(line);
    },
    take(now) {
      ripen(now);
      for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
        const { item } = next;
        if (!isHead(item)) continue; // taken since, or removed
        if (item.notBefore > now) {
          // not due at this `now` (the wall clock stepped back since it ripened): waits for its time again
          due.push({ item, at: item.notBefore });
          continue;
        }
        busy.add(lineOf(item));
        taken.add(item);
        return item;
      }
      return undefined;
    },
    release(item) {
      if (!taken.delete(item)) return;
      const line = lineOf(item);
      busy.delete(line);
      schedule(line);
    },
    isTaken: (item) => taken.has(item),
    nextDueAt() {
      for (let next = due.peek(); next !== undefined; next = due.peek()) {
        if (isHead(next.item) && next.item.notBefore === next.at) return next.at;
        due.pop();
      }
      return null;
    },
    oldestWaiting() {
      // Skips at most the items out (one a line, `concurrency` in all).
      for (const item of places.keys()) if (!taken.has(item)) return item;
      return undefined;
    },
    items: () => places.keys(),
  };
}
