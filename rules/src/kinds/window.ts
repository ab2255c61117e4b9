import { z } from 'zod';
import { durationSchema, formatDuration, formatDurationZh } from '../duration.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { evaluateNumber } from '../expression/evaluate.js';
import { expressionSchema } from '../expression/expression-schema.js';
import { ruleBaseSchema } from '../rule-base.js';
import { displayNumber, type RuleContext, type RuleKind, roundForMessage } from '../rule-kind.js';
import type { Severity } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { active, cleared, guardEndedTexts, guardHolds, NORMAL_VERDICT, pendingVerdict, sampleOf, touches, withCrossed } from './common.js';
import {
  advanceVisibly,
  CROSSED,
  checkLevels,
  delaysOf,
  directionSchema,
  initialLevelState,
  type LevelState,
  levelDueAt,
  leveledFields,
  levelStateFrom,
  MOVE,
  releaseLatch,
  resolveLevels,
  resumeLevel,
  targetLevel,
} from './leveled.js';

export const AGGREGATES = ['avg', 'sum', 'min', 'max', 'count', 'slope', 'theil_sen'] as const;
type Aggregate = (typeof AGGREGATES)[number];

/**
 * Numbers kept per bucket: [n, sum] · [n, min] · [n, max] · slope [n, Σv, Σf, Σf², Σfv] · theil_sen [n, Σv, Σf]
 * (f: position in bucket 0…1).
 */
const STRIDE: Record<Aggregate, number> = { avg: 2, sum: 2, count: 2, min: 2, max: 2, slope: 5, theil_sen: 3 };

export const windowRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('window'),
    metric: z.string().min(1),
    aggregate: z.enum(AGGREGATES),
    window: durationSchema,
    /** The window is kept as this many buckets (memory is fixed; time resolution is window ÷ buckets). */
    buckets: z.number().int().min(2).max(64).default(30),
    /** Unit of time of `slope` (displacement per day: `per: 1d`). */
    per: durationSchema.default(3_600_000),
    /** No verdict until the window holds this many samples (a floor for robustness; say the time in `minSpan`). */
    minSamples: z.number().int().min(1).default(1),
    /**
     * No verdict until the window's samples cover this much time (from the oldest to the newest bucket holding
     * data, at the resolution of one bucket): the same rule then works at every reporting cadence.
     */
    minSpan: durationSchema.default(0),
    /**
     * A value equal to the previous sample adds no sample: a receiver resending its last fix is not a new
     * measurement, and a velocity over a window ending in copies of one (noisy) fix leans on that fix.
     */
    ignoreRepeats: z.boolean().default(false),
    /** The unit of the compared value, for messages (default: the metric's; per `per` for slopes; none for a transform). */
    unit: z.string().optional(),
    /** Turns the aggregate (`value`) into the compared value, e.g. `tangent_angle(value, attr.v0, 1)`. */
    transform: expressionSchema.optional(),
    direction: directionSchema.default('above'),
    ...leveledFields,
  })
  .superRefine((def, ctx) => {
    checkLevels(def.levels, def.direction, ctx);
    if (def.window < def.buckets) ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be at least 1 ms per bucket' });
    if (def.minSpan > def.window - def.window / def.buckets) {
      ctx.addIssue({ code: 'custom', path: ['minSpan'], message: 'minSpan must leave at least one bucket of the window' });
    }
  });
export type WindowRule = z.infer<typeof windowRuleSchema>;

export interface WindowState {
  lv: LevelState;
  /** Bucket number (floor(ts / width)) held in each ring slot; -1 empty. */
  idx: number[];
  /** Per-slot numbers, `STRIDE[aggregate]` each. */
  b: number[];
  /** The last sample added (`ignoreRepeats`). */
  last: number | null;
  /** Latest aggregate and compared value. */
  aggregate: number | null;
  value: number | null;
  /** When the oldest bucket leaves the window (re-evaluated on tick only while the rule is not normal). */
  expiry: number | null;
}

const widthOf = (def: WindowRule): number => def.window / def.buckets;

