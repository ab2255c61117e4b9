import { z } from 'zod';
import type { Profile } from '../profile.js';
import { dustCollectorMetrics } from './metrics.js';

export const dustCollectorAttributes = z
  .object({
    /** dry (bag/cartridge) or wet collector */
    collector_type: z.enum(['dry', 'wet']).default('dry'),
    /** Limiting oxygen concentration of the dust, % vol (inerted systems). */
    loc_percent: z.number().positive().default(10),
    /** Wet collector design circulation flow, m³/h. */
    design_flow_m3h: z.number().positive().default(20),
    /** Wet collector low water limit, m. */
    water_level_low_m: z.number().positive().default(0.3),
    /** Design minimum conveying velocity, m/s. */
    min_duct_velocity_ms: z.number().positive().default(18),
  })
  .strict();

export const dustCollector: Profile = {
  id: 'dust-collector',
  name: 'Dust removal system (粉尘涉爆 除尘系统)',
  reportingIntervalMs: 30_000,
  metrics: dustCollectorMetrics,
  attributes: dustCollectorAttributes,
  rulesFile: 'dust-collector/rules.yaml',
};
