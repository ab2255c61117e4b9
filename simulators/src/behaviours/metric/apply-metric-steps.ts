import type { MetricValue } from '../../../../rules/src/index.js';
import type { Metrics } from '../../models/device-model.js';
import type { Rng } from '../../random/prng.js';
import { type DeviceStep, isActive } from '../timeline.js';
import { burst } from './burst.js';
import { dead } from './dead.js';
import { drift } from './drift.js';
import { flap } from './flap.js';
import { stuck } from './stuck.js';

/** Decimal places of a sensor value as the model reported it, so a drifted value keeps the sensor's resolution. */
function decimalsOf(value: MetricValue | undefined): number {
  if (typeof value !== 'number') return 2;
  const text = String(value);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : Math.min(4, text.length - dot - 1);
}

const round = (value: MetricValue | undefined, decimals: number): MetricValue | undefined =>
  typeof value === 'number' ? Number(value.toFixed(Math.max(decimals, 0))) : value;

/**
 * Applies the sensor-level behaviours active at `t` (drift, burst, stuck, dead, set, flap), in timeline
 * order, to the model's metrics. `memories` keeps per-step state (a stuck value).
 */
export function applyMetricSteps(
  metrics: Metrics,
  steps: readonly DeviceStep[],
  t: number,
  memories: Map<number, Map<string, MetricValue | undefined>>,
  rng: Rng,
): Metrics {
  const out: Metrics = { ...metrics };
  for (const step of steps) {
    if (!isActive(step, t)) continue;
    const b = step.behaviour;
    let memory = memories.get(step.index);
    if (!memory) {
      memory = new Map();
      memories.set(step.index, memory);
    }
    if (b.do === 'set') {
      Object.assign(out, b.metrics);
      continue;
    }
    if (b.do !== 'drift' && b.do !== 'burst' && b.do !== 'stuck' && b.do !== 'dead' && b.do !== 'flap') continue;
    const before = out[b.metric];
    const decimals = decimalsOf(before);
    let after: MetricValue | undefined;
    switch (b.do) {
      case 'drift':
        after = drift(b, step, before, t, memory, rng);
        break;
      case 'burst':
        after = burst(b, step, before, t, memory, rng);
        break;
      case 'stuck':
        after = stuck(b, step, before, t, memory, rng);
        break;
      case 'dead':
        after = dead(b, step, before, t, memory, rng);
        break;
      case 'flap':
        after = round(flap(b, step, before, t, memory, rng), Math.max(decimals, 1));
        break;
    }
    // A stuck or dead sensor sends what it holds, digit for digit: re-rounding it to the resolution of the live
    // reading it replaced (a live 28.0 goes out as 28) would make a frozen 28.4 read 28 now and then — it moves.
    const value = b.do === 'flap' || b.do === 'dead' || b.do === 'stuck' ? after : round(after, decimals);
    if (value !== undefined) out[b.metric] = value;
  }
  return out;
}
