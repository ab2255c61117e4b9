import { z } from 'zod';
import { durationSchema, formatDuration, formatDurationZh } from '../duration.js';
import type { CompiledExpr } from '../expression/ast.js';
import { holds } from '../expression/evaluate.js';
import { expressionSchema } from '../expression/expression-schema.js';
import type { Reading } from '../reading.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { RuleContext, RuleKind } from '../rule-kind.js';
import { severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { active, NORMAL_VERDICT, pendingVerdict, touches } from './common.js';

/**
 * One expectation: an expression, or one with the words a duty officer reads when it is not met
 * (`{ condition: "quick_shutoff == 'closed'", name: the quick shut-off valve closed, name_zh: 快速切断阀关闭 }`).
 */
const expectationSchema = z.union([
  expressionSchema,
  z
    .strictObject({ condition: expressionSchema, name: z.string().min(1), name_zh: z.string().min(1).optional() })
    .transform(({ condition, name, name_zh }): Expectation => ({ ...condition, name, ...(name_zh === undefined ? {} : { name_zh }) })),
]);

/** An expectation as a rule holds it: the compiled expression, with its words when it has them. */
export type Expectation = CompiledExpr & { name?: string; name_zh?: string };

export const expectRuleSchema = ruleBaseSchema.extend({
  kind: z.literal('expect'),
  /** When this becomes true (a rising edge)… */
  trigger: expressionSchema,
  /** …every one of these must hold within `within`, else the interlock failed. */
  expect: z.array(expectationSchema).min(1),
  within: durationSchema,
  /**
   * Optional: a check once started runs to its deadline whatever the trigger or this does meanwhile — a sudden drop
   * that levels off, or the cast stopped without the valves moving, still needs the interlock — and a failure stays
   * until the expectations hold or this holds. Without it, the trigger ending cancels a pending check and clears a
   * failure.
   */
  reset: expressionSchema.optional(),
  severity: severitySchema.default('red'),
});
export type ExpectRule = z.infer<typeof expectRuleSchema>;

export interface ExpectState {
  /** The trigger held at the last evaluation (edge detection). */
  triggered: boolean;
  /** Waiting for the expectations until this time (the device's); null when not waiting. */
  deadline: number | null;
  /**
   * When the gateway's clock judges a deadline no reading has passed (a device that went quiet): `within` after the
   * trigger reading arrived. Absent: the deadline.
   */
  judgeBy?: number;
  /** The expectations were not met in time: the alarm is up. */
  failed: boolean;
  /** Expectations still unmet when the deadline passed. */
  unmet: string[];
}

const unmetOf = (def: ExpectRule, ctx: RuleContext): string[] => def.expect.filter((e) => !holds(e.ast, ctx.env)).map((e) => e.src);

const concerns = (def: ExpectRule, reading: Reading): boolean =>
  touches(def.trigger, reading) || touches(def.reset, reading) || def.expect.some((e: CompiledExpr) => touches(e, reading));

/**
 * The trigger's rising edge: the expectations are waited for until `within` has passed (judged at once for 0). The
 * deadline is the device's: the first reading at or past it judges it. With no such reading the gateway's clock does,
 * `within` after the trigger reading arrived — not after its device time, which a device clock running slow (or a
 * reading that waited in a backlog) puts in the gateway's past, failing an interlock whose valves close at once.
 */
function start(def: ExpectRule, state: ExpectState, unmet: string[], ctx: RuleContext): void {
  state.deadline = unmet.length === 0 || def.within === 0 ? null : ctx.now + def.within;
  state.failed = unmet.length > 0 && def.within === 0;
  state.unmet = unmet;
  if (state.deadline === null) delete state.judgeBy;
  else state.judgeBy = state.deadline + Math.max(0, ctx.arrivedAt - ctx.now);
}

/** No check waits any more. */
function stopWaiting(state: ExpectState): void {
  state.deadline = null;
  delete state.judgeBy;
}

/** The deadline passed, judged by the readings up to it: failed if one of them left an expectation unmet. */
function pastDeadline(state: ExpectState): void {
  stopWaiting(state);
  state.failed = state.unmet.length > 0;
}

/** The deadline passed on the gateway's clock (no reading past it): failed if an expectation is still unmet. */
function judge(def: ExpectRule, state: ExpectState, ctx: RuleContext): void {
  state.unmet = unmetOf(def, ctx);
  pastDeadline(state);
}

/** A trigger short enough to read in a message; a longer one (a casting interlock's dozen conditions) is "its trigger". */
const TRIGGER_SHOWN_CHARS = 60;

/** The expectations not met, in words where they have them: `{unmet}` of the messages. */
function unmetText(def: ExpectRule, unmet: readonly string[], zh: boolean): string {
  const words = unmet.map((src) => {
    const e = (def.expect as Expectation[]).find((x) => x.src === src);
    // an expression without words is quoted in Chinese text: 未见「valve == 'closed'」
    return (zh ? (e?.name_zh ?? e?.name) : e?.name) ?? (zh ? `「${src}」` : src);
  });
  return words.join(zh ? '、' : ' AND ');
}

function verdictOf(def: ExpectRule, state: ExpectState, ctx: RuleContext): Verdict {
  if (state.deadline !== null) return pendingVerdict(state.deadline);
  if (!state.failed) return NORMAL_VERDICT;
  const unmet = unmetText(def, state.unmet, false);
  const unmetZh = unmetText(def, state.unmet, true);
  return active({
    severity: def.severity,
    metric: null,
    value: null,
    threshold: null,
    template: (
      def.message ??
      `Interlock failure: {unmet} not seen within ${formatDuration(def.within)} of ${
        def.trigger.src.length <= TRIGGER_SHOWN_CHARS ? def.trigger.src : 'its trigger'
      }`
    ).replaceAll('{unmet}', unmet),
    templateZh: `联锁失效：触发后 ${formatDurationZh(def.within)}内未见{unmet}`.replaceAll('{unmet}', unmetZh),
    def: def.message_zh === undefined ? def : { ...def, message_zh: def.message_zh.replaceAll('{unmet}', unmetZh) },
    ctx,
  });
}

/**
 * Interlock verification: when `trigger` becomes true, every `expect` must hold within `within`; if not,
 * a separate alarm. Waiting is `pending`; the failure clears once the expectations hold or the trigger ends (with
 * `reset`: once `reset` holds); the alarm stays open for the duty officer to resolve.
 */
export const expectKind: RuleKind<ExpectRule, ExpectState> = {
  kind: 'expect',
  schema: expectRuleSchema,
  initialState: () => ({ triggered: false, deadline: null, failed: false, unmet: [] }),
  onReading(def, state, reading, ctx) {
    const concerned = concerns(def, reading);
    if (state.deadline !== null && (ctx.now > state.deadline || (ctx.now === state.deadline && !concerned))) {
      // the device's time passed the deadline: judged on what its readings showed up to it (`unmet`, kept as they
      // came), not on this one — valves reported closed after the deadline did not close within it
      pastDeadline(state);
      if (concerned) state.triggered = holds(def.trigger.ast, ctx.env);
      return verdictOf(def, state, ctx);
    }
    if (!concerned) return undefined;
    const trigger = holds(def.trigger.ast, ctx.env);
    const unmet = unmetOf(def, ctx);
    const checking = state.deadline !== null || state.failed;
    if (checking && unmet.length === 0) {
      stopWaiting(state);
      state.failed = false;
    } else if (def.reset === undefined) {
      if (!trigger) {
        stopWaiting(state);
        state.failed = false;
      } else if (!state.triggered) start(def, state, unmet, ctx);
    } else if (state.deadline !== null) {
      // a check under way is judged at its deadline: neither the trigger ending nor the reset (a cast stopped is not
      // the valves moving) cancels it
    } else if (state.failed) {
      if (holds(def.reset.ast, ctx.env)) state.failed = false;
    } else if (trigger && !state.triggered && !holds(def.reset.ast, ctx.env)) start(def, state, unmet, ctx);
    // what is still unmet while a check runs: its judgement at the deadline (this reading's, if it is at it)
    if (state.deadline !== null) state.unmet = unmet;
    if (state.deadline !== null && ctx.now >= state.deadline) pastDeadline(state);
    state.triggered = trigger;
    return verdictOf(def, state, ctx);
  },
  onTick(def, state, ctx) {
    if (state.deadline === null || ctx.now < (state.judgeBy ?? state.deadline)) return undefined;
    judge(def, state, ctx);
    return verdictOf(def, state, ctx);
  },
  dueAt: (_def, state) => (state.deadline === null ? null : (state.judgeBy ?? state.deadline)),
  onResume(_def, state, downMs) {
    // what is expected could not be reported while the gateway was down: the deadline moves on by that time
    if (state.deadline !== null && !state.failed) {
      state.deadline += downMs;
      if (state.judgeBy !== undefined) state.judgeBy += downMs;
    }
  },
};
