import { MINUTE } from '../../time/duration.js';
import type { MetricStep } from './metric-step.js';

/** `rate` units per minute from the start, capped at `to`; after `for`, back to the plant's value over `return`. */
export const drift: MetricStep<'drift'> = (b, step, value, t) => {
  if (typeof value !== 'number') return value;
  const end = b.for !== undefined ? step.from + b.for : Number.POSITIVE_INFINITY;
  let offset = (b.rate * (Math.min(t, end) - step.from)) / MINUTE;
  if (t > end && b.return !== undefined) offset *= Math.max(0, 1 - (t - end) / b.return);
  let out = value + offset;
  if (b.to !== undefined) out = b.rate >= 0 ? Math.min(out, Math.max(value, b.to)) : Math.max(out, Math.min(value, b.to));
  return out;
};
