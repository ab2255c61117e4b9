import { z } from 'zod';
import { durationSchema, formatDuration, formatDurationZh } from '../duration.js';
import { expressionSchema } from '../expression/expression-schema.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { RuleKind } from '../rule-kind.js';
import { severitySchema } from '../severity.js';
import { active, guardHolds, NORMAL_VERDICT, nameZhOf, touches } from './common.js';

export const stuckRuleSchema = ruleBaseSchema.extend({
  kind: z.literal('stuck'),
  metric: z.string().min(1),
  /** The value must stay within `epsilon` this long (and over `minSamples` samples) to count as stuck. */
  window: durationSchema,
  /** Largest spread (max − min) still counted as constant; 0 = exactly constant. */
  epsilon: z.number().min(0).default(0),
  minSamples: z.number().int().min(2).default(3),
  severity: severitySchema.default('yellow'),
  /** Only while this holds: the value should move (e.g. `fan_running`). */
  when: expressionSchema.optional(),
});
export type StuckRule = z.infer<typeof stuckRuleSchema>;

/** The current flat run: since when the value stayed within ε, its spread and sample count. */
export interface StuckState {
  since: number | null;
  min: number;
  max: number;
  count: number;
  stuck: boolean;
  value: number | null;
}

const reset = (state: StuckState, now: number | null, value: number | null): void => {
  state.since = now;
  state.min = value ?? 0;
  state.max = value ?? 0;
  state.count = value === null ? 0 : 1;
  state.value = value;
};

/** "ΔP transmitter stuck", "dp stuck": a rule named for what it finds ("… stuck") does not say it twice. */
const stuckName = (name: string): string => (/\bstuck$/i.test(name) ? name : `${name} stuck`);

/**
 * A flat-lined analog sensor: the value stayed within ε for `window` over at least `minSamples` samples
 * while the guard held. A sample outside the band starts a new run at that sample (so a slow drift that
 * stays within ε of the run's first values is still caught; one that leaves it is not flagged).
 * Decided on data only: without data the silence rule speaks.
 */
export const stuckKind: RuleKind<StuckRule, StuckState> = {
  kind: 'stuck',
  schema: stuckRuleSchema,
  initialState: () => ({ since: null, min: 0, max: 0, count: 0, stuck: false, value: null }),
  onReading(def, state, reading, ctx) {
    const fresh = reading.metrics[def.metric];
    const hasSample = typeof fresh === 'number';
    if (!hasSample && !touches(def.when, reading)) return undefined;
    if (!guardHolds(def.when, ctx.env)) {
      const was = state.stuck;
      reset(state, null, null);
      state.stuck = false;
      return was ? NORMAL_VERDICT : undefined;
    }
    if (hasSample) {
      if (state.since === null || Math.max(state.max, fresh) - Math.min(state.min, fresh) > def.epsilon) {
        reset(state, ctx.now, fresh);
      } else {
        state.min = Math.min(state.min, fresh);
        state.max = Math.max(state.max, fresh);
        state.count += 1;
        state.value = fresh;
      }
    }
    const was = state.stuck;
    state.stuck = state.since !== null && state.count >= def.minSamples && ctx.now - state.since >= def.window;
    if (state.stuck === was) return undefined;
    if (!state.stuck) return NORMAL_VERDICT;
    return active({
      severity: def.severity,
      metric: def.metric,
      value: state.value,
      threshold: def.epsilon,
      template:
        def.message ??
        `${stuckName(def.name ?? def.metric)} at {value} {unit} for ${formatDuration(ctx.now - (state.since as number))} (sensor stuck)`,
      templateZh: `${nameZhOf(def)}：读数停滞在 {value} {unit} 已 ${formatDurationZh(ctx.now - (state.since as number))}（传感器卡死）`,
      def,
      ctx,
    });
  },
  onTick: () => undefined,
  dueAt: () => null,
};
