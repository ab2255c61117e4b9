import type { MetricStep } from './metric-step.js';

/** A dead or open-circuit sensor: one constant, usually outside the physical range. */
export const dead: MetricStep<'dead'> = (b) => b.value;
