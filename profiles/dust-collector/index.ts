import { z } from 'zod';
import { reportingIntervalAttribute } from '../attributes.js';
import type { Profile } from '../profile.js';
import { dustCollectorMetrics } from './metrics.js';

/** What a commissioning engineer sets per dust collector; every value has a default from domain/monitors.md. */
export const dustCollectorAttributes = z
  .object({
    /** dry (bag/cartridge) or wet collector. */
    collector_type: z.enum(['dry', 'wet']).default('dry'),
    /** Limiting oxygen concentration of the dust, % vol (inerted systems): orange at LOC − 2, red at LOC. */
    loc_percent: z.number().gt(2).max(21).default(10),
    /** Wet collector design circulation flow, m³/h: yellow below 80 %, red below 10 %. */
    design_flow_m3h: z.number().positive().default(20),
    /** Wet collector low water limit, m. */
    water_level_low_m: z.number().positive().default(0.3),
    /** Design minimum conveying velocity, m/s. */
    min_duct_velocity_ms: z.number().positive().default(18),
    reportingIntervalMs: reportingIntervalAttribute,
  })
  .strict();

export const dustCollector: Profile = {
  id: 'dust-collector',
  name: 'Dust removal system (粉尘涉爆 除尘系统)',
  reportingIntervalMs: 30_000,
  // analog every 10–60 s, digital states at least every 60 s (domain/monitors.md)
  cadence: { minMs: 10_000, maxMs: 60_000 },
  metrics: dustCollectorMetrics,
  attributes: dustCollectorAttributes,
  rulesFile: 'dust-collector/rules.yaml',
};
