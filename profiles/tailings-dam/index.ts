import { z } from 'zod';
import { reportingIntervalAttribute } from '../attributes.js';
import type { Profile } from '../profile.js';
import { tailingsDamMetrics } from './metrics.js';

/** GB 51108-2015 / safety regulations: design minimum dry beach length (m) and freeboard (m) by pond class 1…5. */
export const MIN_DRY_BEACH_M = { 1: 150, 2: 100, 3: 70, 4: 50, 5: 40 } as const;
export const MIN_FREEBOARD_M = { 1: 1.5, 2: 1.0, 3: 0.7, 4: 0.5, 5: 0.4 } as const;

/** What the monitoring item of a point needs configured (from the pond's design file). */
const REQUIRED_BY_ITEM: Record<string, readonly string[]> = {
  pond_level: ['production_control_level_m', 'pre_flood_control_level_m', 'max_flood_level_m'],
  dry_beach: ['min_dry_beach_m'],
  freeboard: ['min_freeboard_m'],
  phreatic: ['phreatic_min_depth_m'],
};

/**
 * Design values come from the pond's design file; a point without them has no rule for that metric.
 * `pond_class` fills the dry-beach and freeboard minimums unless they are given explicitly.
 */
export const tailingsDamAttributes = z
  .object({
    /** Pond class (等别) 1…5. */
    pond_class: z.number().int().min(1).max(5).optional(),
    /** The monitoring item this point belongs to (pond_level, dry_beach, freeboard, phreatic, displacement, rainfall, seepage…): points of one item are aggregated. */
    monitoring_item: z.string().min(1).max(64).optional(),
    /** Pond levels (elevation, m) from the design file: normal production control, pre-flood-season control, design maximum flood level. */
    production_control_level_m: z.number().optional(),
    pre_flood_control_level_m: z.number().optional(),
    max_flood_level_m: z.number().optional(),
    /** Design minimum dry beach length, m (default by pond class). */
    min_dry_beach_m: z.number().positive().optional(),
    /** Design minimum freeboard, m (default by pond class). */
    min_freeboard_m: z.number().positive().optional(),
    /** Design minimum depth of the phreatic line at this piezometer, m. */
    phreatic_min_depth_m: z.number().positive().optional(),
    /** Data at least daily (10 min–24 h); default 1 h. */
    reportingIntervalMs: reportingIntervalAttribute,
  })
  .strict()
  .transform((a) => {
    const out = { ...a };
    if (a.pond_class !== undefined) {
      out.min_dry_beach_m ??= MIN_DRY_BEACH_M[a.pond_class as keyof typeof MIN_DRY_BEACH_M];
      out.min_freeboard_m ??= MIN_FREEBOARD_M[a.pond_class as keyof typeof MIN_FREEBOARD_M];
    }
    return out;
  })
  .superRefine((a, ctx) => {
    const { production_control_level_m: production, pre_flood_control_level_m: preFlood, max_flood_level_m: maxFlood } = a;
    if (production !== undefined && preFlood !== undefined && production > preFlood) {
      ctx.addIssue({ code: 'custom', path: ['pre_flood_control_level_m'], message: 'must not be below production_control_level_m' });
    }
    if (preFlood !== undefined && maxFlood !== undefined && preFlood >= maxFlood - 0.5) {
      ctx.addIssue({ code: 'custom', path: ['max_flood_level_m'], message: 'must be more than 0.5 m above pre_flood_control_level_m' });
    }
    for (const key of REQUIRED_BY_ITEM[a.monitoring_item ?? ''] ?? []) {
      if (a[key as keyof typeof a] === undefined) {
        const hint = key === 'min_dry_beach_m' || key === 'min_freeboard_m' ? ' (or pond_class)' : '';
        ctx.addIssue({ code: 'custom', path: [key], message: `required for monitoring item ${a.monitoring_item}${hint}` });
      }
    }
  });

export const tailingsDam: Profile = {
  id: 'tailings-dam',
  name: 'Tailings pond online safety monitoring (尾矿库在线安全监测)',
  reportingIntervalMs: 60 * 60_000,
  // GB 51108-2015: 10 min to 24 h
  cadence: { minMs: 10 * 60_000, maxMs: 24 * 3_600_000 },
  metrics: tailingsDamMetrics,
  attributes: tailingsDamAttributes,
  rulesFile: 'tailings-dam/rules.yaml',
};
