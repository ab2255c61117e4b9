import type { MetricValue } from '../../../../rules/src/index.js';
import type { Rng } from '../../random/prng.js';
import type { Behaviour } from '../../scenario/behaviour-schema.js';
import type { DeviceStep } from '../timeline.js';

/** What one sensor-level behaviour does to one metric's value at `t`. `memory` is the step's own. */
export type MetricStep<K extends Behaviour['do']> = (
  behaviour: Extract<Behaviour, { do: K }>,
  step: DeviceStep,
  value: MetricValue | undefined,
  t: number,
  memory: Map<string, MetricValue | undefined>,
  rng: Rng,
) => MetricValue | undefined;
