import { type Profile, unitOf } from '../../../profiles/index.js';
import { type BacktestOptions, createRuleEngine, type MetricValue, type RuleEngine, type RuleSet } from '../../../rules/src/index.js';

/** What the rule engine needs to know of the profiles: canonical units, physical ranges, reporting cadences. */
export function profileKnowledge(
  profiles: ReadonlyMap<string, Profile>,
): Required<Pick<BacktestOptions, 'unitOf' | 'rangeOf' | 'reportingIntervalOf' | 'cadenceOf' | 'attributesOf'>> {
  const specOf = (profile: string, metric: string) => {
    const metrics = profiles.get(profile)?.metrics;
    return metrics && Object.hasOwn(metrics, metric) ? metrics[metric] : undefined;
  };
  return {
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
    // as the registry validates them: the profile's defaults filled in, a wrong one refused with its path
    attributesOf: (profile, given) => {
      const schema = profiles.get(profile)?.attributes;
      if (!schema) return { ...given } as Record<string, MetricValue>;
      const parsed = schema.safeParse(given);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(attributes)'}: ${issue.message}`);
        throw new Error(`attributes of a ${profile} device: ${problems.join('; ')}`);
      }
      return parsed.data as Record<string, MetricValue>;
    },
  };
}

/** The rule engine as the gateway runs it, with the profiles' knowledge. */
export function createProfileRuleEngine(profiles: ReadonlyMap<string, Profile>, rules: RuleSet): RuleEngine {
  return createRuleEngine({ rules, ...profileKnowledge(profiles) });
}
