import { z } from 'zod';
import { durationSchema } from '../duration.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { holds } from '../expression/evaluate.js';
import { expressionSchema } from '../expression/expression-schema.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { RuleKind } from '../rule-kind.js';
import { compareSeverity, type Severity, severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { NORMAL_VERDICT } from './common.js';

const countLevelSchema = z.strictObject({
  /** At least this many points… */
  count: z.number().int().min(1),
  /** …at this severity or above… */
  atLeast: severitySchema,
  /** …put the item at this severity. */
  severity: severitySchema,
});

export const groupRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('group'),
    /** The points: devices of these profiles (omitted: any) and the rules of theirs whose verdicts count. */
    members: z.strictObject({
      profiles: z.array(z.string().min(1)).min(1).optional(),
      rules: z.array(z.string().min(1)).min(1),
    }),
    /** Device attribute naming the monitoring item: one alarm per item (`site/<item>/<rule>`); omitted: per site. */
    groupBy: z.string().min(1).optional(),
    /** Count mode: "N points at ≥ S ⇒ S′". */
    levels: z.array(countLevelSchema).min(1).optional(),
    /** Quantifier mode: `all` member points (at least one) or `any` of them at ≥ `atLeast` ⇒ `severity`. */
    require: z.enum(['all', 'any']).optional(),
    atLeast: severitySchema.default('blue'),
    severity: severitySchema.optional(),
    /** Only while some device of the site (of these profiles) satisfies `condition` on its latest values. */
    while: z.strictObject({ profiles: z.array(z.string().min(1)).min(1).optional(), condition: expressionSchema }).optional(),
    /** The item must call for a severity this long before it is raised or escalated (on top of the members' own delays). */
    onDelay: durationSchema.default(0),
    /** The item must call for less this long before it clears or de-escalates. */
    offDelay: durationSchema.default(0),
  })
  .superRefine((def, ctx) => {
    if ((def.levels === undefined) === (def.require === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['levels'], message: 'give either levels (count mode) or require: all|any' });
    }
    if (def.require !== undefined && def.severity === undefined) {
      ctx.addIssue({ code: 'custom', path: ['severity'], message: 'severity is required with require' });
    }
  });
export type GroupRule = z.infer<typeof groupRuleSchema>;

/** One point of a group: a member device and the highest severity its member rules are raised at. */
export interface GroupPoint {
  device: string;
  severity: Severity | null;
}

/** A device of the site as the `while` condition sees it. */
export interface GroupWitness {
  profile: string;
  env: ExprEnv;
}

/** The item's verdict from its points: pure, so the engine decides what to feed and when. */
export function evaluateGroup(
  def: GroupRule,
  item: string | null,
  points: readonly GroupPoint[],
  witnesses: readonly GroupWitness[],
): Verdict {
  if (points.length === 0) return NORMAL_VERDICT;
  if (def.while) {
    const { profiles, condition } = def.while;
    const seen = witnesses.some((w) => (profiles === undefined || profiles.includes(w.profile)) && holds(condition.ast, w.env));
    if (!seen) return NORMAL_VERDICT;
  }
  const at = (s: Severity): GroupPoint[] => points.filter((p) => compareSeverity(p.severity, s) >= 0);
  const where = item === null ? 'the site' : `item ${item}`;
  if (def.levels) {
    let best: { severity: Severity; count: number; atLeast: Severity; hits: GroupPoint[] } | null = null;
    for (const level of def.levels) {
      const hits = at(level.atLeast);
      if (hits.length >= level.count && (best === null || compareSeverity(level.severity, best.severity) > 0)) {
        best = { severity: level.severity, count: level.count, atLeast: level.atLeast, hits };
      }
    }
    if (!best) return NORMAL_VERDICT;
    return {
      status: 'true',
      severity: best.severity,
      metric: null,
      value: best.hits.length,
      threshold: best.count,
      unit: 'points',
      message:
        def.message ?? `${best.hits.length} points of ${where} at ${best.atLeast} or above (${best.hits.map((p) => p.device).join(', ')})`,
    };
  }
  const hits = at(def.atLeast);
  const ok = def.require === 'all' ? hits.length === points.length : hits.length > 0;
  if (!ok) return NORMAL_VERDICT;
  return {
    status: 'true',
    severity: def.severity as Severity,
    metric: null,
    value: hits.length,
    threshold: def.require === 'all' ? points.length : 1,
    unit: 'points',
    message: def.message ?? `${def.name ?? def.id}: ${hits.length} of ${points.length} points of ${where} in alarm`,
  };
}

/** Group rules are evaluated per site by the engine (`evaluateGroup`), never per device: this entry is inert. */
export const groupKind: RuleKind<GroupRule, null> = {
  kind: 'group',
  schema: groupRuleSchema,
  initialState: () => null,
  onReading: () => undefined,
  onTick: () => undefined,
  dueAt: () => null,
};
