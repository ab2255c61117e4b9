import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import { ruleBaseSchema } from '../rule-base.js';
import { type RuleContext, type RuleKind, roundForMessage } from '../rule-kind.js';
import type { Severity } from '../severity.js';
import type { Verdict } from '../verdict.js';
import {
  active,
  cleared,
  guardEndedTexts,
  guardHolds,
  NORMAL_VERDICT,
  nameZhOf,
  pendingVerdict,
  sampleOf,
  touches,
  withCrossed,
} from './common.js';
import {
  advanceVisibly,
  CROSSED,
  checkLevels,
  delaysOf,
  initialLevelState,
  type LevelState,
  leveledFields,
  levelStateFrom,
  levelTimerSteps,
  MOVE,
  resolveLevels,
  targetLevel,
} from './leveled.js';

/** Samples kept per rule and device: 1 Hz over 4 minutes; beyond, the samples between the anchor and the newest are thinned. */
export const RATE_MAX_SAMPLES = 256;

export const rateRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('rate'),
    metric: z.string().min(1),
    /** `fall`: the value drops; `rise`: it climbs. */
    direction: z.enum(['rise', 'fall']),
    /**
     * `absolute`: change in the metric's unit per `per` (0.03 MPa per 1 s);
     * `relative`: change in % of the value it started from, per `window` (a drop of 15 % within 2 s).
     */
    mode: z.enum(['absolute', 'relative']).default('absolute'),
    /** The horizon: the change is measured from the newest sample at least this old to the newest sample. */
    window: durationSchema,
    per: durationSchema.default(1000),
    /** No verdict until the samples cover this much time (default: the whole window). */
    minSpan: durationSchema.optional(),
    /** Levels are of the magnitude of the change (always ≥ raise). */
    ...leveledFields,
  })
  .superRefine((def, ctx) => {
    checkLevels(def.levels, 'above', ctx);
    if (def.window <= 0) ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be positive' });
    if (def.per <= 0) ctx.addIssue({ code: 'custom', path: ['per'], message: 'per must be positive' });
    if (def.minSpan !== undefined && (def.minSpan <= 0 || def.minSpan > def.window)) {
      ctx.addIssue({ code: 'custom', path: ['minSpan'], message: 'minSpan must be positive and at most the window' });
    }
  });
export type RateRule = z.infer<typeof rateRuleSchema>;

export interface RateState {
  lv: LevelState;
  /** Samples from the newest one at least `window` old (the anchor) to the newest. */
  ts: number[];
  vs: number[];
  /** The latest magnitude of change (unit per `per`, or % per window). */
  magnitude: number | null;
  value: number | null;
}

/**
 * The rate the rule judges: the change from the anchor (the newest sample at least `window` before the newest
 * one, else the oldest kept) to the newest sample, divided by the time between them — at least `minSpan`
 * (default `window`), or no verdict (null). Bounded noise of amplitude a around a constant thus never reads
 * more than 2a per `minSpan`, and a steady ramp reads its slope. Relative: the change in % of the anchor's
 * value, scaled to one window.
 */
export function rateMagnitude(def: RateRule, ts: readonly number[], vs: readonly number[]): number | null {
  const last = ts.length - 1;
  if (last < 1) return null;
  const tNow = ts[last] as number;
  let ref = 0;
  for (let i = last - 1; i >= 0; i -= 1) {
    if ((ts[i] as number) <= tNow - def.window) {
      ref = i;
      break;
    }
  }
  const span = tNow - (ts[ref] as number);
  if (span <= 0 || span < (def.minSpan ?? def.window)) return null;
  const from = vs[ref] as number;
  const to = vs[last] as number;
  const change = def.direction === 'fall' ? from - to : to - from;
  if (change <= 0) return 0;
  if (def.mode === 'relative') {
    const base = Math.abs(from);
    return base === 0 ? null : (change / base) * 100 * Math.min(1, def.window / span);
  }
  return (change / span) * def.per;
}

/** Halves the samples between the first and the last (keeps both, and every other one between them). */
function thin(state: RateState): void {
  const last = state.ts.length - 1;
  let kept = 1;
  for (let i = 2; i < last; i += 2) {
    state.ts[kept] = state.ts[i] as number;
    state.vs[kept] = state.vs[i] as number;
    kept += 1;
  }
  state.ts[kept] = state.ts[last] as number;
  state.vs[kept] = state.vs[last] as number;
  state.ts.length = kept + 1;
  state.vs.length = kept + 1;
}

