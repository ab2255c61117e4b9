import fc from 'fast-check';
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

describe('rate across its horizon (properties)', () => {
  const rule = (window: number, per: number, raise: number, minSpan?: number) => `
profile: p
rules:
  - id: r
    kind: rate
    metric: x
    direction: rise
    window: ${window}
    per: ${per}
    ${minSpan === undefined ? '' : `minSpan: ${minSpan}`}
    levels: { red: { raise: ${raise} } }
    source: test
`;
  const cadence = fc.record({
    window: fc.integer({ min: 1_000, max: 600_000 }),
    per: fc.constantFrom(1_000, 60_000),
    /** sample gaps as fractions of the window: from 100 samples a window to one every window and a half */
    gaps: fc.array(fc.double({ min: 0.01, max: 1.5, noNaN: true }), { minLength: 2, maxLength: 150 }),
  });

  it('bounded noise of amplitude a around a constant never reads more than 2a per horizon, at any cadence', () => {
    fc.assert(
      fc.property(
        cadence,
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 150, maxLength: 150 }),
        ({ window, per, gaps }, a, level, noise) => {
          // a hair above the bound: noise must never reach it (the old "lowest sample to newest" did, by far)
          const bound = ((2 * a) / window) * per * (1 + 1e-9);
          const h = harness(rule(window, per, bound));
          let t = 0;
          gaps.forEach((g, i) => {
            t += Math.max(1, Math.round(g * window));
            h.read(t, { x: level + a * (noise[i] as number) });
          });
          expect(h.changes.filter((c) => c.verdict.status === 'true')).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('…and a true ramp is reported at its slope, in the rule unit per `per`', () => {
    fc.assert(
      fc.property(cadence, fc.double({ min: 0.1, max: 50, noNaN: true }), ({ window, per, gaps }, slope) => {
        const h = harness(rule(window, per, slope / 2));
        let t = 0;
        let covered = false;
        for (const g of gaps) {
          t += Math.max(1, Math.round(g * window));
          h.read(t, { x: 20 + (slope * t) / per });
          if (t - Math.max(1, Math.round((gaps[0] as number) * window)) >= window) covered = true;
        }
        const raised = h.changes.find((c) => c.verdict.status === 'true');
        if (!covered) {
          // less than the horizon of data: no verdict at all
          expect(raised).toBeUndefined();
          return;
        }
        expect(raised?.verdict).toMatchObject({ severity: 'red', unit: `u/${per === 1_000 ? 's' : 'min'}` });
        const value = raised?.verdict.status === 'true' ? (raised.verdict.value as number) : Number.NaN;
        expect(Math.abs(value - slope) / slope).toBeLessThan(1e-5);
      }),
      { numRuns: 200 },
    );
  });

  it('with minSpan shorter than the window it judges sooner, and noise stays under 2a per minSpan', () => {
    // hopper_temp_rising: ±1 °C of noise at 1 Hz with 30 s of data reads at most 4 °C/min (below the 5 °C/min limit)
    const h = harness(rule(60_000, 60_000, 4.000001, 30_000));
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let s = 0; s < 600; s += 1) h.read(s * 1000, { x: 40 + (random() * 2 - 1) });
    expect(h.changes.filter((c) => c.verdict.status === 'true')).toEqual([]);
    // a 10 °C/min ramp is judged after 30 s of data
    const ramp = harness(rule(60_000, 60_000, 5, 30_000));
    for (let s = 0; s <= 30; s += 1) ramp.read(s * 1000, { x: 40 + s / 6 });
    expect(ramp.state('r')).toBe('red');
  });
});
