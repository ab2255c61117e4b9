import { describe, expect, it } from 'vitest';
import { createRng } from '../../random/prng.js';
import { DAY, MINUTE } from '../../time/duration.js';
import type { ActiveEvent } from '../device-model.js';
import { mineSlopeModel } from './mine-slope-model.js';

const START = Date.UTC(2026, 10, 22);

/** When each GNSS solution came, reading every 10 min for `days` under `events`. */
function gnssTimes(days: number, events: ActiveEvent[]): number[] {
  const model = mineSlopeModel.create({ rng: createRng(7), attributes: {}, params: {}, start: START });
  const times: number[] = [];
  for (let t = START; t <= START + days * DAY; t += 10 * MINUTE) {
    const report = model.read(t, events);
    if (report && 'disp_east' in report.metrics) times.push(t);
  }
  return times;
}

const gapsMin = (times: number[]): number[] => times.slice(1).map((t, i) => (t - (times[i] as number)) / MINUTE);

describe('mine-slope GNSS station', () => {
  it('solves every 30 min in steady creep', () => {
    expect(new Set(gapsMin(gnssTimes(2, [])))).toEqual(new Set([30]));
  });

  it('solves every 10 min once the slope moves faster than 10 mm/d, as a warned station does', () => {
    // creep doubling each day from 2 mm/d: 10 mm/d after log2(5) ≈ 2.32 days
    const accelerating: ActiveEvent[] = [{ name: 'acceleration', since: START, params: { doublingDays: 1 } }];
    const times = gnssTimes(3, accelerating);
    const warnedFrom = START + Math.log2(5) * DAY;
    const before = times.filter((t) => t < warnedFrom);
    const after = times.filter((t) => t > warnedFrom + 30 * MINUTE);
    expect(new Set(gapsMin(before))).toEqual(new Set([30]));
    expect(after.length).toBeGreaterThan(60);
    expect(new Set(gapsMin(after))).toEqual(new Set([10]));
  });

  it('is carried away when the slope fails: it reports until the failure, and nothing from then on', () => {
    // doubling daily from 2 mm/d: tertiary past 50 mm/d after log2(25) ≈ 4.64 days, failure 2 days later
    const accelerating: ActiveEvent[] = [{ name: 'acceleration', since: START, params: { doublingDays: 1 } }];
    const failure = START + (Math.log2(25) + 2) * DAY;
    const model = mineSlopeModel.create({ rng: createRng(7), attributes: {}, params: {}, start: START });
    const reported: number[] = [];
    for (let t = START; t <= START + 8 * DAY; t += 10 * MINUTE) if (model.read(t, accelerating)) reported.push(t);
    const last = reported[reported.length - 1] as number;
    expect(last).toBeLessThan(failure);
    expect(last).toBeGreaterThan(failure - 20 * MINUTE);
  });
});
