/**
 * An RFC 3339 date-time with its offset, as devices send `ts` (contract §2). RFC 3339 §5.6 allows `t` and `z` in
 * lower case.
 */
const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/**
 * The epoch milliseconds of an RFC 3339 time, or NaN when the text is not one. A day the month does not have
 * (2026-11-31, 2026-02-29) is NaN too: `Date.parse` would roll it over into the next month and the reading would be
 * stored on a day the device never meant; so is an hour past 23 (`24:00` would be the next day) or a minute past 59.
 * A leap second (`23:59:60`, RFC 3339 §5.7) is the last millisecond of its minute.
 */
export function rfc3339Ms(text: string): number {
  const match = RFC3339.exec(text);
  if (!match) return Number.NaN;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return Number.NaN;
  const days = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day > days) return Number.NaN;
  if (Number(match[4]) > 23 || Number(match[5]) > 59 || Number(match[6]) > 60) return Number.NaN;
  if (match[6] === '60') {
    // only the last second of a minute ending a UTC day (23:59:60Z, or 07:59:60+08:00) is ever a leap second
    const at = Date.parse(text.toUpperCase().replace(/^(.{17})60(\.\d+)?/, '$159'));
    return (at + 1_000) % 86_400_000 === 0 ? at + 999 : Number.NaN;
  }
  return Date.parse(text.toUpperCase());
}
