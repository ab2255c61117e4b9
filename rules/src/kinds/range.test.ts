import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

describe('range', () => {
  it('raises a sensor fault outside the rule’s own range', () => {
    const h = harness(`
profile: p
rules:
  - id: tc_fault
    kind: range
    metric: hopper_temp
    min: -40
    max: 600
    source: test
`);
    h.read(0, { hopper_temp: 850 });
    expect(h.last('tc_fault')).toMatchObject({ status: 'true', severity: 'orange', threshold: 600, value: 850 });
    h.read(1, { hopper_temp: 40 });
    expect(h.state('tc_fault')).toBe('false');
  });

  it('checks every metric with a profile range when no metric is named', () => {
    const ranges: Record<string, { min: number; max: number }> = {
      diff_pressure: { min: 0, max: 5000 },
      hopper_temp: { min: -40, max: 600 },
    };
    const h = harness(
      `
profile: p
rules:
  - id: sensor_fault
    kind: range
    source: test
`,
      { deps: { rangeOf: (_p, m) => ranges[m] ?? null } },
    );
    h.read(0, { diff_pressure: -20, hopper_temp: 30, other: 1e9 });
    expect(h.last('sensor_fault')).toMatchObject({ status: 'true', metric: 'diff_pressure', threshold: 0 });
    h.read(1, { diff_pressure: 1000 });
    expect(h.state('sensor_fault')).toBe('false');
  });

  it('waits out its on-delay on the clock', () => {
    const h = harness(`
profile: p
rules:
  - id: f
    kind: range
    metric: x
    max: 10
    onDelay: 5s
    source: test
`);
    h.read(0, { x: 11 });
    expect(h.state('f')).toBe('pending');
    h.advanceTo(5000);
    expect(h.state('f')).toBe('orange');
  });
});
