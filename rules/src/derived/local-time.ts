/**
 * Local time of day for expressions (`local_hour`, `weekday`), computed purely from the evaluation time and
 * a fixed UTC offset — no time-zone database, no `Date.now()`. Chinese sites have one offset all year
 * (China Standard Time, UTC+8, no daylight saving), which is the default.
 */

/** Device attribute holding the UTC offset in hours (`8`, `5.5`, `-3`). */
export const UTC_OFFSET_ATTRIBUTE = 'utc_offset_h';

/** China Standard Time. */
export const DEFAULT_UTC_OFFSET_H = 8;

/** Names an expression may use for the local time; they are not metrics. */
export const CLOCK_NAMES = ['local_hour', 'weekday'] as const;
export type ClockName = (typeof CLOCK_NAMES)[number];

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A valid UTC offset: −12 h … +14 h in quarter hours (every offset in use). */
export function isUtcOffset(hours: unknown): hours is number {
  return typeof hours === 'number' && Number.isFinite(hours) && hours >= -12 && hours <= 14 && Number.isInteger(hours * 4);
}

/** The device's UTC offset: its attribute when valid, the default when absent, null when invalid (time unknown). */
export function utcOffsetOf(attribute: unknown): number | null {
  if (attribute === undefined) return DEFAULT_UTC_OFFSET_H;
  return isUtcOffset(attribute) ? attribute : null;
}

/**
 * `local_hour`: hours since local midnight, 0 ≤ h < 24 (22:30 is 22.5);
 * `weekday`: ISO day of the week, 1 Monday … 7 Sunday.
 */
export function localClock(name: ClockName, epochMs: number, offsetH: number): number {
  const local = epochMs + offsetH * HOUR;
  const msOfDay = ((local % DAY) + DAY) % DAY;
  if (name === 'local_hour') return msOfDay / HOUR;
  const days = Math.floor(local / DAY); // 1970-01-01 was a Thursday (4)
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

/** The next local hour boundary after `epochMs` (where `local_hour` reaches a whole hour; midnight turns `weekday`). */
export function nextLocalHour(epochMs: number, offsetH: number): number {
  const local = epochMs + offsetH * HOUR;
  return epochMs + HOUR - (((local % HOUR) + HOUR) % HOUR);
}
