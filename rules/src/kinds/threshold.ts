import { z } from 'zod';
import { ruleBaseSchema } from '../rule-base.js';
import { outsideRange, type RuleContext, type RuleKind } from '../rule-kind.js';
import { compareSeverity, SEVERITIES, type Severity } from '../severity.js';
import type { Verdict } from '../verdict.js';
import {
  active,
  cleared,
  guardEndedTexts,
  guardHolds,
  NORMAL_VERDICT,
  nameZhOf,
  pendingVerdict,
  samplesSchema,
  touches,
  withCrossed,
} from './common.js';
import {
  advanceVisibly,
  CROSSED,
  checkLevels,
  delaysOf,
  directionSchema,
  initialLevelState,
  type LevelState,
  leveledFields,
  levelStateFrom,
  levelTimerSteps,
  MOVE,
  resolveLevels,
  targetLevel,
} from './leveled.js';

export const thresholdRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('threshold'),
    metric: z.string().min(1),
    direction: directionSchema.default('above'),
    ...leveledFields,
    /** A level counts only when `n` of the last `m` samples call for it. */
    samples: samplesSchema.optional(),
    /**
     * A reading outside the sensor's physical range (the `range` kind's sensor fault). `failSafe` (default): it may
     * raise or escalate the alarm — a gas detector over its range may be a real release — but never lowers or clears
     * it: an open thermocouple's −50 °C is not "back to normal". `skip`: it is not a value of the process at all (a
     * dead piezometer's −999 m, a level gauge's 99999) and changes nothing. Either way the alarm keeps what the last
     * valid reading made it until a valid one comes, and the sensor fault alarm says why.
     */
    outsideRange: z.enum(['failSafe', 'skip']).optional(),
  })
  .superRefine((def, ctx) => checkLevels(def.levels, def.direction, ctx));

export type ThresholdRule = z.infer<typeof thresholdRuleSchema>;

export interface ThresholdState {
  lv: LevelState;
  value: number | null;
  /** What the samples call for, before the guard. */
  sampleTarget: Severity | null;
  /** N-of-M: severity rank (0 none … 4 red) of each of the last m samples, oldest first. */
  recent: number[] | null;
}

const RANK: Record<Severity, number> = { blue: 1, yellow: 2, orange: 3, red: 4 };

function nOfM(def: ThresholdRule, state: ThresholdState, sample: Severity | null): Severity | null {
  const samples = def.samples;
  if (!samples) return sample;
  const recent = state.recent ?? [];
  recent.push(sample === null ? 0 : RANK[sample]);
  while (recent.length > samples.m) recent.shift();
  state.recent = recent;
  for (let rank = 4; rank >= 1; rank -= 1) {
    let count = 0;
    for (const r of recent) if (r >= rank) count += 1;
    if (count >= samples.n) return SEVERITIES[rank - 1] as Severity;
  }
  return null;
}

function activeAt(def: ThresholdRule, state: ThresholdState, severity: Severity, ctx: RuleContext): Verdict {
  const level = resolveLevels(def.levels, ctx.env).find((l) => l.severity === severity);
  const comparator = def.direction === 'above' ? '≥' : '≤';
  return active({
    severity,
    metric: def.metric,
    value: state.value,
    threshold: level?.raise ?? null,
    template: def.message ?? `${def.name ?? def.metric} {value} {unit} ${comparator} {threshold} {unit}`,
    templateZh: `${nameZhOf(def)} {value} {unit} ${comparator} {threshold} {unit}`,
    def,
    ctx,
  });
}

function verdictOf(def: ThresholdRule, state: ThresholdState, due: number | null, ctx: RuleContext, left: Severity | null = null): Verdict {
  const committed = state.lv.level;
  if (due !== null && !MOVE.entered) return pendingVerdict(due);
  if (committed === null) return clearedOf(def, state, left, ctx);
  return withCrossed(activeAt(def, state, committed, ctx), CROSSED, (s) => activeAt(def, state, s, ctx));
}

/** The clear: the reading that cleared it against the clear value of the level it left. */
function clearedOf(def: ThresholdRule, state: ThresholdState, left: Severity | null, ctx: RuleContext): Verdict {
  if (left === null || state.value === null) return NORMAL_VERDICT;
  // the value had to pass back over the mildest level's clear to become normal
  const level = resolveLevels(def.levels, ctx.env)[0];
  const back = def.direction === 'above' ? 'below' : 'above';
  return cleared({
    metric: def.metric,
    value: state.value,
    threshold: level?.clear ?? null,
    template: `${def.name ?? def.metric} back to normal: {value} {unit}, ${back} {threshold} {unit}`,
    // 高于/低于 misread a depth or a distance (浸润线埋深 9 m "已高于" 8.6 m): the value and the clear value, side by side
    templateZh: `${nameZhOf(def)}：已恢复正常，{value} {unit}（解除值 {threshold} {unit}）`,
    ...guardEndedTexts(def, ctx.env),
    def,
    ctx,
  });
}

export const thresholdKind: RuleKind<ThresholdRule, ThresholdState> = {
  kind: 'threshold',
  schema: thresholdRuleSchema,
  initialState: () => ({ lv: initialLevelState(), value: null, sampleTarget: null, recent: null }),
  restoreState(_def, saved) {
    const s = saved as Partial<ThresholdState> & { lv?: unknown };
    // version 1 snapshots kept the level fields at the top of the state
    return { lv: levelStateFrom(s.lv ?? s), value: s.value ?? null, sampleTarget: s.sampleTarget ?? null, recent: s.recent ?? null };
  },
  onReading(def, state, reading, ctx) {
    const fresh = reading.metrics[def.metric];
    let hasSample = typeof fresh === 'number';
    if (hasSample) {
      const value = fresh as number;
      const sample = targetLevel(resolveLevels(def.levels, ctx.env), def.direction, value, state.lv.level);
      // a faulty sensor's value is no sample when it calls for less than the readings do (fail-safe: it never lowers
      // the alarm, nor lets a pending clear run out) — with `skip`, never; the rest of the reading (the guard) counts
      const faulty = outsideRange(ctx.rangeOf(def.metric), value);
      if (faulty && (def.outsideRange === 'skip' || compareSeverity(sample, state.sampleTarget) < 0)) hasSample = false;
      else {
        state.value = value;
        state.sampleTarget = nOfM(def, state, sample);
      }
    }
    if (!hasSample && !touches(def.when, reading)) return undefined;
    if (state.value === null) return undefined;
    const target = guardHolds(def.when, ctx.env) ? state.sampleTarget : null;
    const left = state.lv.level;
    const { due, changed } = advanceVisibly(state.lv, target, ctx.now, delaysOf(def));
    // Nothing the alarm shows changed: spare building a verdict (the hot path).
    return changed ? verdictOf(def, state, due, ctx, left) : undefined;
  },
  ...levelTimerSteps(verdictOf),
};