function addSample(def: WindowRule, state: WindowState, ts: number, v: number): void {
  const width = widthOf(def);
  const bucket = Math.floor(ts / width);
  const slot = ((bucket % def.buckets) + def.buckets) % def.buckets;
  const k = STRIDE[def.aggregate];
  const o = slot * k;
  const held = state.idx[slot] as number;
  if (held > bucket) return;
  if (held !== bucket) {
    state.idx[slot] = bucket;
    for (let i = 0; i < k; i += 1) state.b[o + i] = 0;
  }
  const b = state.b;
  const first = b[o] === 0;
  b[o] = (b[o] as number) + 1;
  if (def.aggregate === 'min') b[o + 1] = first ? v : Math.min(b[o + 1] as number, v);
  else if (def.aggregate === 'max') b[o + 1] = first ? v : Math.max(b[o + 1] as number, v);
  else b[o + 1] = (b[o + 1] as number) + v;
  if (def.aggregate === 'slope') {
    const f = ts / width - bucket;
    b[o + 2] = (b[o + 2] as number) + f;
    b[o + 3] = (b[o + 3] as number) + f * f;
    b[o + 4] = (b[o + 4] as number) + f * v;
  } else if (def.aggregate === 'theil_sen') {
    b[o + 2] = (b[o + 2] as number) + (ts / width - bucket);
  }
}

/** The aggregate over buckets still inside the window at `now`, and when the oldest of them leaves it. */
export function aggregateAt(def: WindowRule, state: WindowState, now: number): Readonly<Aggregated> {
  const width = widthOf(def);
  const current = Math.floor(now / width);
  const k = STRIDE[def.aggregate];
  let n = 0;
  let acc = def.aggregate === 'min' ? Number.POSITIVE_INFINITY : def.aggregate === 'max' ? Number.NEGATIVE_INFINITY : 0;
  let st = 0;
  let stt = 0;
  let stv = 0;
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  let points = 0;
  for (let slot = 0; slot < def.buckets; slot += 1) {
    const bucket = state.idx[slot] as number;
    if (bucket < 0 || bucket <= current - def.buckets || bucket > current) continue;
    const o = slot * k;
    const bn = state.b[o] as number;
    if (bn === 0) continue;
    oldest = Math.min(oldest, bucket);
    newest = Math.max(newest, bucket);
    n += bn;
    const b1 = state.b[o + 1] as number;
    if (def.aggregate === 'min') acc = Math.min(acc, b1);
    else if (def.aggregate === 'max') acc = Math.max(acc, b1);
    else acc += b1;
    if (def.aggregate === 'slope') {
      const off = bucket - current;
      const sf = state.b[o + 2] as number;
      st += bn * off + sf;
      stt += bn * off * off + 2 * off * sf + (state.b[o + 3] as number);
      stv += off * b1 + (state.b[o + 4] as number);
    } else if (def.aggregate === 'theil_sen') {
      // one point per bucket: its mean time (in bucket widths from now's bucket) and mean value
      PX[points] = bucket - current + (state.b[o + 2] as number) / bn;
      PY[points] = b1 / bn;
      points += 1;
    }
  }
  AGGREGATED.expiry = oldest === Number.POSITIVE_INFINITY ? null : (oldest + def.buckets) * width;
  const covered = n === 0 ? 0 : (newest - oldest) * width;
  AGGREGATED.value = n < def.minSamples || n === 0 || covered < def.minSpan ? null : windowValue(def, n, acc, st, stt, stv, points, width);
  return AGGREGATED;
}

interface Aggregated {
  value: number | null;
  expiry: number | null;
}

/** One shared result of `aggregateAt` (read it at once): the hot path allocates nothing. */
const AGGREGATED: Aggregated = { value: null, expiry: null };

function windowValue(
  def: WindowRule,
  n: number,
  acc: number,
  st: number,
  stt: number,
  stv: number,
  points: number,
  width: number,
): number | null {
  switch (def.aggregate) {
    case 'avg':
      return acc / n;
    case 'slope': {
      const denominator = n * stt - st * st;
      if (n < 2 || denominator <= 1e-12) return null;
      return (((n * stv - st * acc) / denominator) * def.per) / width;
    }
    case 'theil_sen': {
      const perBucket = medianPairwiseSlope(points);
      return perBucket === null ? null : (perBucket * def.per) / width;
    }
    case 'count':
      return n;
    default:
      return acc;
  }
}

/** Scratch for Theil–Sen: bucket points and their pairwise slopes (at most 64 buckets, 2016 pairs). */
const PX = new Float64Array(64);
const PY = new Float64Array(64);
const SLOPES = new Float64Array((64 * 63) / 2);

