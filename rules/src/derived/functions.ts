import { tangentAngle } from './tangent-angle.js';

/**
 * Pure functions that expressions may call: derived values computed from the latest values and
 * attributes. A function returns `null` when its inputs do not allow an answer (unknown, out of domain).
 */
export interface DerivedFunction {
  /** Allowed argument counts: [min, max]. */
  arity: readonly [number, number];
  apply(args: readonly number[]): number | null;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export const DERIVED_FUNCTIONS: Readonly<Record<string, DerivedFunction>> = {
  abs: { arity: [1, 1], apply: ([x]) => Math.abs(x as number) },
  min: { arity: [1, 16], apply: (xs) => Math.min(...xs) },
  max: { arity: [1, 16], apply: (xs) => Math.max(...xs) },
  sqrt: { arity: [1, 1], apply: ([x]) => ((x as number) < 0 ? null : Math.sqrt(x as number)) },
  /** Length of a vector: horizontal displacement = hypot(disp_east, disp_north). */
  hypot: { arity: [1, 16], apply: (xs) => Math.hypot(...xs) },
  round: { arity: [1, 2], apply: ([x, digits]) => finite(Number((x as number).toFixed(digits ?? 0))) },
  /** Degrees of arctan(x). */
  atan_deg: { arity: [1, 1], apply: ([x]) => (Math.atan(x as number) * 180) / Math.PI },
  /** Improved tangent angle of the slope-deformation curve; see tangent-angle.ts. */
  tangent_angle: { arity: [2, 3], apply: ([v, v0, minV]) => tangentAngle(v as number, v0 as number, minV ?? 0) },
};
