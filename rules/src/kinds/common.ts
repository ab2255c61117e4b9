import { z } from 'zod';
import type { CompiledExpr } from '../expression/ast.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { evaluate } from '../expression/evaluate.js';
import type { MetricValue, Reading } from '../reading.js';
import { type RuleContext, renderMessage } from '../rule-kind.js';
import type { Severity } from '../severity.js';
import type { Verdict } from '../verdict.js';

/** `samples: {n, m}`: a level counts only when n of the last m samples call for it. */
export const samplesSchema = z
  .object({ n: z.number().int().min(1), m: z.number().int().min(1).max(64) })
  .refine((s) => s.n <= s.m, { message: 'n must be ≤ m', path: ['n'] });

/** A `when` guard: the rule applies only while it is known to be true. No guard: always. */
export const guardHolds = (when: CompiledExpr | undefined, env: ExprEnv): boolean => when === undefined || evaluate(when.ast, env) === true;

/** Whether a reading carries any of the names an expression reads (so it may change the guard's value). */
export function touches(expr: CompiledExpr | undefined, reading: Reading): boolean {
  if (!expr) return false;
  for (const name of expr.metrics) if (name in reading.metrics) return true;
  return false;
}

export interface ActiveFields {
  severity: Severity;
  metric: string | null;
  value: MetricValue | null;
  threshold: number | null;
  template: string;
  ctx: RuleContext;
}

/** A `true` verdict with its message rendered from the rule's template (or the kind's default). */
export function active(fields: ActiveFields): Verdict {
  const unit = fields.metric === null ? null : fields.ctx.unitOf(fields.metric);
  return {
    status: 'true',
    severity: fields.severity,
    metric: fields.metric,
    value: fields.value,
    threshold: fields.threshold,
    unit,
    message: renderMessage(fields.template, {
      value: fields.value,
      threshold: fields.threshold,
      unit,
      metric: fields.metric,
      severity: fields.severity,
      device: fields.ctx.device.device,
      site: fields.ctx.device.site,
    }),
  };
}

export const NORMAL_VERDICT: Verdict = { status: 'false' };
export const pendingVerdict = (dueAt: number | null): Verdict => ({ status: 'pending', dueAt });