/** Theil–Sen: the median of the slopes between every pair of points; one outlying point barely moves it. */
function medianPairwiseSlope(points: number): number | null {
  if (points < 2) return null;
  let k = 0;
  for (let i = 0; i < points; i += 1) {
    for (let j = i + 1; j < points; j += 1) {
      const dx = (PX[j] as number) - (PX[i] as number);
      if (dx !== 0) SLOPES[k++] = ((PY[j] as number) - (PY[i] as number)) / dx;
    }
  }
  if (k === 0) return null;
  const sorted = SLOPES.subarray(0, k).sort();
  const mid = k >> 1;
  return k % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The names a `transform` sees: `value` (the aggregate) over the device's own; one object, set before each use. */
let transformBase: ExprEnv | null = null;
let transformValue = 0;
const TRANSFORM_ENV: ExprEnv = {
  metric: (name) => (name === 'value' ? transformValue : transformBase?.metric(name)),
  attr: (name) => transformBase?.attr(name),
  clock: (name) => transformBase?.clock?.(name) ?? null,
};

function transformed(def: WindowRule, ctx: RuleContext, aggregate: number | null): number | null {
  if (aggregate === null || !def.transform) return aggregate;
  transformBase = ctx.env;
  transformValue = aggregate;
  try {
    return evaluateNumber(def.transform.ast, TRANSFORM_ENV);
  } finally {
    transformBase = null;
  }
}

const PER_UNIT: Record<number, string> = { 1000: 's', 60000: 'min', 3600000: 'h', 86400000: 'd' };

/** The unit of the value compared: `unit`, else per `per` for slopes, none for counts and transforms, else the metric's. */
function unitOfValue(def: WindowRule, ctx: RuleContext): string | null {
  if (def.unit !== undefined) return def.unit;
  if (def.transform) return null;
  return aggregateUnit(def, ctx);
}

/** Aggregates that estimate a value of the process (no samples: unknown), not a sum or count of what came (none: 0). */
const ESTIMATES: Record<WindowRule['aggregate'], boolean> = {
  avg: true,
  sum: false,
  min: true,
  max: true,
  count: false,
  slope: true,
  theil_sen: true,
};

const AGGREGATE_ZH: Record<WindowRule['aggregate'], string> = {
  avg: '均值',
  sum: '累计',
  min: '最小值',
  max: '最大值',
  count: '样本数',
  slope: '变化速率',
  theil_sen: '变化速率',
};

/** The unit of the aggregate itself (before any transform): per `per` for slopes, none for counts, else the metric's. */
function aggregateUnit(def: WindowRule, ctx: RuleContext): string | null {
  if (def.aggregate === 'count') return null;
  const unit = ctx.unitOf(def.metric);
  if (def.aggregate === 'slope' || def.aggregate === 'theil_sen') return `${unit ?? ''}/${PER_UNIT[def.per] ?? formatDuration(def.per)}`;
  return unit;
}

function activeAt(def: WindowRule, state: WindowState, severity: Severity, ctx: RuleContext): Verdict {
  const level = resolveLevels(def.levels, ctx.env).find((l) => l.severity === severity);
  const comparator = def.direction === 'above' ? '≥' : '≤';
  const label = `${def.aggregate} of ${def.metric} over ${formatDuration(def.window)}`;
  return active({
    severity,
    metric: def.metric,
    value: state.value === null ? null : roundForMessage(state.value),
    threshold: level?.raise ?? null,
    unit: unitOfValue(def, ctx),
    template: def.message ?? `${def.name ?? label} {value} {unit} ${comparator} {threshold} {unit}`,
    templateZh: `${def.name_zh ?? def.name ?? label} {value} {unit} ${comparator} {threshold} {unit}`,
    def,
    ctx,
  });
}

function evaluateAt(def: WindowRule, state: WindowState, ctx: RuleContext): Verdict | undefined {
  const { value: aggregate, expiry } = aggregateAt(def, state, ctx.now);
  state.aggregate = aggregate;
  state.expiry = expiry;
  state.value = transformed(def, ctx, aggregate);
  const guarded = guardHolds(def.when, ctx.env);
  // too little data to estimate a value (a velocity, an average: the samples left the window, a station gone quiet) is no
  // reason to end an alarm — its silence rule says what happened; it keeps what the data last said until enough comes
  // to judge again. A sum or a count of nothing is a verdict of its own: nothing counted (the alarm ends as before).
  const target = !guarded
    ? null
    : aggregate === null && ESTIMATES[def.aggregate]
      ? state.lv.level
      : state.value === null
        ? null
        : targetLevel(resolveLevels(def.levels, ctx.env), def.direction, state.value, state.lv.level);
  const left = state.lv.level;
  const { due, changed } = advanceVisibly(state.lv, target, ctx.now, delaysOf(def));
  if (!changed) return undefined;
  const committed = state.lv.level;
  if (due !== null && !MOVE.entered) return pendingVerdict(due);
  if (committed === null) {
    if (left === null) return NORMAL_VERDICT;
    // the value had to pass back over the mildest level's clear to become normal
    const level = resolveLevels(def.levels, ctx.env)[0];
    return cleared({
      metric: def.metric,
      value: state.value === null ? null : roundForMessage(state.value),
      threshold: level?.clear ?? null,
      unit: unitOfValue(def, ctx),
      ...clearTexts(def, ctx, state.value, aggregate),
      ...guardEndedTexts(def, ctx.env),
      def,
      ctx,
    });
  }
  return withCrossed(activeAt(def, state, committed, ctx), CROSSED, (s) => activeAt(def, state, s, ctx));
}

/**
 * The words of a clear: the value back over the mildest level's clear value; or, with no value, nothing counted in the
 * window (a sum, a count), or none from the transform (a tangent angle while the velocity is below its gate: said
 * with the aggregate it was given) — not a value back over clear.
 */
function clearTexts(
  def: WindowRule,
  ctx: RuleContext,
  value: number | null,
  aggregate: number | null,
): { template: string; templateZh: string } {
  const name = def.name ?? def.metric;
  const nameZh = def.name_zh ?? name;
  if (value !== null) {
    const back = def.direction === 'above' ? 'below' : 'above';
    return {
      template: `${name} back to normal: {value} {unit}, ${back} {threshold} {unit}`,
      templateZh: `${nameZh}：已恢复正常，{value} {unit}（解除值 {threshold} {unit}）`,
    };
  }
  if (aggregate === null) {
    return {
      template: `${name} back to normal: no data over ${formatDuration(def.window)}`,
      templateZh: `${nameZh}：已恢复正常，${formatDurationZh(def.window)}内无数据`,
    };
  }
  const unit = aggregateUnit(def, ctx);
  const given = `${displayNumber(aggregate)}${unit ? ` ${unit}` : ''}`;
  return {
    template: `${name} back to normal: ${def.aggregate} of ${def.metric} over ${formatDuration(def.window)} ${given}, where it is not judged`,
    templateZh: `${nameZh}：已恢复正常，${def.metric} ${formatDurationZh(def.window)}${AGGREGATE_ZH[def.aggregate]} ${given}，不在判定范围内`,
  };
}

/**
 * avg / sum / min / max / count / linear-regression slope of one metric over a sliding time window, kept as
 * a fixed ring of buckets (memory independent of the sample rate), with levels, hysteresis and delays.
 */
export const windowKind: RuleKind<WindowRule, WindowState> = {
  kind: 'window',
  schema: windowRuleSchema,
  initialState: (def) => ({
    lv: initialLevelState(),
    idx: new Array<number>(def.buckets).fill(-1),
    b: new Array<number>(def.buckets * STRIDE[def.aggregate]).fill(0),
    last: null,
    aggregate: null,
    value: null,
    expiry: null,
  }),
  restoreState(def, saved) {
    const s = saved as Partial<WindowState> & { lv?: unknown };
    const fresh = windowKind.initialState(def);
    // version 1 snapshots kept the level fields at the top of the state
    fresh.lv = levelStateFrom(s.lv ?? s);
    if (s.idx) fresh.idx = s.idx;
    if (s.b) fresh.b = s.b;
    fresh.last = s.last ?? null;
    fresh.aggregate = s.aggregate ?? null;
    fresh.value = s.value ?? null;
    fresh.expiry = s.expiry ?? null;
    return fresh;
  },
  onReading(def, state, reading, ctx) {
    const fresh = sampleOf(reading, def.metric, ctx);
    const hasSample = fresh !== null && !(def.ignoreRepeats && fresh === state.last);
    if (!hasSample && !touches(def.when, reading)) return undefined;
    if (hasSample) {
      addSample(def, state, ctx.now, fresh);
      state.last = fresh;
    }
    return evaluateAt(def, state, ctx);
  },
  onAcknowledge(def, state, ctx) {
    return releaseLatch(state.lv) ? evaluateAt(def, state, ctx) : undefined;
  },
  onResume: (_def, state, downMs) => resumeLevel(state.lv, downMs),
  onTick(def, state, ctx) {
    const due = windowKind.dueAt(def, state);
    if (due === null || ctx.now < due) return undefined;
    return evaluateAt(def, state, ctx);
  },
  dueAt(def, state) {
    const pending = levelDueAt(state.lv, delaysOf(def));
    const expiry = state.lv.level !== null || pending !== null ? state.expiry : null;
    if (pending === null) return expiry;
    return expiry === null ? pending : Math.min(pending, expiry);
  },
};
