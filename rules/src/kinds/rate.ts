import { z } from 'zod';
import { durationSchema } from '../duration.js';
import { ruleBaseSchema } from '../rule-base.js';
import { type RuleContext, type RuleKind, roundForMessage } from '../rule-kind.js';
import type { Verdict } from '../verdict.js';
import { active, guardHolds, NORMAL_VERDICT, pendingVerdict, touches } from './common.js';
import {
  advanceVisibly,
  checkLevels,
  delaysOf,
  initialLevelState,
  type LevelState,
  leveledFields,
  levelStateFrom,
  levelTimerSteps,
  resolveLevels,
  targetLevel,
} from './leveled.js';

/** Samples kept per rule and device: enough for 1 Hz over 4 minutes; older ones are dropped first. */
export const RATE_MAX_SAMPLES = 256;

export const rateRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('rate'),
    metric: z.string().min(1),
    /** `fall`: the value drops; `rise`: it climbs. */
    direction: z.enum(['rise', 'fall']),
    /**
     * `absolute`: change in the metric's unit per `per` (0.03 MPa per 1 s);
     * `relative`: change in % of the value it started from (a drop of 15 %).
     */
    mode: z.enum(['absolute', 'relative']).default('absolute'),
    /** How far back the change is measured: from the highest (fall) or lowest (rise) sample in it. */
    window: durationSchema,
    per: durationSchema.default(1000),
    /** Levels are of the magnitude of the change (always ≥ raise). */
    ...leveledFields,
  })
  .superRefine((def, ctx) => {
    checkLevels(def.levels, 'above', ctx);
    if (def.window <= 0) ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be positive' });
    if (def.per <= 0) ctx.addIssue({ code: 'custom', path: ['per'], message: 'per must be positive' });
  });
export type RateRule = z.infer<typeof rateRuleSchema>;

export interface RateState {
  lv: LevelState;
  ts: number[];
  vs: number[];
  /** The latest magnitude of change (unit per `per`, or %). */
  magnitude: number | null;
  value: number | null;
}

/** The magnitude of the change to the newest sample from the extreme sample of the window. */
export function rateMagnitude(def: RateRule, ts: readonly number[], vs: readonly number[]): number | null {
  const last = ts.length - 1;
  if (last < 1) return null;
  const now = vs[last] as number;
  const tNow = ts[last] as number;
  let ref = last;
  for (let i = last - 1; i >= 0; i -= 1) {
    const v = vs[i] as number;
    if (def.direction === 'fall' ? v > (vs[ref] as number) : v < (vs[ref] as number)) ref = i;
  }
  const change = def.direction === 'fall' ? (vs[ref] as number) - now : now - (vs[ref] as number);
  if (ref === last || change <= 0) return 0;
  if (def.mode === 'relative') {
    const base = Math.abs(vs[ref] as number);
    return base === 0 ? null : (change / base) * 100;
  }
  const dt = tNow - (ts[ref] as number);
  return dt <= 0 ? null : (change / dt) * def.per;
}

function verdictOf(def: RateRule, state: RateState, due: number | null, ctx: RuleContext): Verdict {
  const committed = state.lv.level;
  if (due !== null) return pendingVerdict(due);
  if (committed === null) return NORMAL_VERDICT;
  const level = resolveLevels(def.levels, ctx.env).find((l) => l.severity === committed);
  const unit = ctx.unitOf(def.metric);
  const what = def.direction === 'fall' ? 'falling' : 'rising';
  const speed =
    def.mode === 'relative'
      ? `${roundForMessage(state.magnitude ?? 0)} % within ${def.window / 1000} s`
      : `${roundForMessage(state.magnitude ?? 0)} ${unit ?? ''}/${def.per / 1000} s`;
  return active({
    severity: committed,
    metric: def.metric,
    value: state.value,
    threshold: level?.raise ?? null,
    template: def.message ?? `${def.name ?? def.metric} ${what} ${speed} (limit {threshold})`,
    ctx,
  });
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
    const fresh = reading.metrics[def.metric];
    const hasSample = typeof fresh === 'number';
    if (!hasSample && !touches(def.when, reading)) return undefined;
    if (hasSample) {
      state.value = fresh;
      state.ts.push(ctx.now);
      state.vs.push(fresh);
      while (state.ts.length > 1 && ((state.ts[0] as number) < ctx.now - def.window || state.ts.length > RATE_MAX_SAMPLES)) {
        state.ts.shift();
        state.vs.shift();
      }
      state.magnitude = rateMagnitude(def, state.ts, state.vs);
    }
    const magnitude = state.magnitude;
    const target =
      magnitude !== null && guardHolds(def.when, ctx.env)
        ? targetLevel(resolveLevels(def.levels, ctx.env), 'above', magnitude, state.lv.level)
        : null;
    const { due, changed } = advanceVisibly(state.lv, target, ctx.now, delaysOf(def));
    return changed ? verdictOf(def, state, due, ctx) : undefined;
  },
  ...levelTimerSteps(verdictOf),
};
