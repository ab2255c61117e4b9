import { DERIVED_FUNCTIONS } from '../derived/functions.js';
import type { ClockName } from '../derived/local-time.js';
import type { MetricValue } from '../reading.js';
import type { Expr } from './ast.js';

/** Where names come from: latest metric and derived values (and locals such as `value`), attributes. */
export interface ExprEnv {
  metric(name: string): MetricValue | undefined;
  attr(name: string): MetricValue | undefined;
  /** Local time of the evaluation; absent or null: unknown. */
  clock?(name: ClockName): number | null;
}

/**
 * Evaluates a tree; `null` is "unknown" (a missing value, a type mismatch, division by zero).
 * Logic is Kleene's: `false and unknown` is false, `true or unknown` is true, otherwise unknown spreads.
 */
export function evaluate(e: Expr, env: ExprEnv): MetricValue | null {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'ref': {
      // Only own data values: a name like `constructor` or `__proto__` must not reach the prototype.
      const v: unknown = e.attr ? env.attr(e.name) : env.metric(e.name);
      return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' ? v : null;
    }
    case 'clock':
      return env.clock?.(e.name) ?? null;
    case 'neg': {
      const a = evaluate(e.a, env);
      return typeof a === 'number' ? -a : null;
    }
    case 'known':
      return evaluate(e.a, env) !== null;
    case 'not': {
      const a = evaluate(e.a, env);
      return typeof a === 'boolean' ? !a : null;
    }
    case 'and': {
      const a = evaluate(e.a, env);
      if (a === false) return false;
      const b = evaluate(e.b, env);
      if (b === false) return false;
      return a === true && b === true ? true : null;
    }
    case 'or': {
      const a = evaluate(e.a, env);
      if (a === true) return true;
      const b = evaluate(e.b, env);
      if (b === true) return true;
      return a === false && b === false ? false : null;
    }
    case 'arith': {
      const a = evaluate(e.a, env);
      const b = evaluate(e.b, env);
      if (typeof a !== 'number' || typeof b !== 'number') return null;
      const r = e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : e.op === '/' ? a / b : a % b;
      return Number.isFinite(r) ? r : null;
    }
    case 'cmp': {
      const a = evaluate(e.a, env);
      const b = evaluate(e.b, env);
      if (a === null || b === null) return null;
      if (e.op === '==') return a === b;
      if (e.op === '!=') return a !== b;
      if (typeof a !== 'number' || typeof b !== 'number') return null;
      return e.op === '<' ? a < b : e.op === '<=' ? a <= b : e.op === '>' ? a > b : a >= b;
    }
    case 'call': {
      const fn = Object.hasOwn(DERIVED_FUNCTIONS, e.fn) ? DERIVED_FUNCTIONS[e.fn] : undefined;
      if (!fn) return null;
      const args: number[] = [];
      for (const arg of e.args) {
        const v = evaluate(arg, env);
        if (typeof v !== 'number') return null;
        args.push(v);
      }
      const r = fn.apply(args);
      return r === null || !Number.isFinite(r) ? null : r;
    }
  }
}

/** True only when the expression is known to be true. */
export const holds = (e: Expr, env: ExprEnv): boolean => evaluate(e, env) === true;

export function evaluateNumber(e: Expr, env: ExprEnv): number | null {
  const v = evaluate(e, env);
  return typeof v === 'number' ? v : null;
}
