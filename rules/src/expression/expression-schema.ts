import { z } from 'zod';
import type { CompiledExpr } from './ast.js';
import { type ExprEnv, evaluateNumber } from './evaluate.js';
import { compileExpression, ExpressionError } from './parse-expression.js';

/** An expression field of a rule file: text in, compiled tree out; a syntax error is a file problem. */
export const expressionSchema = z.string().transform((src, ctx): CompiledExpr => {
  try {
    return compileExpression(src);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    ctx.addIssue({ code: 'custom', message: `${error.message} at column ${error.offset + 1} of "${src}"` });
    return z.NEVER;
  }
});

/** A number, or an expression string resolved per device (`"0.85 * attr.setpoint"`). */
export const numberOrExpressionSchema = z
  .union([z.number(), z.string()], {
    error: (issue) => (issue.input === undefined ? 'required' : 'expected a number or an expression such as "0.85 * attr.setpoint"'),
  })
  .transform((raw, ctx): number | CompiledExpr => {
    if (typeof raw === 'number') return raw;
    const trimmed = raw.trim();
    if (trimmed !== '' && Number.isFinite(Number(trimmed))) return Number(trimmed);
    try {
      return compileExpression(raw);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      ctx.addIssue({ code: 'custom', message: `${error.message} at column ${error.offset + 1} of "${raw}"` });
      return z.NEVER;
    }
  });
export type NumberOrExpression = number | CompiledExpr;

export function resolveNumber(x: NumberOrExpression, env: ExprEnv): number | null {
  return typeof x === 'number' ? x : evaluateNumber(x.ast, env);
}
