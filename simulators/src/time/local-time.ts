import { DAY, HOUR } from './duration.js';

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
