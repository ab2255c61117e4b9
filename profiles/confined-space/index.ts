import { z } from 'zod';
import { reportingIntervalAttribute } from '../attributes.js';
import type { Profile } from '../profile.js';
import { confinedSpaceMetrics } from './metrics.js';

/** Alarm set-points here are national standards (GB/T 50493, GBZ 2.1, GB 8958): they are rules, not attributes. */
export const confinedSpaceAttributes = z
  .object({
    /** fixed detector, or a pump-suction portable detector lowered into the space. */
    detector_type: z.enum(['fixed', 'pump']).default('pump'),
    /** Below this %LEL the combustible reading counts as normal (for the dead-O₂-sensor check); entry limit 10 %LEL. */
    lel_normal_max: z.number().positive().max(25).default(10),
    /** Default 60 s (idle heartbeat); during work devices send every 5–10 s. */
    reportingIntervalMs: reportingIntervalAttribute,
  })
  .strict();

export const confinedSpace: Profile = {
  id: 'confined-space',
  name: 'Confined-space gas detection (有限空间作业 气体检测)',
  reportingIntervalMs: 60_000,
  // heartbeat 30–60 s idle; the 5–10 s during work is watched by silent_during_permit (30 s / 2 min)
  cadence: { minMs: 30_000, maxMs: 60_000 },
  metrics: confinedSpaceMetrics,
  attributes: confinedSpaceAttributes,
  rulesFile: 'confined-space/rules.yaml',
};
