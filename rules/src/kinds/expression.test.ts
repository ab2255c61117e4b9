import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

describe('expression rule', () => {
  const fan = `
profile: p
rules:
  - id: fan_off
    kind: expression
    condition: "process_running and not fan_running"
    severity: orange
    onDelay: 5s
    source: test
`;

  it('raises after its on-delay from the clock and clears on data', () => {
    const h = harness(fan);
    h.read(0, { process_running: true, fan_running: true });
    h.read(1000, { fan_running: false });
    expect(h.state('fan_off')).toBe('pending');
    h.advanceTo(6000);
    expect(h.state('fan_off')).toBe('orange');
    h.read(7000, { fan_running: true });
    expect(h.state('fan_off')).toBe('false');
  });

  it('changes nothing while the result is unknown (a value never received)', () => {
    const h = harness(fan);
    h.read(0, { fan_running: false });
    expect(h.state('fan_off')).toBe('false');
    expect(h.changes).toHaveLength(0);
  });

  it('honours a when-guard and attribute comparisons', () => {
    const h = harness(
      `
profile: p
rules:
  - id: low_water
    kind: expression
    condition: "water_level < attr.low_limit"
    when: process_running
    severity: orange
    metric: water_level
    source: test
`,
      { attributes: { low_limit: 0.3 } },
    );
    h.read(0, { water_level: 0.2, process_running: false });
    expect(h.state('low_water')).toBe('false');
    h.read(1, { process_running: true });
    expect(h.last('low_water')).toMatchObject({ status: 'true', metric: 'water_level', value: 0.2 });
  });

  it('sees derived values declared in the rule file', () => {
    const h = harness(
      `
profile: p
derived:
  - name: disp_h
    expression: "hypot(disp_east, disp_north)"
rules:
  - id: cumulative
    kind: threshold
    metric: disp_h
    levels: { orange: { raise: "6e-3 * attr.slope_height_m * 1000" } }
    source: test
`,
      { attributes: { slope_height_m: 150 } },
    );
    h.read(0, { disp_east: 600, disp_north: 600 });
    expect(h.state('cumulative')).toBe('false');
    h.read(1, { disp_east: 700, disp_north: 700 });
    expect(h.state('cumulative')).toBe('orange');
  });
});
