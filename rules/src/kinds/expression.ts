import { z } from 'zod';
import { nextLocalHour, UTC_OFFSET_ATTRIBUTE, utcOffsetOf } from '../derived/local-time.js';
import { durationSchema } from '../duration.js';
import type { Expr } from '../expression/ast.js';
import { evaluate } from '../expression/evaluate.js';
import { expressionSchema } from '../expression/expression-schema.js';
import type { Reading } from '../reading.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { RuleContext, RuleKind } from '../rule-kind.js';
import { type Severity, severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { active, cleared, guardEndedTexts, guardHolds, NORMAL_VERDICT, nameZhOf, pendingVerdict, touches } from './common.js';
import {
  advance,
  advanceVisibly,
  delaysOf,
  initialLevelState,
  type LevelState,
  latchSchema,
  levelDueAt,
  levelStateFrom,
  releaseLatch,
  resumeLevel,
} from './leveled.js';

export const expressionRuleSchema = ruleBaseSchema.extend({
  kind: z.literal('expression'),
  /** In alarm while this holds: `process_running and not fan_running`. */
  condition: expressionSchema,
  /** The rule applies only while this holds. */
  when: expressionSchema.optional(),
  severity: severitySchema,
  /** The metric whose value the alarm reports (optional). */
  metric: z.string().min(1).optional(),
  onDelay: durationSchema.default(0),
  offDelay: durationSchema.default(0),
  /** `until_acknowledged`: once raised, held until a duty officer acknowledges the alarm. */
  latch: latchSchema,
});
export type ExpressionRule = z.infer<typeof expressionRuleSchema>;

export type ExpressionState = LevelState;

/** Whether an expression reads the local time (`local_hour`, `weekday`). */
function readsClock(e: Expr): boolean {
  switch (e.k) {
    case 'clock':
      return true;
    case 'call':
      return e.args.some(readsClock);
    case 'neg':
    case 'not':
    case 'known':
      return readsClock(e.a);
    case 'and':
    case 'or':
    case 'arith':
    case 'cmp':
      return readsClock(e.a) || readsClock(e.b);
    default:
      return false;
  }
}

/** Whether the rule reads the clock, kept on the definition (a symbol key: invisible to JSON and fingerprints). */
const READS_CLOCK: unique symbol = Symbol('reads the clock');
const onTheClock = (def: ExpressionRule): boolean => {
  const holder = def as ExpressionRule & { [READS_CLOCK]?: boolean };
  let reads = holder[READS_CLOCK];
  if (reads === undefined) {
    reads = readsClock(def.condition.ast) || (def.when !== undefined && readsClock(def.when.ast));
    Object.defineProperty(holder, READS_CLOCK, { value: reads, enumerable: false });
  }
  return reads;
};

/** Evaluates the condition now and moves the level; a rule reading the clock is due again at the next local hour. */
function judge(def: ExpressionRule, state: ExpressionState, ctx: RuleContext): Verdict | undefined {
  if (onTheClock(def)) {
    const offset = utcOffsetOf(ctx.env.attr(UTC_OFFSET_ATTRIBUTE));
    state.clockAt = offset === null ? null : nextLocalHour(ctx.now, offset);
  }
  let holds: boolean;
  if (!guardHolds(def.when, ctx.env)) holds = false;
  else {
    const result = evaluate(def.condition.ast, ctx.env);
    if (typeof result !== 'boolean') return undefined;
    holds = result;
  }
  const left = state.level;
  const { due, changed } = advanceVisibly(state, holds ? def.severity : null, ctx.now, delaysOf(def));
  return changed ? verdictOf(def, state, due, ctx, left) : undefined;
}

const concerns = (def: ExpressionRule, reading: Reading): boolean =>
  touches(def.condition, reading) || touches(def.when, reading) || (def.condition.metrics.length === 0 && def.when === undefined);

function verdictOf(
  def: ExpressionRule,
  state: ExpressionState,
  due: number | null,
  ctx: RuleContext,
  left: Severity | null = null,
): Verdict {
  if (due !== null) return pendingVerdict(due);
  if (state.level === null) {
    if (left === null) return NORMAL_VERDICT;
    // the clear says so in its own words, with the value the rule reports now
    return cleared({
      metric: def.metric ?? null,
      value: def.metric === undefined ? null : (ctx.latest[def.metric] ?? null),
      threshold: null,
      template: `${def.name ?? def.id}: the condition no longer holds`,
      templateZh: `${nameZhOf(def)}：报警条件已不成立`,
      ...guardEndedTexts(def, ctx.env),
      def,
      ctx,
    });
  }
  return active({
    severity: state.level,
    metric: def.metric ?? null,
    value: def.metric === undefined ? null : (ctx.latest[def.metric] ?? null),
    threshold: null,
    template: def.message ?? `${def.name ?? def.id}: ${def.condition.src}`,
    def,
    ctx,
  });
}

/**
 * A boolean condition over the device's latest values, derived values and attributes. An unknown result
 * (a value never received, a type mismatch) changes nothing: the rule keeps what it had.
 */
export const expressionKind: RuleKind<ExpressionRule, ExpressionState> = {
  kind: 'expression',
  schema: expressionRuleSchema,
  initialState: () => initialLevelState(),
  restoreState: (_def, saved) => levelStateFrom(saved),
  onResume: (_def, state, downMs) => resumeLevel(state, downMs),
  onReading(def, state, reading, ctx) {
    if (!concerns(def, reading)) return undefined;
    return judge(def, state, ctx);
  },
  onAcknowledge(def, state, ctx) {
    const left = state.level;
    return releaseLatch(state) ? verdictOf(def, state, advance(state, state.target, ctx.now, delaysOf(def)), ctx, left) : undefined;
  },
  onTick(def, state, ctx) {
    // the local hour turned: judged on the clock with the latest values (night running ends at 06:00 without data)
    if (state.clockAt !== null && ctx.now >= state.clockAt) return judge(def, state, ctx);
    const due = levelDueAt(state, delaysOf(def));
    if (due === null || ctx.now < due) return undefined;
    const left = state.level;
    return verdictOf(def, state, advance(state, state.target, ctx.now, delaysOf(def)), ctx, left);
  },
  dueAt(def, state) {
    const due = levelDueAt(state, delaysOf(def));
    if (state.clockAt === null) return due;
    return due === null ? state.clockAt : Math.min(due, state.clockAt);
  },
};
