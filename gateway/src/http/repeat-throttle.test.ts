import { describe, expect, it } from 'vitest';
import { createRepeatThrottle } from './repeat-throttle.js';

describe('records of the same refusal at most once a window', () => {
  it('records the first, counts the repeats within the window, and says how many with the next record', () => {
    let clock = 1_000_000;
    const throttle = createRepeatThrottle(60_000, () => clock);
    expect(throttle.admit('viewer|GET /api/audit')).toBe(0);
    clock += 10_000;
    expect(throttle.admit('viewer|GET /api/audit')).toBeNull();
    expect(throttle.admit('viewer|GET /api/audit')).toBeNull();
    // another caller or route is its own
    expect(throttle.admit('li|GET /api/audit')).toBe(0);
    clock += 50_000;
    expect(throttle.admit('viewer|GET /api/audit')).toBe(2);
    expect(throttle.admit('viewer|GET /api/audit')).toBeNull();
    // a clock set back records again rather than holding every refusal until it catches up
    clock -= 3_600_000;
    expect(throttle.admit('viewer|GET /api/audit')).toBe(1);
  });

  it('stays bounded: past 10,000 keys the stale ones are forgotten, then the oldest', () => {
    let clock = 0;
    const throttle = createRepeatThrottle(60_000, () => clock);
    for (let i = 0; i < 10_000; i++) throttle.admit(`k${i}`);
    clock += 60_000;
    expect(throttle.admit('new')).toBe(0);
    // k0 was forgotten with the rest: recorded again, not counted as a repeat
    expect(throttle.admit('k0')).toBe(0);
    for (let i = 0; i < 10_000; i++) throttle.admit(`fresh${i}`);
    expect(throttle.admit('fresh9999')).toBeNull();
  });
});
