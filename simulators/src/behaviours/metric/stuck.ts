import type { MetricStep } from './metric-step.js';

/**
 * Flat-line: the first value the sensor reports in the window, forever after. A report that does not carry
 * the metric (a slow sensor on a faster station) remembers nothing and stays without it.
 */
export const stuck: MetricStep<'stuck'> = (b, _step, value, _t, memory) => {
  if (value === undefined) return undefined;
  if (!memory.has(b.metric)) memory.set(b.metric, value);
  return memory.get(b.metric);
};
