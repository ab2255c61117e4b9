import type { MetricStep } from './metric-step.js';

/** Flat-line: the first value seen in the window, forever after. */
export const stuck: MetricStep<'stuck'> = (b, _step, value, _t, memory) => {
  if (!memory.has(b.metric)) memory.set(b.metric, value);
  return memory.get(b.metric) ?? value;
};
