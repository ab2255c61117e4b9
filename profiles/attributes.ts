import { z } from 'zod';

/**
 * Device attribute `reportingIntervalMs`: overrides the profile's reporting interval for silence rules
 * (the rule engine reads it under this name). Between 1 s and 24 h.
 */
export const reportingIntervalAttribute = z.number().int().min(1_000).max(86_400_000).optional();
