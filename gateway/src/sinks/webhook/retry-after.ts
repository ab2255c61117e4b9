/**
 * The longest a `Retry-After` is honoured: a receiver answering 429 with a day (or a year) would otherwise hold an
 * alarm's events — which go out in `seq` order — past the day they must be handled in.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The three forms RFC 9110 §5.6.7 has a recipient accept: IMF-fixdate, the obsolete RFC 850 and asctime forms. Anything
 * else is unreadable: V8's `Date.parse` alone takes "in 3" for a day in 2001.
 */
const HTTP_DATE = [
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/,
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d\d \d\d:\d\d:\d\d GMT$/,
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}$/,
];

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date, at most MAX_RETRY_AFTER_MS; null when absent
 * or unreadable (the backoff alone then applies).
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Number(trimmed) * 1_000);
  if (!HTTP_DATE.some((form) => form.test(trimmed))) return null;
  // asctime has no zone: it is GMT all the same
  const date = Date.parse(/GMT$/.test(trimmed) ? trimmed : `${trimmed} GMT`);
  return Number.isNaN(date) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}
