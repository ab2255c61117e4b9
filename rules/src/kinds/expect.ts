import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import type { CompiledExpr } from '../expression/ast.js';
import { holds } from '../expression/evaluate.js';
import { expressionSchema } from '../expression/expression-schema.js';
import type { Reading } from '../reading.js';
import { ruleBaseSchema } from '../rule-base.js';
import type { RuleContext, RuleKind } from '../rule-kind.js';
import { severitySchema } from '../severity.js';
import type { Verdict } from '../verdict.js';
import { active, NORMAL_VERDICT, pendingVerdict, touches } from './common.js';

export const expectRuleSchema = ruleBaseSchema.extend({
  kind: z.literal('expect'),
  /** When this becomes true (a rising edge)… */
  trigger: expressionSchema,
  /** …every one of these must hold within `within`, else the interlock failed. */
  expect: z.array(expressionSchema).min(1),
  within: durationSchema,
  /**
   * Optional: the check ends only when this holds (or the expectations do) — a check started by a short
   * trigger (a sudden drop that levels off) still runs to its deadline, and a failure stays until then.
   * Without it, the trigger ending cancels a pending check and clears a failure.
   */
  reset: expressionSchema.optional(),
  severity: severitySchema.default('red'),
});
export type ExpectRule = z.infer<typeof expectRuleSchema>;

export interface ExpectState {
  /** The trigger held at the last evaluation (edge detection). */
  triggered: boolean;
  /** Waiting for the expectations until this time; null when not waiting. */
  deadline: number | null;
  /** The expectations were not met in time: the alarm is up. */
  failed: boolean;
  /** Expectations still unmet when the deadline passed. */
  unmet: string[];
}

const unmetOf = (def: ExpectRule, ctx: RuleContext): string[] => def.expect.filter((e) => !holds(e.ast, ctx.env)).map((e) => e.src);

const concerns = (def: ExpectRule, reading: Reading): boolean =>
  touches(def.trigger, reading) || touches(def.reset, reading) || def.expect.some((e: CompiledExpr) => touches(e, reading));

function verdictOf(def: ExpectRule, state: ExpectState, ctx: RuleContext): Verdict {
  if (state.deadline !== null) return pendingVerdict(state.deadline);
  if (!state.failed) return NORMAL_VERDICT;
  return active({
    severity: def.severity,
    metric: null,
    value: null,
    threshold: null,
    template:
      def.message ?? `Interlock failure: ${state.unmet.join(' AND ')} not seen within ${formatDuration(def.within)} of ${def.trigger.src}`,
    templateZh: `联锁失效：触发后 ${formatDuration(def.within)} 内未见 ${state.unmet.join(' 且 ')}`,
    def,
    ctx,
  });
}

/**
 * Interlock verification: when `trigger` becomes true, every `expect` must hold within `within`; if not,
 * a separate alarm. Waiting is `pending`; the failure clears once the expectations hold or the trigger ends
 * (the alarm stays open for the duty officer to resolve).
 */
export const expectKind: RuleKind<ExpectRule, ExpectState> = {
  kind: 'expect',
  schema: expectRuleSchema,
  initialState: () => ({ triggered: false, deadline: null, failed: false, unmet: [] }),
  onReading(def, state, reading, ctx) {
    if (!concerns(def, reading)) return undefined;
    const trigger = holds(def.trigger.ast, ctx.env);
    const unmet = unmetOf(def, ctx);
    const ends = def.reset === undefined ? !trigger : holds(def.reset.ast, ctx.env);
    if (ends || (def.reset !== undefined && unmet.length === 0)) {
      state.deadline = null;
      state.failed = false;
    } else if (def.reset !== undefined && (state.deadline !== null || state.failed)) {
      // a check under way runs to its deadline whatever the trigger does now
    } else if (!trigger) {
      state.deadline = null;
      state.failed = false;
    } else if (!state.triggered) {
      state.deadline = unmet.length === 0 || def.within === 0 ? null : ctx.now + def.within;
      state.failed = unmet.length > 0 && def.within === 0;
      state.unmet = unmet;
    } else if (unmet.length === 0) {
      state.deadline = null;
      state.failed = false;
    }
    state.triggered = trigger;
    return verdictOf(def, state, ctx);
  },
  onTick(def, state, ctx) {
    if (state.deadline === null || ctx.now < state.deadline) return undefined;
    state.deadline = null;
    state.unmet = unmetOf(def, ctx);
    state.failed = state.unmet.length > 0;
    return verdictOf(def, state, ctx);
  },
  dueAt: (_def, state) => state.deadline,
  onResume(_def, state, downMs) {
    // what is expected could not be reported while the gateway was down: the deadline moves on by that time
    if (state.deadline !== null && !state.failed) state.deadline += downMs;
  },
};
