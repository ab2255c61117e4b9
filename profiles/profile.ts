import type { z } from 'zod';
import type { MetricSpec } from './metric-spec.js';

/** A kind of monitored plant: what its devices send and what they need configured. */
export interface Profile {
  id: string;
  name: string;
  /** Default reporting interval, ms; silence rules derive their timeouts from it. */
  reportingIntervalMs: number;
  metrics: Readonly<Record<string, MetricSpec>>;
  /** Device attributes (set-points, design values), validated when the registry is loaded. */
  attributes: z.ZodType<Record<string, number | boolean | string>>;
  /** Path of the profile's default rule file, relative to the profiles folder. */
  rulesFile: string;
}