const PER_UNIT: Record<number, string> = { 1000: 's', 60000: 'min', 3600000: 'h', 86400000: 'd' };

/** The unit of the rate: `°C/min`, `MPa/s`, `%/2 s`. */
export function rateUnit(def: RateRule, metricUnit: string | null): string {
  if (def.mode === 'relative') return `%/${formatDuration(def.window)}`;
  return `${metricUnit ?? ''}/${PER_UNIT[def.per] ?? formatDuration(def.per)}`;
}

function activeAt(def: RateRule, state: RateState, severity: Severity, ctx: RuleContext): Verdict {
  const level = resolveLevels(def.levels, ctx.env).find((l) => l.severity === severity);
  const rising = def.direction === 'rise';
  return active({
    severity,
    metric: def.metric,
    value: state.magnitude === null ? null : roundForMessage(state.magnitude),
    threshold: level?.raise ?? null,
    unit: rateUnit(def, ctx.unitOf(def.metric)),
    template: def.message ?? `${def.name ?? def.metric} ${rising ? 'rising' : 'falling'} {value} {unit} (limit {threshold} {unit})`,
    // the name often says it already (冷却水流量骤降): "骤降下降速率" read twice
    templateZh: `${nameZhOf(def)}：${rising ? '上升' : '下降'}速率 {value} {unit}（限值 {threshold} {unit}）`,
    def,
    ctx,
  });
}

function verdictOf(def: RateRule, state: RateState, due: number | null, ctx: RuleContext, left: Severity | null = null): Verdict {
  const committed = state.lv.level;
  if (due !== null && !MOVE.entered) return pendingVerdict(due);
  if (committed === null) {
    if (left === null) return NORMAL_VERDICT;
    // the value had to pass back over the mildest level's clear to become normal
    const level = resolveLevels(def.levels, ctx.env)[0];
    return cleared({
      metric: def.metric,
      value: state.magnitude === null ? null : roundForMessage(state.magnitude),
      threshold: level?.clear ?? null,
      unit: rateUnit(def, ctx.unitOf(def.metric)),
      template: `${def.name ?? def.metric} back to normal: changing {value} {unit}, below {threshold} {unit}`,
      templateZh: `${nameZhOf(def)}：已恢复正常，变化速率 {value} {unit}（解除值 {threshold} {unit}）`,
      ...guardEndedTexts(def, ctx.env),
      def,
      ctx,
    });
  }
  return withCrossed(activeAt(def, state, committed, ctx), CROSSED, (s) => activeAt(def, state, s, ctx));
}

export const rateKind: RuleKind<RateRule, RateState> = {
  kind: 'rate',
  schema: rateRuleSchema,
  initialState: () => ({ lv: initialLevelState(), ts: [], vs: [], magnitude: null, value: null }),
  restoreState(_def, saved) {
    const s = saved as Partial<RateState> & { lv?: unknown };
    // version 1 snapshots kept the level fields at the top of the state
    return { lv: levelStateFrom(s.lv ?? s), ts: s.ts ?? [], vs: s.vs ?? [], magnitude: s.magnitude ?? null, value: s.value ?? null };
  },
  onReading(def, state, reading, ctx) {
    const fresh = sampleOf(reading, def.metric, ctx);
    const hasSample = fresh !== null;
    if (!hasSample && !touches(def.when, reading)) return undefined;
    if (hasSample) {
      state.value = fresh;
      state.ts.push(ctx.now);
      state.vs.push(fresh);
      // keep one sample at least a window old (the anchor) and everything newer
      while (state.ts.length > 2 && (state.ts[1] as number) <= ctx.now - def.window) {
        state.ts.shift();
        state.vs.shift();
      }
      // more samples than kept: every other one between the anchor and the newest goes, never the anchor (dropping
      // the oldest lost the anchor, so a window holding more than the bound never covered its minSpan: no verdict)
      if (state.ts.length > RATE_MAX_SAMPLES) thin(state);
      state.magnitude = rateMagnitude(def, state.ts, state.vs);
    }
    const magnitude = state.magnitude;
    const target =
      magnitude !== null && guardHolds(def.when, ctx.env)
        ? targetLevel(resolveLevels(def.levels, ctx.env), 'above', magnitude, state.lv.level)
        : null;
    const left = state.lv.level;
    const { due, changed } = advanceVisibly(state.lv, target, ctx.now, delaysOf(def));
    return changed ? verdictOf(def, state, due, ctx, left) : undefined;
  },
  ...levelTimerSteps(verdictOf),
};
