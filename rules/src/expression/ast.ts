import type { ClockName } from '../derived/local-time.js';
import type { MetricValue } from '../reading.js';

/** A parsed expression: plain JSON, so rule definitions stay comparable and serialisable. */
export type Expr =
  | { k: 'lit'; v: MetricValue }
  /** A metric, derived value or local name (`value`); `attr.x` reads a device attribute. */
  | { k: 'ref'; attr: boolean; name: string }
  /** Local time of the evaluation (`local_hour`, `weekday`): see derived/local-time.ts. */
  | { k: 'clock'; name: ClockName }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'neg'; a: Expr }
  | { k: 'not'; a: Expr }
  /** `known(x)`: whether `x` has a value now — true or false, never unknown (a fail-safe guard's way to ask). */
  | { k: 'known'; a: Expr }
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'arith'; op: '+' | '-' | '*' | '/' | '%'; a: Expr; b: Expr }
  | { k: 'cmp'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; a: Expr; b: Expr };

/** An expression as a rule holds it: its text (for messages and equality) and its tree. */
export interface CompiledExpr {
  src: string;
  ast: Expr;
  /** Metric (and derived-value) names it reads, and `rule.<id>` verdicts of other rules of the device. */
  metrics: string[];
  /** Attribute names it reads (`attr.x`). */
  attrs: string[];
}
