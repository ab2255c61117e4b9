import type { MetricStep } from './metric-step.js';

/** A trapezoid pulse from the plant's value to `to`: rise, hold, fall. */
export const burst: MetricStep<'burst'> = (b, step, value, t) => {
  if (typeof value !== 'number') return value;
  const into = t - step.from;
  let shape = 0;
  if (into < b.rise) shape = b.rise === 0 ? 1 : into / b.rise;
  else if (into < b.rise + b.hold) shape = 1;
  else if (into < b.rise + b.hold + b.fall) shape = 1 - (into - b.rise - b.hold) / b.fall;
  return value + (b.to - value) * shape;
};
