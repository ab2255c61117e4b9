import type { Profile } from '../profile.js';

/** A device value in `unit` converted to the metric's canonical unit, as the gateway does; throws on an unknown unit. */
export function toCanonical(profile: Profile, metric: string, unit: string, value: number): number {
  const spec = profile.metrics[metric];
  if (spec?.type !== 'number') throw new Error(`${profile.id}.${metric} is not a numeric metric`);
  const conversion = spec.units[unit];
  if (!conversion) throw new Error(`${profile.id}.${metric}: unknown unit ${unit}`);
  return conversion(value);
}
