import { describe, expect, it } from 'vitest';
import type { RegisteredDevice } from '../devices/device-registry.js';
import type { LaneVerdict, TelemetryLane } from '../lane/telemetry-lane.js';
import { createVerdictWait, timingVerdicts } from './verdict-wait.js';

describe('the recent wait of verdicts (admission in a cluster)', () => {
  it('is a moving average of the waits, and 0 once no verdict came for a second; the next wait starts it afresh', () => {
    let now = 0;
    const wait = createVerdictWait(() => now);
    expect(wait.recent()).toBe(0);
    wait.observe(100);
    expect(wait.recent()).toBe(100);
    wait.observe(1_100);
    expect(wait.recent()).toBe(200);
    now = 999;
    expect(wait.recent()).toBe(200);
    now = 1_000;
    expect(wait.recent()).toBe(0);
    wait.observe(40);
    expect(wait.recent()).toBe(40);
  });

  it('times each verdict from its submission and passes it on unchanged', () => {
    let now = 0;
    const waits: number[] = [];
    const pending: Array<() => void> = [];
    const verdict: LaneVerdict = { accepted: 1, rejections: [] };
    const lane = {
      submit: (_device: RegisteredDevice, _payload: Buffer, _at: number, decided: (v: LaneVerdict) => void) =>
        pending.push(() => decided(verdict)),
    } as Pick<TelemetryLane, 'submit'>;
    const timed = timingVerdicts(lane, { observe: (ms) => waits.push(ms), recent: () => 0 }, () => now);
    const got: LaneVerdict[] = [];
    timed.submit({} as RegisteredDevice, Buffer.from('{}'), 0, (v) => got.push(v));
    now = 30;
    timed.submit({} as RegisteredDevice, Buffer.from('{}'), 0, (v) => got.push(v));
    now = 250;
    for (const decide of pending) decide();
    expect(waits).toEqual([250, 220]);
    expect(got).toEqual([verdict, verdict]);
  });
});
