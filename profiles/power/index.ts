import { z } from 'zod';
import { reportingIntervalAttribute, utcOffsetAttribute } from '../attributes.js';
import type { Profile } from '../profile.js';
import { powerMetrics } from './metrics.js';

/**
 * A meter's baselines (learned from its history or from the enterprise's declaration) and its role.
 * The site's main meter carries the enterprise's declared status; sub-meters tell production load from
 * safety equipment (dust-collector fan, casting cooling pump).
 */
/** A meter's 15-min average: 96 a day. */
const DEFAULT_INTERVAL_MS = 15 * 60_000;

export const powerAttributes = z
  .object({
    /** What the enterprise declared to the regulator. */
    declared_status: z.enum(['producing', 'stopped', 'rectification']).default('producing'),
    /** main = the site's incoming meter; production = a production-line sub-meter; safety = a safety-equipment sub-meter. */
    meter_role: z.enum(['main', 'production', 'safety']).default('main'),
    /** Load of this meter when idle, kW (default 10 % of production load). */
    p_idle_kw: z.number().min(0).optional(),
    /** Load of this meter in production, kW. */
    p_prod_kw: z.number().positive(),
    /** Contracted capacity, kW (default: no over-capacity rule). */
    contracted_kw: z.number().positive().optional(),
    /** The site's offset from UTC in hours, for night running (22:00–06:00 local); default +8 (China Standard Time). */
    utc_offset_h: utcOffsetAttribute,
    /**
     * 15-min data by default; a meter reporting every 5 min says so here (its silence, and its share of the
     * "8 of the last 96 intervals" of declared_stopped_running, count by it).
     */
    reportingIntervalMs: reportingIntervalAttribute,
    /**
     * The interval one reading stands for when production time is counted (declared_stopped_running); default: its
     * reportingIntervalMs, else 15 min. (A registry validated once carries it: validating it again gives the same.)
     */
    meter_interval_ms: reportingIntervalAttribute,
  })
  .strict()
  .transform((a) => ({
    ...a,
    p_idle_kw: a.p_idle_kw ?? 0.1 * a.p_prod_kw,
    // reportingIntervalMs itself stays absent when not given: silence then learns the meter's cadence
    meter_interval_ms: a.meter_interval_ms ?? a.reportingIntervalMs ?? DEFAULT_INTERVAL_MS,
  }))
  .superRefine((a, ctx) => {
    if (a.p_idle_kw >= a.p_prod_kw) ctx.addIssue({ code: 'custom', path: ['p_idle_kw'], message: 'must be below p_prod_kw' });
    if (a.contracted_kw !== undefined && a.contracted_kw < a.p_prod_kw) {
      ctx.addIssue({ code: 'custom', path: ['contracted_kw'], message: 'must not be below p_prod_kw' });
    }
  });

export const power: Profile = {
  id: 'power',
  name: 'Enterprise electricity monitoring (电力监测：明停暗开、虚假离线)',
  reportingIntervalMs: DEFAULT_INTERVAL_MS,
  // 15-min intervals (96 a day); some meters report every 5 min
  cadence: { minMs: 5 * 60_000, maxMs: 15 * 60_000 },
  metrics: powerMetrics,
  attributes: powerAttributes,
  rulesFile: 'power/rules.yaml',
};
