import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../../../../rules/src/index.js';
import type { Rng } from '../../random/prng.js';
import type { DeviceStep } from '../timeline.js';
import { stuck } from './stuck.js';

describe('a stuck sensor', () => {
  const behaviour = { do: 'stuck', metric: 'disp_east' } as Parameters<typeof stuck>[0];
  const run = (values: Array<MetricValue | undefined>): Array<MetricValue | undefined> => {
    const memory = new Map<string, MetricValue | undefined>();
    return values.map((value, t) => stuck(behaviour, {} as DeviceStep, value, t, memory, {} as Rng));
  };

  it('freezes at the first value it reports', () => {
    expect(run([12.5, 13.1, 14.2])).toEqual([12.5, 12.5, 12.5]);
  });

  it('waits for a report that carries the metric (a slower sensor on a faster station)', () => {
    expect(run([undefined, 12.5, undefined, 13.1])).toEqual([undefined, 12.5, undefined, 12.5]);
  });
});
