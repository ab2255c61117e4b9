import { z } from 'zod';
import { reportingIntervalAttribute } from '../attributes.js';
import type { Profile } from '../profile.js';
import { deepWellCastingMetrics } from './metrics.js';

/** Set-points come from the caster's recipe and design documents; the defaults are the reference's examples. */
export const deepWellCastingAttributes = z
  .object({
    /** Cooling-water inlet pressure set-point, MPa: yellow below 85 %, red below 70 %. */
    cooling_pressure_setpoint_mpa: z.number().positive().max(2).default(0.2),
    /** Cooling-water inlet flow set-point, m³/h: yellow below 85 %, red below 70 %. */
    cooling_flow_setpoint_m3h: z.number().positive().max(3_000).default(300),
    /** Launder metal level set-point, mm. */
    launder_level_setpoint_mm: z.number().positive().max(500).default(120),
    /** Mould-inlet metal level set-point, mm. */
    mould_inlet_level_setpoint_mm: z.number().positive().max(500).default(100),
    /** Largest tolerated |level − set-point|, mm, before red. */
    level_tolerance_mm: z.number().positive().max(200).default(25),
    /** Largest tolerated rate of level change, mm/s, before red. */
    level_rate_limit_mm_s: z.number().positive().max(100).default(10),
    /** Interlock rules arm once the cast is this long, mm (practice: 300–500 mm). */
    arm_length_mm: z.number().min(0).max(1_000).default(300),
    /** Pit water closer to the mould than this, m, is yellow. */
    pit_water_limit_m: z.number().positive().max(20).default(1.0),
    /** The casting line (machine) this device monitors: the permissive is judged per line. */
    casting_line: z.string().min(1).max(64).default('line-1'),
    reportingIntervalMs: reportingIntervalAttribute,
  })
  .strict();

export const deepWellCasting: Profile = {
  id: 'deep-well-casting',
  name: 'Aluminium deep-well casting (铝加工 深井铸造)',
  /** Idle reporting; during a cast devices send at ≥ 1 Hz in batches of 1–5 s. */
  reportingIntervalMs: 30_000,
  // idle 30–60 s; ≥ 1 Hz during a cast is watched by silent_during_cast and the *_stale rules' own ladders
  cadence: { minMs: 30_000, maxMs: 60_000 },
  metrics: deepWellCastingMetrics,
  attributes: deepWellCastingAttributes,
  rulesFile: 'deep-well-casting/rules.yaml',
};
