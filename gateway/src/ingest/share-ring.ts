/**
 * A ring bounded in all (`size`) and per source (`perSource`): a value pushed when its source already holds
 * `perSource` values pushes out that source's oldest; otherwise, when the ring is full, the oldest of all. So one
 * source pushing without end only ever replaces its own values. Every step is O(1): the values are a list linked
 * oldest to newest, and each also links to the next newer value of its source.
 */
export interface ShareRing<T> {
  /** Adds `value` as the newest; returns the value it pushed out, if any. */
  push(source: string, value: T): T | undefined;
  newestFirst(): IterableIterator<T>;
  readonly size: number;
}

interface Link<T> {
  readonly value: T;
  readonly source: string;
  older: Link<T> | undefined;
  newer: Link<T> | undefined;
  newerOfSource: Link<T> | undefined;
}

interface Share<T> {
  count: number;
  oldest: Link<T>;
  newest: Link<T>;
}

export function createShareRing<T>(bounds: { size: number; perSource: number }): ShareRing<T> {
  const shares = new Map<string, Share<T>>();
  let oldest: Link<T> | undefined;
  let newest: Link<T> | undefined;
  let size = 0;

  const victimFor = (source: string): Link<T> | undefined => {
    const share = shares.get(source);
    if (share && share.count >= bounds.perSource) return share.oldest;
    return size >= bounds.size ? oldest : undefined;
  };

  /** Unlinks `link`, which is the oldest of its source (the oldest of all is the oldest of its source too). */
  const remove = (link: Link<T>): void => {
    if (link.older) link.older.newer = link.newer;
    else oldest = link.newer;
    if (link.newer) link.newer.older = link.older;
    else newest = link.older;
    const share = shares.get(link.source) as Share<T>;
    if (link.newerOfSource) {
      share.oldest = link.newerOfSource;
      share.count -= 1;
    } else shares.delete(link.source);
    size -= 1;
  };

  return {
    push(source, value) {
      const victim = victimFor(source);
      if (victim) remove(victim);
      const link: Link<T> = { value, source, older: newest, newer: undefined, newerOfSource: undefined };
      if (newest) newest.newer = link;
      else oldest = link;
      newest = link;
      const share = shares.get(source);
      if (share) {
        share.newest.newerOfSource = link;
        share.newest = link;
        share.count += 1;
      } else shares.set(source, { count: 1, oldest: link, newest: link });
      size += 1;
      return victim?.value;
    },
    *newestFirst() {
      for (let link = newest; link; link = link.older) yield link.value;
    },
    get size() {
      return size;
    },
  };
}
