import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

const rule = `
profile: p
rules:
  - id: dp_stuck
    kind: stuck
    metric: diff_pressure
    window: 30m
    epsilon: 0.5
    when: fan_running
    source: test
`;
const MIN = 60_000;

describe('stuck', () => {
  it('flags a value constant within ε for the window while the fan runs, and clears when it moves', () => {
    const h = harness(rule);
    for (let m = 0; m <= 30; m += 1) h.read(m * MIN, { diff_pressure: 1200 + (m % 2) * 0.3, fan_running: true });
    expect(h.state('dp_stuck')).toBe('yellow');
    h.read(31 * MIN, { diff_pressure: 1250 });
    expect(h.state('dp_stuck')).toBe('false');
  });

  it('does not flag a moving value, nor a flat one shorter than the window', () => {
    const h = harness(rule);
    for (let m = 0; m <= 60; m += 1) h.read(m * MIN, { diff_pressure: 1000 + m * 5, fan_running: true });
    for (let m = 61; m < 90; m += 1) h.read(m * MIN, { diff_pressure: 1000, fan_running: true });
    expect(h.changes.filter((c) => c.verdict.status === 'true')).toHaveLength(0);
  });

  it('does not flag a flat value while the guard is false (fan off: ΔP legitimately constant)', () => {
    const h = harness(rule);
    for (let m = 0; m <= 60; m += 1) h.read(m * MIN, { diff_pressure: 0, fan_running: false });
    expect(h.state('dp_stuck')).toBe('false');
  });
});
