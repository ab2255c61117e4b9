/**
 * Records of the same thing at most once per window: an integration polling a route its token may not use would
 * otherwise write an audit entry per poll (8,600 a day for one every 10 s, kept for 400 days), drowning the entries
 * people read. `admit(key)` says whether to record now, and how many repeats went unrecorded since the last record.
 */
export interface RepeatThrottle {
  /** null: a repeat within the window, not recorded (counted); else the repeats since the last record of `key`. */
  admit(key: string): number | null;
}

/** Keys remembered at most: past it those whose window has passed are forgotten (their counts were small by then). */
const MAX_KEYS = 10_000;

export function createRepeatThrottle(windowMs: number, now: () => number = Date.now): RepeatThrottle {
  const seen = new Map<string, { at: number; repeats: number }>();
  return {
    admit(key) {
      const at = now();
      const last = seen.get(key);
      if (last && at - last.at < windowMs && at >= last.at) {
        last.repeats += 1;
        return null;
      }
      if (!last && seen.size >= MAX_KEYS) {
        for (const [other, entry] of seen) if (at - entry.at >= windowMs) seen.delete(other);
        // all within their window: the oldest goes
        if (seen.size >= MAX_KEYS) seen.delete(seen.keys().next().value as string);
      }
      seen.delete(key);
      seen.set(key, { at, repeats: 0 });
      return last?.repeats ?? 0;
    },
  };
}
