/**
 * A min-heap of (dueAt, key) deadlines with lazy cancellation: scheduling a key again supersedes its
 * earlier entry, and popping costs O(log n) per due entry, so a tick does work in proportion to what
 * is due, not to how many keys are tracked. A deadline that moves later (a silence timer re-armed by
 * every reading) costs no heap work: the key's earlier entry moves on when it surfaces. Keys due at the
 * same time come out in key order: the heap's history (what was scheduled when) never decides, so an
 * engine restored from a snapshot ticks in the order of the engine that never stopped.
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
  /** Each key's deadline. */
  const wanted = new Map<string, number>();
  /** The time of each key's live heap entry, at or before its deadline; an entry with another time is stale. */
  const queued = new Map<string, number>();

  const swap = (i: number, j: number): void => {
    const t = times[i] as number;
    times[i] = times[j] as number;
    times[j] = t;
    const k = keys[i] as string;
    keys[i] = keys[j] as string;
    keys[j] = k;
  };
  /** Entry `i` comes before entry `j`: earlier, or as early with a smaller key. */
  const before = (i: number, j: number): boolean => {
    const ti = times[i] as number;
    const tj = times[j] as number;
    return ti < tj || (ti === tj && (keys[i] as string) < (keys[j] as string));
  };
  const up = (start: number): void => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(i, parent)) return;
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
      if (l < n && before(l, m)) m = l;
      if (r < n && before(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const push = (key: string, dueAt: number): void => {
    queued.set(key, dueAt);
    times.push(dueAt);
    keys.push(key);
    up(times.length - 1);
  };
  const popTop = (): void => {
    const last = times.length - 1;
    swap(0, last);
    times.pop();
    keys.pop();
    if (times.length > 0) down(0);
  };
  /** Makes the top entry exact: drops stale and cancelled entries, moves on keys whose deadline moved later. */
  const settle = (): void => {
    while (times.length > 0) {
      const key = keys[0] as string;
      const t = times[0] as number;
      if (queued.get(key) !== t) {
        popTop();
        continue;
      }
      const deadline = wanted.get(key);
      if (deadline === t) return;
      popTop();
      if (deadline === undefined) queued.delete(key);
      else push(key, deadline);
    }
  };

  return {
    schedule(key, dueAt) {
      if (wanted.get(key) === dueAt) return;
      wanted.set(key, dueAt);
      const entry = queued.get(key);
      if (entry !== undefined && entry <= dueAt) return;
      push(key, dueAt);
    },
    cancel(key) {
      wanted.delete(key);
    },
    popDue(now) {
      const due: string[] = [];
      for (;;) {
        settle();
        if (times.length === 0 || (times[0] as number) > now) return due;
        const key = keys[0] as string;
        popTop();
        queued.delete(key);
        wanted.delete(key);
        due.push(key);
      }
    },
    nextDueAt() {
      settle();
      return times.length > 0 ? (times[0] as number) : null;
    },
    get size() {
      return wanted.size;
    },
  };
}
