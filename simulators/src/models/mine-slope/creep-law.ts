import { DAY } from '../../time/duration.js';

/**
 * Three-stage creep velocity (mm/d) at `t`: steady `v0` until `accelerateAt`, then doubling every
 * `doublingMs` (secondary → initial acceleration) until `tertiaryMmPerDay`, then tertiary creep whose inverse
 * velocity falls linearly to failure after `failureAfterMs` (Fukuzono). Capped at `maxMmPerDay` in the last moments
 * before the failure; at the failure the slope slides (`failureTime`), and there is no creep left to measure.
 */
export interface CreepLaw {
  v0: number;
  accelerateAt: number | null;
  doublingMs: number;
  tertiaryMmPerDay: number;
  failureAfterMs: number;
  maxMmPerDay: number;
}

/** When the secondary acceleration reaches the tertiary velocity. */
const tertiaryStart = (law: CreepLaw & { accelerateAt: number }): number =>
  law.accelerateAt + law.doublingMs * Math.log2(law.tertiaryMmPerDay / law.v0);

/** When the slope fails (the inverse velocity reaches zero); null while it creeps steadily. */
export function failureTime(law: CreepLaw): number | null {
  if (law.accelerateAt === null) return null;
  return tertiaryStart({ ...law, accelerateAt: law.accelerateAt }) + law.failureAfterMs;
}

export function creepVelocity(law: CreepLaw, t: number): number {
  if (law.accelerateAt === null || t <= law.accelerateAt) return law.v0;
  const secondary = law.v0 * 2 ** ((t - law.accelerateAt) / law.doublingMs);
  if (secondary < law.tertiaryMmPerDay) return secondary;
  const remaining = 1 - (t - tertiaryStart({ ...law, accelerateAt: law.accelerateAt })) / law.failureAfterMs;
  return remaining <= law.tertiaryMmPerDay / law.maxMmPerDay ? law.maxMmPerDay : law.tertiaryMmPerDay / remaining;
}

export const DEFAULT_CREEP: Omit<CreepLaw, 'accelerateAt'> = {
  v0: 2,
  doublingMs: 2 * DAY,
  tertiaryMmPerDay: 50,
  failureAfterMs: 2 * DAY,
  maxMmPerDay: 2_000,
};
