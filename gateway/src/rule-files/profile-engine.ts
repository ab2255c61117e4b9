import { type Profile, unitOf } from '../../../profiles/index.js';
import { createRuleEngine, type RuleEngine, type RuleSet } from '../../../rules/src/index.js';

/** The rule engine with what it needs to know of the profiles: canonical units, physical ranges, reporting cadences. */
export function createProfileRuleEngine(profiles: ReadonlyMap<string, Profile>, rules: RuleSet): RuleEngine {
  const specOf = (profile: string, metric: string) => {
    const metrics = profiles.get(profile)?.metrics;
    return metrics && Object.hasOwn(metrics, metric) ? metrics[metric] : undefined;
  };
  return createRuleEngine({
    rules,
    unitOf: (profile, metric) => {
      const spec = specOf(profile, metric);
      return spec ? unitOf(spec) : null;
    },
    rangeOf: (profile, metric) => {
      const spec = specOf(profile, metric);
      return spec?.type === 'number' ? spec.range : null;
    },
    reportingIntervalOf: (profile) => profiles.get(profile)?.reportingIntervalMs ?? null,
    // each device's cadence is learned within its profile's range; the registry's reportingIntervalMs overrides
    cadenceOf: (profile) => profiles.get(profile)?.cadence ?? null,
  });
}
