import { z } from 'zod';
import { durationSchema, formatDuration, formatDurationZh } from '../duration.js';
import { expressionSchema } from '../expression/expression-schema.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { RuleContext, RuleKind } from '../rule-kind.js';
import { compareSeverity, type Severity, severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { active, cleared, guardHolds, NORMAL_VERDICT } from './common.js';

/** Used when neither the device (`reportingIntervalMs` attribute) nor its profile gives a reporting interval. */
export const FALLBACK_REPORTING_INTERVAL_MS = 60_000;

const stepSchema = z
  .strictObject({
    /** Silent this long… */
    after: durationSchema.optional(),
    /** …or this many reporting intervals of the device. */
    intervals: z.number().positive().optional(),
    severity: severitySchema,
  })
  .refine((s) => (s.after === undefined) !== (s.intervals === undefined), { message: 'give exactly one of after or intervals' });

export const silenceRuleSchema = ruleBaseSchema
  .extend({
    kind: z.literal('silence'),
    /** Only readings carrying this metric count; omitted: any reading of the device. */
    metric: z.string().min(1).optional(),
    /** Escalation by duration of silence, mildest first. Default: yellow after 3 reporting intervals. */
    ladder: z
      .array(stepSchema)
      .min(1)
      .default([{ intervals: 3, severity: 'yellow' }]),
    /** Silence counts only while this holds (on the last known values), e.g. `permit_active`. */
    when: expressionSchema.optional(),
  })
  .superRefine((def, ctx) => {
    def.ladder.forEach((step, i) => {
      const previous = def.ladder[i - 1];
      if (previous && compareSeverity(step.severity, previous.severity) <= 0) {
        ctx.addIssue({ code: 'custom', path: ['ladder', i, 'severity'], message: 'each step must be more severe than the one before' });
      }
      if (previous?.after !== undefined && step.after !== undefined && step.after <= previous.after) {
        ctx.addIssue({ code: 'custom', path: ['ladder', i, 'after'], message: 'each step must come later than the one before' });
      }
    });
  });
export type SilenceRule = z.infer<typeof silenceRuleSchema>;

export interface SilenceState {
  /** Gateway time of the last arrival that counts (or of registration); null until armed. */
  lastArrival: number | null;
  /** The device's reporting interval when armed, ms. */
  intervalMs: number;
  /** Index of the ladder step in force; -1 none. */
  step: number;
  /** The guard was false when a step fell due: wait for data. */
  suppressed: boolean;
  /**
   * The last arrival waited in the gateway until then (`onHeld`): the silence counts from here. Kept apart from
   * `lastArrival`, so that only a real arrival earns it; null once an arrival passes it.
   */
  heldUntil?: number | null;
}

/** When the silence started: the last arrival, or the end of its wait in the gateway. */
const silentSince = (state: SilenceState): number => Math.max(state.lastArrival as number, state.heldUntil ?? Number.NEGATIVE_INFINITY);

const stepMs = (def: SilenceRule, state: SilenceState, i: number): number => {
  const step = def.ladder[i];
  if (!step) return Number.POSITIVE_INFINITY;
  return step.after ?? (step.intervals as number) * state.intervalMs;
};

function arrive(def: SilenceRule, state: SilenceState, at: number, ctx: RuleContext): Verdict | undefined {
  const wasFiring = state.step >= 0;
  const silentSince = state.lastArrival;
  state.lastArrival = Math.max(at, state.lastArrival ?? at);
  // a late arrival (backlog) older than the credit leaves the credit
  if (state.lastArrival >= (state.heldUntil ?? Number.POSITIVE_INFINITY)) state.heldUntil = null;
  state.intervalMs = ctx.reportingIntervalMs ?? FALLBACK_REPORTING_INTERVAL_MS;
  state.step = -1;
  state.suppressed = false;
  if (!wasFiring) return undefined;
  // the clear says the data is back and how long it was missing — not "Cleared: no data for 15 min or more", which
  // reads as still silent
  const gap = silentSince === null ? null : Math.max(0, at - silentSince);
  const name = def.name ?? (def.metric === undefined ? ctx.device.device : `${def.metric} of ${ctx.device.device}`);
  const nameZh = def.name_zh ?? (def.metric === undefined ? ctx.device.device : `${ctx.device.device} ${def.metric}`);
  return cleared({
    metric: def.metric ?? null,
    value: null,
    threshold: null,
    template: gap === null ? `${name}: data again` : `${name}: data again after ${formatDuration(gap)}`,
    templateZh: gap === null ? `${nameZh}：数据已恢复` : `${nameZh}：数据已恢复（中断 ${formatDurationZh(gap)}）`,
    def,
    ctx,
  });
}

const counts = (def: SilenceRule, metrics: Record<string, unknown>): boolean => def.metric === undefined || def.metric in metrics;

function verdictOf(def: SilenceRule, state: SilenceState, ctx: RuleContext): Verdict {
  const step = def.ladder[state.step];
  if (!step) return NORMAL_VERDICT;
  const silentMs = stepMs(def, state, state.step);
  const silentFor = formatDuration(silentMs);
  const what = def.metric === undefined ? `No data from ${ctx.device.device}` : `No ${def.metric} from ${ctx.device.device}`;
  return active({
    severity: step.severity as Severity,
    metric: def.metric ?? null,
    value: null,
    threshold: null,
    template: def.message ?? `${def.name ?? what} for ${silentFor} or more`,
    templateZh: `${def.name_zh ?? (def.metric === undefined ? `${ctx.device.device} 无数据` : `${ctx.device.device} 无 ${def.metric} 数据`)}，已持续 ${formatDurationZh(silentMs)}以上`,
    def,
    ctx,
  });
}

/**
 * No reading of the device (or of one metric) for a while, measured in gateway time from when data
 * ARRIVED (`receivedAt`), so a device clock that is off does not matter. Fires from the clock, escalates
 * along the ladder, and clears as soon as data comes back (late backlog data counts: the device is alive).
 */
export const silenceKind: RuleKind<SilenceRule, SilenceState> = {
  kind: 'silence',
  schema: silenceRuleSchema,
  initialState: () => ({ lastArrival: null, intervalMs: FALLBACK_REPORTING_INTERVAL_MS, step: -1, suppressed: false }),
  onRegister(_def, state, ctx) {
    if (state.lastArrival !== null) return undefined;
    state.intervalMs = ctx.reportingIntervalMs ?? FALLBACK_REPORTING_INTERVAL_MS;
    state.lastArrival = ctx.arrivedAt;
    return undefined;
  },
  onReading(def, state, reading, ctx) {
    return counts(def, reading.metrics) ? arrive(def, state, ctx.arrivedAt, ctx) : undefined;
  },
  onLateReading(def, state, reading, ctx) {
    return counts(def, reading.metrics) ? arrive(def, state, ctx.arrivedAt, ctx) : undefined;
  },
  onTick(def, state, ctx) {
    const due = silenceKind.dueAt(def, state);
    if (due === null || ctx.now < due || state.lastArrival === null) return undefined;
    if (!guardHolds(def.when, ctx.env)) {
      state.suppressed = true;
      return undefined;
    }
    // the most severe step due: each on its own time (a step of 3 intervals of a 10-min device, 30 min, does not hold
    // back an orange step after 15 min)
    for (let i = def.ladder.length - 1; i > state.step; i -= 1) {
      if (silentSince(state) + stepMs(def, state, i) > ctx.now) continue;
      state.step = i;
      break;
    }
    return verdictOf(def, state, ctx);
  },
  onResume(_def, state, downMs) {
    // the device could not report while the gateway was down: its silence is counted without that time
    if (state.lastArrival !== null) state.lastArrival += downMs;
    if (typeof state.heldUntil === 'number') state.heldUntil += downMs;
  },
  onHeld(_def, state, since, until, connecting) {
    // a device whose publishes waited in the gateway was not silent while they waited: only a real arrival those
    // publishes made earns it (a metric they did not carry keeps its own silence; a credit earns no more credit).
    // A device whose CONNECT the gateway held was trying to report all along: every clock of it counts from `until`.
    if (state.lastArrival === null || (!connecting && state.lastArrival < since)) return;
    state.heldUntil = Math.max(state.heldUntil ?? Number.NEGATIVE_INFINITY, until);
  },
  dueAt(def, state) {
    if (state.lastArrival === null || state.suppressed || state.step + 1 >= def.ladder.length) return null;
    // the soonest of the steps above the one in force
    let soonest = Number.POSITIVE_INFINITY;
    for (let i = state.step + 1; i < def.ladder.length; i += 1) soonest = Math.min(soonest, stepMs(def, state, i));
    return silentSince(state) + soonest;
  },
};
