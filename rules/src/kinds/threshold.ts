import { z } from 'zod';
import { durationSchema } from '../duration.js';
import { renderMessage, type RuleContext, type RuleKind } from '../rule-kind.js';
import { ruleBaseSchema } from '../rule-base.js';
import { SEVERITIES, type Severity, compareSeverity } from '../severity.js';
import type { Verdict } from '../verdict.js';

const levelSchema = z.object({
  /** The value at which the level is entered (≥ for `above`, ≤ for `below`). */
  raise: z.number(),
  /** The value the reading must pass back over to leave the level (hysteresis); defaults to `raise`. */
  clear: z.number().optional(),
});

export const thresholdRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('threshold'),
    metric: z.string().min(1),
    direction: z.enum(['above', 'below']).default('above'),
    levels: z.object({
      blue: levelSchema.optional(),
      yellow: levelSchema.optional(),
      orange: levelSchema.optional(),
      red: levelSchema.optional(),
    }),
    /** The condition must hold this long before the alarm is raised or escalated. */
    onDelay: durationSchema.default(0),
    /** The reading must be back to normal this long before the alarm clears or de-escalates. */
    offDelay: durationSchema.default(0),
  })
  .superRefine((def, ctx) => {
    const above = def.direction === 'above';
    let previous: number | null = null;
    let defined = 0;
    for (const severity of SEVERITIES) {
      const level = def.levels[severity];
      if (!level) continue;
      defined += 1;
      const clear = level.clear ?? level.raise;
      if (above ? clear > level.raise : clear < level.raise) {
        ctx.addIssue({
          code: 'custom',
          path: ['levels', severity, 'clear'],
          message: `clear must be on the normal side of raise (${above ? '≤' : '≥'} ${level.raise}) for direction ${def.direction}`,
        });
      }
      if (previous !== null && (above ? level.raise <= previous : level.raise >= previous)) {
        ctx.addIssue({
          code: 'custom',
          path: ['levels', severity, 'raise'],
          message: `a more severe level must be ${above ? 'higher' : 'lower'} than the one below it (${previous})`,
        });
      }
      previous = level.raise;
    }
    if (defined === 0) ctx.addIssue({ code: 'custom', path: ['levels'], message: 'at least one level is required' });
  });

export type ThresholdRule = z.infer<typeof thresholdRuleSchema>;

export interface ThresholdState {
  /** The committed level (what the alarm shows). */
  level: Severity | null;
  value: number | null;
  /** When a move away from `level` started, and in which direction; null when none is pending. */
  pendingSince: number | null;
  pendingUp: boolean;
}

/** The level the value calls for, given the committed level (hysteresis holds levels at or below it). */
function targetLevel(def: ThresholdRule, value: number, committed: Severity | null): Severity | null {
  const above = def.direction === 'above';
  for (let i = SEVERITIES.length - 1; i >= 0; i -= 1) {
    const severity = SEVERITIES[i] as Severity;
    const level = def.levels[severity];
    if (!level) continue;
    const entered = above ? value >= level.raise : value <= level.raise;
    if (entered) return severity;
    const clear = level.clear ?? level.raise;
    const held = compareSeverity(severity, committed) <= 0 && (above ? value >= clear : value <= clear);
    if (held) return severity;
  }
  return null;
}

function verdictOf(def: ThresholdRule, state: ThresholdState, ctx: RuleContext): Verdict {
  if (state.level === null) return { status: 'false' };
  const threshold = def.levels[state.level]?.raise ?? null;
  const unit = ctx.unitOf(def.metric);
  const comparator = def.direction === 'above' ? '≥' : '≤';
  const template = def.message ?? `${def.name ?? def.metric} {value} {unit} ${comparator} {threshold} {unit}`;
  return {
    status: 'true',
    severity: state.level,
    metric: def.metric,
    value: state.value,
    threshold,
    unit,
    message: renderMessage(template, { value: state.value, threshold, unit, metric: def.metric, severity: state.level })
      .replace(/\s+/g, ' ')
      .trim(),
  };
}

function step(def: ThresholdRule, state: ThresholdState, ctx: RuleContext): Verdict {
  if (state.value === null) return verdictOf(def, state, ctx);
  const target = targetLevel(def, state.value, state.level);
  if (target === state.level) {
    state.pendingSince = null;
    return verdictOf(def, state, ctx);
  }
  const up = compareSeverity(target, state.level) > 0;
  if (state.pendingSince === null || state.pendingUp !== up) {
    state.pendingSince = ctx.now;
    state.pendingUp = up;
  }
  const delay = up ? def.onDelay : def.offDelay;
  if (ctx.now - state.pendingSince >= delay) {
    state.level = target;
    state.pendingSince = null;
    return verdictOf(def, state, ctx);
  }
  return { status: 'pending', dueAt: state.pendingSince + delay };
}

export const thresholdKind: RuleKind<ThresholdRule, ThresholdState> = {
  kind: 'threshold',
  schema: thresholdRuleSchema,
  initialState: () => ({ level: null, value: null, pendingSince: null, pendingUp: false }),
  onReading(def, state, reading, ctx) {
    const value = reading.metrics[def.metric];
    if (typeof value !== 'number') return undefined;
    state.value = value;
    return step(def, state, ctx);
  },
  onTick(def, state, ctx) {
    const due = thresholdKind.dueAt(def, state);
    if (due === null || ctx.now < due) return undefined;
    return step(def, state, ctx);
  },
  dueAt(def, state) {
    if (state.pendingSince === null) return null;
    return state.pendingSince + (state.pendingUp ? def.onDelay : def.offDelay);
  },
};
