import { z } from 'zod';
import { durationSchema } from '../duration.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { MetricRange, RuleContext, RuleKind } from '../rule-kind.js';
import { severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { active, NORMAL_VERDICT, pendingVerdict } from './common.js';

export const rangeRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('range'),
    /** One metric; omitted: every numeric metric of the reading whose range the profile knows. */
    metric: z.string().min(1).optional(),
    /** Physical range; omitted bounds come from the profile (engine dependency `rangeOf`). */
    min: z.number().optional(),
    max: z.number().optional(),
    severity: severitySchema.default('orange'),
    /** Out of range this long before the fault is raised (a single spike may be noise). */
    onDelay: durationSchema.default(0),
  })
  .refine((d) => d.min === undefined || d.max === undefined || d.min < d.max, { message: 'min must be below max', path: ['min'] });
export type RangeRule = z.infer<typeof rangeRuleSchema>;

export interface RangeState {
  /** Metrics currently out of range, with the value and since when. */
  faults: Record<string, { value: number; since: number }>;
  /** The fault is committed (after the on-delay). */
  raised: boolean;
}

function rangeFor(def: RangeRule, metric: string, ctx: RuleContext): MetricRange | null {
  const known = ctx.rangeOf(metric);
  const min = def.min ?? known?.min;
  const max = def.max ?? known?.max;
  if (min === undefined && max === undefined) return null;
  return { min: min ?? Number.NEGATIVE_INFINITY, max: max ?? Number.POSITIVE_INFINITY };
}

function firstFault(state: RangeState): [string, { value: number; since: number }] | undefined {
  if (!hasFaults(state)) return undefined;
  let first: [string, { value: number; since: number }] | undefined;
  for (const entry of Object.entries(state.faults)) if (!first || entry[1].since < first[1].since) first = entry;
  return first;
}

function hasFaults(state: RangeState): boolean {
  for (const _ in state.faults) return true;
  return false;
}

/** Records one value against its range; true when the metric has a range (the rule looked at it). */
function check(def: RangeRule, state: RangeState, metric: string, value: unknown, ctx: RuleContext): boolean {
  if (typeof value !== 'number' || metric === '__proto__') return false;
  const known = def.min === undefined || def.max === undefined ? ctx.rangeOf(metric) : null;
  const min = def.min ?? known?.min;
  const max = def.max ?? known?.max;
  if (min === undefined && max === undefined) return false;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const since = state.faults[metric]?.since ?? ctx.now;
    state.faults[metric] = { value, since };
  } else if (metric in state.faults) {
    delete state.faults[metric];
  }
  return true;
}

/** The range a fault is outside of, in words: both bounds, or only the one the sensor has (a fault needs one). */
function rangeText(range: MetricRange | null, lang: 'en' | 'zh'): string {
  const min = range?.min ?? Number.NEGATIVE_INFINITY;
  const max = range?.max ?? Number.POSITIVE_INFINITY;
  if (!Number.isFinite(max)) return lang === 'zh' ? `低于物理量程下限 ${min}` : `below its physical minimum ${min}`;
  if (!Number.isFinite(min)) return lang === 'zh' ? `高于物理量程上限 ${max}` : `above its physical maximum ${max}`;
  return lang === 'zh' ? `超出物理量程 ${min}…${max}` : `outside its physical range ${min}…${max}`;
}

function decide(def: RangeRule, state: RangeState, ctx: RuleContext): Verdict {
  const first = firstFault(state);
  if (!first) {
    state.raised = false;
    return NORMAL_VERDICT;
  }
  if (!state.raised && ctx.now - first[1].since < def.onDelay) return pendingVerdict(first[1].since + def.onDelay);
  state.raised = true;
  const [metric, fault] = first;
  const range = rangeFor(def, metric, ctx);
  const bound = range && fault.value < range.min ? range.min : (range?.max ?? null);
  const others = Object.keys(state.faults).length - 1;
  return active({
    severity: def.severity,
    metric,
    value: fault.value,
    threshold: bound !== null && Number.isFinite(bound) ? bound : null,
    template: def.message ?? `Sensor fault: ${metric} {value} {unit} ${rangeText(range, 'en')}${others > 0 ? ` (+${others} more)` : ''}`,
    templateZh: `${def.name_zh ?? '传感器故障'}：${metric} {value} {unit} ${rangeText(range, 'zh')}${others > 0 ? `（另有 ${others} 项）` : ''}`,
    def,
    ctx,
  });
}

/** A reading outside what the sensor can physically report: an alarm of its own ("sensor fault"). */
export const rangeKind: RuleKind<RangeRule, RangeState> = {
  kind: 'range',
  schema: rangeRuleSchema,
  initialState: () => ({ faults: {}, raised: false }),
  onReading(def, state, reading, ctx) {
    const hadFaults = hasFaults(state);
    let touched = false;
    if (def.metric !== undefined) touched = check(def, state, def.metric, reading.metrics[def.metric], ctx);
    else for (const metric in reading.metrics) if (check(def, state, metric, reading.metrics[metric], ctx)) touched = true;
    // in range before and after: nothing changed (the hot path)
    if (!touched || (!hadFaults && !state.raised && !hasFaults(state))) return undefined;
    return decide(def, state, ctx);
  },
  onTick(def, state, ctx) {
    const due = rangeKind.dueAt(def, state);
    if (due === null || ctx.now < due) return undefined;
    return decide(def, state, ctx);
  },
  dueAt(def, state) {
    if (state.raised) return null;
    const first = firstFault(state);
    return first ? first[1].since + def.onDelay : null;
  },
};
