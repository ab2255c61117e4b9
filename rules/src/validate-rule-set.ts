import type { CompiledExpr } from './expression/ast.js';
import type { RuleDefinition } from './kinds/registry.js';
import type { RuleSet } from './rule-set.js';

export interface RuleSetCheckDeps {
  /** Metric names of a profile; null when the profile is unknown. */
  metricsOf?(profile: string): readonly string[] | null;
}

const isExpr = (x: unknown): x is CompiledExpr =>
  typeof x === 'object' && x !== null && 'src' in x && 'ast' in x && Array.isArray((x as CompiledExpr).metrics);

function namesIn(value: unknown, out: Set<string>, locals: ReadonlySet<string>): void {
  if (isExpr(value)) {
    for (const name of value.metrics) if (!locals.has(name)) out.add(name);
    return;
  }
  if (Array.isArray(value)) for (const item of value) namesIn(item, out, locals);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) namesIn(item, out, locals);
}

/** The metric (or derived value) names a rule reads. */
export function metricsReadBy(def: RuleDefinition): Set<string> {
  const out = new Set<string>();
  if (def.kind === 'group') return out;
  if ('metric' in def && typeof def.metric === 'string') out.add(def.metric);
  namesIn(def, out, def.kind === 'window' ? new Set(['value']) : new Set());
  return out;
}

/**
 * Load-time checks a schema cannot make alone: names that expressions and rules read exist in the
 * profile (or are derived values of it), and group rules name member rules that exist. Returns problems.
 */
export function validateRuleSet(set: RuleSet, deps: RuleSetCheckDeps = {}): string[] {
  const problems: string[] = [];
  const allRuleIds = new Set<string>();
  for (const defs of set.values()) for (const def of defs) allRuleIds.add(def.id);
  const checkOne = (profile: string, def: RuleDefinition, where: string): void => {
    if (def.kind === 'group') {
      for (const id of def.members.rules) if (!allRuleIds.has(id)) problems.push(`${where}: members.rules: no rule "${id}" in any profile`);
      if (def.while?.profiles && deps.metricsOf) {
        for (const p of def.while.profiles) {
          const known = deps.metricsOf(p);
          if (known === null) problems.push(`${where}: while.profiles: unknown profile "${p}"`);
          else
            for (const name of def.while.condition.metrics)
              if (!known.includes(name)) problems.push(`${where}: while.condition: "${name}" is not a metric of ${p}`);
        }
      }
      return;
    }
    if (!deps.metricsOf) return;
    const known = deps.metricsOf(profile);
    if (known === null) {
      problems.push(`${where}: unknown profile "${profile}"`);
      return;
    }
    const derived = new Set((set.derived?.get(profile) ?? []).map((d) => d.name));
    for (const name of metricsReadBy(def)) {
      if (!known.includes(name) && !derived.has(name))
        problems.push(`${where}: "${name}" is neither a metric nor a derived value of ${profile}`);
    }
  };
  for (const [profile, defs] of set) for (const def of defs) checkOne(profile, def, `${profile}/${def.id}`);
  for (const o of set.overrides ?? []) checkOne(o.profile, o.def, `${o.profile}/${o.rule} (override ${o.site ?? '*'}/${o.device ?? '*'})`);
  if (deps.metricsOf) {
    for (const [profile, list] of set.derived ?? []) {
      const known = deps.metricsOf(profile) ?? [];
      const earlier = new Set<string>();
      for (const d of list) {
        for (const name of d.expression.metrics)
          if (!known.includes(name) && !earlier.has(name)) problems.push(`${profile} derived ${d.name}: unknown name "${name}"`);
        earlier.add(d.name);
      }
    }
  }
  return problems;
}
