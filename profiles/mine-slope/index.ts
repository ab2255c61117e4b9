import { z } from 'zod';
import { reportingIntervalAttribute } from '../attributes.js';
import type { Profile } from '../profile.js';
import { mineSlopeMetrics } from './metrics.js';

export const mineSlopeAttributes = z
  .object({
    /** Slope height, m: cumulative horizontal displacement above 6 × 10⁻³ × height is orange. Monitoring is required from 150 m. */
    slope_height_m: z.number().positive().max(2_000).default(150),
    /** Steady-stage (creep) velocity of this point, mm/d: T = displacement ÷ v0 in the improved tangent-angle method. */
    steady_velocity_mm_d: z.number().positive().max(100).default(2),
    /** Below this velocity, mm/d, the tangent angle is not judged (noise at low speed makes steep angles). */
    min_velocity_mm_d: z.number().min(0).max(100).default(1),
    /**
     * The tangent angle is judged only when the velocity exceeds the steady velocity by this much, mm/d: GNSS noise
     * (±3 mm) moves the 36-h slope of 30-min solutions by about ±0.45 mm/d, so steady creep must not read as
     * acceleration (raise it for hourly solutions, whose slope moves ±0.6 mm/d).
     */
    angle_margin_mm_d: z.number().min(0).max(100).default(1.5),
    /** Design groundwater level (elevation, m); no groundwater alarm without it. */
    groundwater_design_level_m: z.number().optional(),
    /** GNSS solutions every 10–60 min; default 10 min. */
    reportingIntervalMs: reportingIntervalAttribute,
  })
  .strict();

export const mineSlope: Profile = {
  id: 'mine-slope',
  name: 'Open-pit slope monitoring (露天矿山边坡监测)',
  reportingIntervalMs: 10 * 60_000,
  // GNSS solutions every 10–60 min, crack and rain gauges 10 min
  cadence: { minMs: 10 * 60_000, maxMs: 60 * 60_000 },
  metrics: mineSlopeMetrics,
  attributes: mineSlopeAttributes,
  rulesFile: 'mine-slope/rules.yaml',
};
