import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

describe('rate', () => {
  const pressure = `
profile: p
rules:
  - id: falling
    kind: rate
    metric: cooling_pressure
    direction: fall
    window: 3s
    per: 1s
    levels: { red: { raise: 0.03, clear: 0.01 } }
    source: test
`;

  it('raises when cooling pressure falls faster than 0.03 MPa/s (pump trip 0.20 → 0.05 in 3 s)', () => {
    const h = harness(pressure);
    h.read(0, { cooling_pressure: 0.2 });
    h.read(1000, { cooling_pressure: 0.199 });
    h.read(2000, { cooling_pressure: 0.12 });
    // less than the 3-s window covered: no verdict yet, however steep the last step
    expect(h.state('falling')).toBe('false');
    h.read(3000, { cooling_pressure: 0.08 });
    expect(h.state('falling')).toBe('red');
    // the event reports the rate it judged, in its unit, not the pressure
    expect(h.last('falling')).toMatchObject({ severity: 'red', threshold: 0.03, metric: 'cooling_pressure', value: 0.04, unit: 'u/s' });
  });

  it('does not fire on a slow decline, nor on a rise', () => {
    const h = harness(pressure);
    for (let i = 0; i < 30; i += 1) h.read(i * 1000, { cooling_pressure: 0.2 - i * 0.005 });
    for (let i = 30; i < 40; i += 1) h.read(i * 1000, { cooling_pressure: 0.2 + i * 0.05 });
    expect(h.changes.filter((c) => c.verdict.status === 'true')).toHaveLength(0);
  });

  it('clears once the change inside the window is back below the clear value', () => {
    const h = harness(pressure);
    h.read(0, { cooling_pressure: 0.2 });
    h.read(1000, { cooling_pressure: 0.2 });
    h.read(3000, { cooling_pressure: 0.1 });
    expect(h.state('falling')).toBe('red');
    h.read(5000, { cooling_pressure: 0.1 });
    h.read(6000, { cooling_pressure: 0.1 });
    expect(h.state('falling')).toBe('false');
    // the clear reports the rate at the clear against the clear value, not the raise-time text
    expect(h.last('falling')).toMatchObject({
      status: 'false',
      detail: { value: 0, threshold: 0.01, unit: 'u/s', message: expect.stringContaining('back to normal') },
    });
  });

  it('relative: flow drops more than 15 % within 2 s', () => {
    const h = harness(`
profile: p
rules:
  - id: drop
    kind: rate
    metric: cooling_flow
    direction: fall
    mode: relative
    window: 2s
    levels: { red: { raise: 15 } }
    source: test
`);
    h.read(0, { cooling_flow: 300 });
    h.read(1000, { cooling_flow: 290 });
    h.read(2000, { cooling_flow: 260 });
    expect(h.state('drop')).toBe('false');
    h.read(3000, { cooling_flow: 200 });
    expect(h.state('drop')).toBe('red');
    expect(h.last('drop')).toMatchObject({ message: expect.stringContaining('%') });
  });

  it('measures the rise across the window, from the sample at its start', () => {
    const h = harness(`
profile: p
rules:
  - id: bleed
    kind: rate
    metric: level
    direction: rise
    window: 2s
    levels: { red: { raise: 10 } }
    source: test
`);
    h.read(0, { level: 130 });
    h.read(500, { level: 120 });
    h.read(2000, { level: 160 });
    expect(h.state('bleed')).toBe('red');
  });
});
