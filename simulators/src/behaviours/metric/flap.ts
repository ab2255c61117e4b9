import type { MetricStep } from './metric-step.js';

/** Noise on a threshold: uniform within ±amplitude around `around`. */
export const flap: MetricStep<'flap'> = (b, _step, _value, _t, _memory, rng) => b.around + rng.between(-b.amplitude, b.amplitude);
