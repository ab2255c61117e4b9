/**
 * A min-heap of (dueAt, key) deadlines with lazy cancellation: scheduling a key again supersedes its
 * earlier entry, and popping costs O(log n) per due entry, so a tick does work in proportion to what
 * is due, not to how many keys are tracked.
 */
export interface DeadlineQueue {
  schedule(key: string, dueAt: number): void;
  cancel(key: string): void;
  /** Removes and returns every key whose deadline is at or before `now`, earliest first. */
  popDue(now: number): string[];
  nextDueAt(): number | null;
  readonly size: number;
}

export function createDeadlineQueue(): DeadlineQueue {
  const times: number[] = [];
  const keys: string[] = [];
  const current = new Map<string, number>();

  const swap = (i: number, j: number): void => {
    const t = times[i] as number;
    times[i] = times[j] as number;
    times[j] = t;
    const k = keys[i] as string;
    keys[i] = keys[j] as string;
    keys[j] = k;
  };
  const up = (start: number): void => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] as number) <= (times[i] as number)) return;
      swap(i, parent);
      i = parent;
    }
  };
  const down = (start: number): void => {
    let i = start;
    const n = times.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && (times[l] as number) < (times[m] as number)) m = l;
      if (r < n && (times[r] as number) < (times[m] as number)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const popTop = (): void => {
    const last = times.length - 1;
    swap(0, last);
    times.pop();
    keys.pop();
    if (times.length > 0) down(0);
  };
  const skipStale = (): void => {
    while (times.length > 0 && current.get(keys[0] as string) !== times[0]) popTop();
  };

  return {
    schedule(key, dueAt) {
      if (current.get(key) === dueAt) return;
      current.set(key, dueAt);
      times.push(dueAt);
      keys.push(key);
      up(times.length - 1);
    },
    cancel(key) {
      current.delete(key);
    },
    popDue(now) {
      const due: string[] = [];
      for (;;) {
        skipStale();
        if (times.length === 0 || (times[0] as number) > now) return due;
        const key = keys[0] as string;
        current.delete(key);
        popTop();
        due.push(key);
      }
    },
    nextDueAt() {
      skipStale();
      return times.length > 0 ? (times[0] as number) : null;
    },
    get size() {
      return current.size;
    },
  };
}
