import { z } from 'zod';
import { DEFAULT_UTC_OFFSET_H, isUtcOffset } from '../rules/src/index.js';

/**
 * Device attribute `reportingIntervalMs`: overrides the profile's reporting interval for silence rules
 * (the rule engine reads it under this name). Between 1 s and 24 h.
 */
export const reportingIntervalAttribute = z.number().int().min(1_000).max(86_400_000).optional();

/**
 * Device attribute `utc_offset_h`: the site's fixed offset from UTC in hours, for `local_hour` and `weekday`
 * in rules (the rule engine reads it under this name). −12…+14 in quarter hours; default +8 (China Standard Time).
 */
export const utcOffsetAttribute = z
  .number()
  .refine(isUtcOffset, { message: 'a UTC offset in hours: −12 … +14 in steps of 0.25 (China: 8)' })
  .default(DEFAULT_UTC_OFFSET_H);
