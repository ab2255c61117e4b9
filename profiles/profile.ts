import type { z } from 'zod';
import type { MetricSpec } from './metric-spec.js';

/** A kind of monitored plant: what its devices send and what they need configured. */
export interface Profile {
  id: string;
  name: string;
  /** Typical reporting interval, ms (simulators, documentation; silence rules use `cadence`). */
  reportingIntervalMs: number;
  /**
   * The reporting intervals a device of the profile may use, ms (its steady or idle cadence: faster bursts during
   * a cast or a work permit have silence rules of their own). The rule engine learns each device's cadence within
   * this range (the median of its recent gaps; the slowest until learned) and `device_silent` judges against it; the
   * device attribute `reportingIntervalMs` overrides.
   */
  cadence: { minMs: number; maxMs: number };
  metrics: Readonly<Record<string, MetricSpec>>;
  /** Device attributes (set-points, design values), validated when the registry is loaded. */
  attributes: z.ZodType<Record<string, number | boolean | string>>;
  /** Path of the profile's default rule file, relative to the profiles folder. */
  rulesFile: string;
}
