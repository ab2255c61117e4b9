import { z } from 'zod';
import { durationSchema } from '../duration.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { holds } from '../expression/evaluate.js';
import { expressionSchema } from '../expression/expression-schema.js';
import { ruleBaseSchema } from '../rule-base.js';
import { type RuleKind, renderMessage } from '../rule-kind.js';
import { compareSeverity, type Severity, severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { NORMAL_VERDICT, nameZhOf } from './common.js';

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

const SEVERITY_ZH: Record<Severity, string> = { red: '红色', orange: '橙色', yellow: '黄色', blue: '蓝色' };

/** Points named in a message; past these, how many more. */
const NAMED_POINTS = 8;

/** The devices in alarm, for the duty officer to know where to look: `dc-1, dc-2` or `dc-1, …, dc-8 and 4 more`. */
function pointList(hits: readonly GroupPoint[], zh: boolean): string {
  const named = hits.slice(0, NAMED_POINTS).map((p) => p.device);
  const more = hits.length - named.length;
  if (zh) return named.join('、') + (more > 0 ? ` 等 ${hits.length} 个` : '');
  return named.join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/**
 * An active group verdict, its messages rendered: the rule's `message` and `message_zh` templates take `{points}` (the
 * devices in alarm), `{item}`, `{site}`, `{severity}`, `{value}` and `{threshold}`; without `message_zh` the Chinese
 * text is the kind's own wording from `name_zh`, never the English message.
 */
function groupVerdict(
  def: GroupRule,
  item: string | null,
  site: string,
  severity: Severity,
  hits: readonly GroupPoint[],
  threshold: number,
  own: { en: string; zh: string },
): Verdict {
  const where = item === null ? { en: 'the site', zh: '厂区 ' } : { en: `item ${item}`, zh: `监测项 ${item} ` };
  const fields = (lang: 'en' | 'zh') => ({
    points: pointList(hits, lang === 'zh'),
    where: where[lang],
    item: item ?? site,
    site,
    severity,
    value: hits.length,
    threshold,
  });
  return {
    status: 'true',
    severity,
    metric: null,
    value: hits.length,
    threshold,
    unit: 'points',
    message: renderMessage(def.message ?? own.en, fields('en')),
    messageZh: renderMessage(def.message_zh ?? `${nameZhOf(def)}：${own.zh}`, fields('zh')),
  };
}

/** The item's verdict from its points: pure, so the engine decides what to feed and when. */
export function evaluateGroup(
  def: GroupRule,
  item: string | null,
  points: readonly GroupPoint[],
  witnesses: readonly GroupWitness[],
  /** The site, for `{site}` (and `{item}` of a rule without `groupBy`). */
  site: string,
): Verdict {
  if (points.length === 0) return NORMAL_VERDICT;
  if (def.while) {
    const { profiles, condition } = def.while;
    const seen = witnesses.some((w) => (profiles === undefined || profiles.includes(w.profile)) && holds(condition.ast, w.env));
    if (!seen) return NORMAL_VERDICT;
  }
  const at = (s: Severity): GroupPoint[] => points.filter((p) => compareSeverity(p.severity, s) >= 0);
  if (def.levels) {
    let best: { severity: Severity; count: number; atLeast: Severity; hits: GroupPoint[] } | null = null;
    for (const level of def.levels) {
      const hits = at(level.atLeast);
      if (hits.length >= level.count && (best === null || compareSeverity(level.severity, best.severity) > 0)) {
        best = { severity: level.severity, count: level.count, atLeast: level.atLeast, hits };
      }
    }
    if (!best) return NORMAL_VERDICT;
    return groupVerdict(def, item, site, best.severity, best.hits, best.count, {
      en: `{value} points of {where} at ${best.atLeast} or above ({points})`,
      zh: `{where}{value} 个测点${SEVERITY_ZH[best.atLeast]}及以上（{points}）`,
    });
  }
  const hits = at(def.atLeast);
  const ok = def.require === 'all' ? hits.length === points.length : hits.length > 0;
  if (!ok) return NORMAL_VERDICT;
  return groupVerdict(def, item, site, def.severity as Severity, hits, def.require === 'all' ? points.length : 1, {
    en: `${def.name ?? def.id}: {value} of ${points.length} points of {where} in alarm ({points})`,
    zh: `{where}${points.length} 个测点中 {value} 个报警（{points}）`,
  });
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
