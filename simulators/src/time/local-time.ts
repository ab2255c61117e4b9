import { DEFAULT_UTC_OFFSET_H, type MetricValue } from '../../../rules/src/index.js';
import { DAY, HOUR } from './duration.js';

/**
 * The site's offset from UTC in hours: the device attribute `utc_offset_h` that the rules' `local_hour` and
 * `weekday` read, with the rule engine's default (+8, China). A model's nights and shifts must fall where the
 * rules look for them.
 */
export function utcOffsetOf(attributes: Readonly<Record<string, MetricValue>>): number {
  const value = attributes.utc_offset_h;
  return typeof value === 'number' ? value : DEFAULT_UTC_OFFSET_H;
}

/** Hours since local midnight (0–24) at `utcOffsetHours` (China: +8). */
export function localHour(t: number, utcOffsetHours: number): number {
  const local = t + utcOffsetHours * HOUR;
  return (((local % DAY) + DAY) % DAY) / HOUR;
}

/** Day of week at the local offset, 0 = Sunday … 6 = Saturday. */
export function localWeekday(t: number, utcOffsetHours: number): number {
  const local = t + utcOffsetHours * HOUR;
  return new Date(local).getUTCDay();
}
