import type { CompiledExpr } from './expression/ast.js';
import { RULE_REF_PREFIX } from './expression/parse-expression.js';
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

/** The metric (or derived value) names a rule reads, without `rule.<id>` references. */
export function metricsReadBy(def: RuleDefinition): Set<string> {
  const out = new Set<string>();
  if (def.kind === 'group') return out;
  if ('metric' in def && typeof def.metric === 'string') out.add(def.metric);
  namesIn(def, out, def.kind === 'window' ? new Set(['value']) : new Set());
  for (const name of out) if (name.startsWith(RULE_REF_PREFIX)) out.delete(name);
  return out;
}

/** Ids of the other rules of the device whose verdicts a rule reads (`rule.<id>` in its expressions). */
export function ruleRefsOf(def: RuleDefinition): string[] {
  if (def.kind === 'group') return [];
  const names = new Set<string>();
  namesIn(def, names, new Set());
  return [...names].filter((n) => n.startsWith(RULE_REF_PREFIX)).map((n) => n.slice(RULE_REF_PREFIX.length));
}

/**
 * Rule ids in an order where every rule comes after the rules it reads; null when they read each other in a circle (a
 * rule reading its own verdict is no circle).
 */
export function dependencyOrder(defs: readonly RuleDefinition[]): RuleDefinition[] | null {
  const byId = new Map(defs.map((d) => [d.id, d]));
  const out: RuleDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (def: RuleDefinition): boolean => {
    const seen = state.get(def.id);
    if (seen === 'done') return true;
    if (seen === 'visiting') return false;
    state.set(def.id, 'visiting');
    for (const id of ruleRefsOf(def)) {
      // its own verdict is the one it had before this reading: read, not waited for
      if (id === def.id) continue;
      const dep = byId.get(id);
      if (dep && !visit(dep)) return false;
    }
    state.set(def.id, 'done');
    out.push(def);
    return true;
  };
  for (const def of defs) if (!visit(def)) return null;
  return out;
}

/** Kinds whose clear is worded by `clear_message`, and those whose clear says when their `when` guard ended. */
const CLEAR_WORDED = new Set(['threshold', 'rate', 'window', 'expression', 'silence']);
const GUARD_WORDED = new Set(['threshold', 'rate', 'window', 'expression']);

/** Words a rule gives that its kind would never say: a problem of the file, not a text silently left unused. */
function wordsProblems(def: RuleDefinition): string[] {
  const problems: string[] = [];
  if ((def.clear_message !== undefined || def.clear_message_zh !== undefined) && !CLEAR_WORDED.has(def.kind)) {
    problems.push(`clear_message: the ${def.kind} kind's clear does not use it`);
  }
  if (def.when_name !== undefined || def.when_name_zh !== undefined) {
    if (!GUARD_WORDED.has(def.kind)) problems.push(`when_name: the ${def.kind} kind's clear does not use it`);
    else if (!('when' in def) || def.when === undefined) problems.push('when_name: names a when guard the rule does not have');
  }
  return problems;
}

/** Whether a group of any profile counts this rule of `profile` among its members. */
const isGroupMember = (set: RuleSet, profile: string, id: string): boolean =>
  [...set.values()].some((defs) =>
    defs.some((d) => d.kind === 'group' && d.members.rules.includes(id) && (d.members.profiles?.includes(profile) ?? true)),
  );

/** What is wrong with a rule that raises no alarm (`alarm: false`): it must be read, and cannot inhibit or latch. */
function withoutAlarmProblems(set: RuleSet, profile: string, def: RuleDefinition): string[] {
  const problems: string[] = [];
  if (def.inhibits) problems.push('alarm: false: a rule without an alarm inhibits nothing; drop inhibits');
  if ('latch' in def && def.latch !== undefined) problems.push('alarm: false: a rule without an alarm has nothing to latch; drop latch');
  const readByRule = (set.get(profile) ?? []).some((d) => d.id !== def.id && ruleRefsOf(d).includes(def.id));
  if (!readByRule && !isGroupMember(set, profile, def.id)) {
    problems.push(`alarm: false: no group rule's members and no rule.${def.id} of ${profile} read it, so it does nothing`);
  }
  return problems;
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
    for (const problem of wordsProblems(def)) problems.push(`${where}: ${problem}`);
    if (def.alarm === false) for (const problem of withoutAlarmProblems(set, profile, def)) problems.push(`${where}: ${problem}`);
    if (def.inhibits) {
      for (const id of def.inhibits.rules ?? [])
        if (!allRuleIds.has(id)) problems.push(`${where}: inhibits.rules: no rule "${id}" in any profile`);
      for (const p of def.inhibits.profiles ?? [])
        if (!set.has(p) && deps.metricsOf?.(p) == null) problems.push(`${where}: inhibits.profiles: unknown profile "${p}"`);
    }
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
    const own = set.get(profile) ?? [];
    for (const id of ruleRefsOf(def)) {
      const target = own.find((r) => r.id === id);
      if (!target) problems.push(`${where}: "rule.${id}" is not a rule of ${profile}`);
      else if (target.kind === 'group') problems.push(`${where}: "rule.${id}" is a group rule (only rules of the device can be read)`);
    }
  };
  for (const [profile, defs] of set) {
    for (const def of defs) checkOne(profile, def, `${profile}/${def.id}`);
    if (dependencyOrder(defs) === null) problems.push(`${profile}: rules read each other's verdicts in a circle (rule.<id>)`);
  }
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
