import { describe, expect, it } from 'vitest';
import { backoffDelay } from './sink.js';

describe('backoff between attempts', () => {
  it('doubles per attempt from the base, jittered between half and all of it', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 100, 10_000, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 100, 10_000, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(3, 100, 10_000, () => 0.5)).toBe(300);
  });

  it('never more than the cap, and the first attempt (or none) waits the base at most', () => {
    expect(backoffDelay(20, 100, 1_000, () => 1)).toBe(1_000);
    expect(backoffDelay(20, 100, 1_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 100, 1_000, () => 1)).toBe(100);
    expect(backoffDelay(-3, 100, 1_000, () => 0)).toBe(50);
  });

  it('jitters with Math.random by default, within its bounds', () => {
    for (let i = 0; i < 50; i += 1) {
      const delay = backoffDelay(2, 100, 1_000);
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(200);
    }
  });
});
