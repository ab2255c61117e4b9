import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../../test-support/harness.js';
import { createRuleEngine } from '../rule-engine.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('window aggregate', () => {
  it('15-minute average (CO STEL): a short spike does not raise, a sustained level does', () => {
    const h = harness(`
profile: p
rules:
  - id: co_stel
    kind: window
    metric: co
    aggregate: avg
    window: 15m
    buckets: 15
    levels: { orange: { raise: 26, clear: 24 } }
    source: test
`);
    for (let m = 0; m < 15; m += 1) h.read(m * MIN, { co: m === 7 ? 100 : 10 });
    expect(h.state('co_stel')).toBe('false');
    for (let m = 15; m < 40; m += 1) h.read(m * MIN, { co: 30 });
    expect(h.state('co_stel')).toBe('orange');
    expect(h.last('co_stel')).toMatchObject({ threshold: 26 });
  });

  it('rolling 24-hour rainfall sum, cleared by the clock when rain leaves the window', () => {
    const h = harness(`
profile: p
rules:
  - id: rain
    kind: window
    metric: rainfall
    aggregate: sum
    window: 24h
    buckets: 48
    levels: { yellow: { raise: 50 }, orange: { raise: 100 }, red: { raise: 250 } }
    source: test
`);
    for (let i = 0; i < 6; i += 1) h.read(i * HOUR, { rainfall: 15 });
    expect(h.state('rain')).toBe('yellow');
    h.read(6 * HOUR, { rainfall: 15 });
    expect(h.state('rain')).toBe('orange');
    expect(h.engine.nextDueAt()).not.toBeNull();
    h.advanceTo(31 * HOUR);
    expect(h.state('rain')).toBe('false');
  });

  it('slope in mm/day by linear regression, robust to GNSS noise', () => {
    const h = harness(`
profile: p
rules:
  - id: velocity
    kind: window
    metric: disp
    aggregate: slope
    per: 1d
    window: 24h
    levels: { orange: { raise: 10, clear: 8 } }
    source: test
`);
    let seed = 1;
    const noise = () => {
      seed = (seed * 16807) % 2147483647;
      return ((seed / 2147483647) * 2 - 1) * 3;
    };
    for (let t = 0; t <= 2 * DAY; t += 10 * MIN) h.read(t, { disp: (t / DAY) * 2 + noise() });
    expect(h.state('velocity')).toBe('false');
    for (let t = 2 * DAY; t <= 4 * DAY; t += 10 * MIN) h.read(t, { disp: 4 + ((t - 2 * DAY) / DAY) * 14 + noise() });
    expect(h.state('velocity')).toBe('orange');
    const state = h.engine.snapshot().devices[0]?.rules[0]?.state as { value: number };
    expect(state.value).toBeGreaterThan(12);
    expect(state.value).toBeLessThan(16);
  });

  it('max and min over the window', () => {
    const h = harness(`
profile: p
rules:
  - id: hi
    kind: window
    metric: x
    aggregate: max
    window: 10m
    buckets: 10
    levels: { yellow: { raise: 5 } }
    source: test
  - id: lo
    kind: window
    metric: x
    aggregate: min
    window: 10m
    buckets: 10
    direction: below
    levels: { yellow: { raise: 1 } }
    source: test
`);
    h.read(0, { x: 6 });
    h.read(MIN, { x: 0.5 });
    expect(h.state('hi')).toBe('yellow');
    expect(h.state('lo')).toBe('yellow');
    for (let m = 2; m < 14; m += 1) h.read(m * MIN, { x: 3 });
    expect(h.state('hi')).toBe('false');
    expect(h.state('lo')).toBe('false');
  });

  it('turns a velocity into the tangent angle with a transform (mine slope)', () => {
    const h = harness(
      `
profile: p
rules:
  - id: tangent
    kind: window
    metric: disp
    aggregate: slope
    per: 1d
    window: 2d
    transform: "tangent_angle(value, attr.steady_velocity, 1)"
    levels: { yellow: { raise: 45.5 }, orange: { raise: 80 }, red: { raise: 85 } }
    source: test
`,
      { attributes: { steady_velocity: 2 } },
    );
    for (let t = 0; t <= 2 * DAY; t += HOUR) h.read(t, { disp: (t / DAY) * 2 });
    expect(h.state('tangent')).toBe('false');
    for (let t = 2 * DAY + HOUR; t <= 4 * DAY; t += HOUR) h.read(t, { disp: 4 + ((t - 2 * DAY) / DAY) * 30 });
    expect(h.state('tangent')).toBe('red');
  });

  it('keeps memory fixed: the state is the same size after 10 or 100 000 samples', () => {
    const h = harness(`
profile: p
rules:
  - id: w
    kind: window
    metric: x
    aggregate: slope
    window: 1h
    levels: { red: { raise: 1e9 } }
    source: test
`);
    h.read(0, { x: 1 });
    const numbers = () => {
      const state = h.engine.snapshot().devices[0]?.rules[0]?.state as { idx: number[]; b: number[] };
      return state.idx.length + state.b.length;
    };
    const small = numbers();
    for (let i = 1; i < 100_000; i += 1) h.read(i * 100, { x: i });
    expect(numbers()).toBe(small);
    expect(numbers() * 8).toBeLessThan(2048);
  });
});

describe('window theil_sen (outlier-robust slope)', () => {
  const yaml = (aggregate: string) => `
profile: p
rules:
  - { id: v, kind: window, metric: d, aggregate: ${aggregate}, window: 24h, buckets: 48, per: 1d, levels: { orange: { raise: 10, clear: 8 } }, source: t }
`;
  const drive = (aggregate: string, at: (i: number) => number) => {
    const h = harness(yaml(aggregate));
    const seen: number[] = [];
    for (let i = 0; i < 288; i += 1) {
      h.read(i * 10 * MIN, { d: at(i) });
      const value = h.engine.snapshot().devices[0]?.rules[0]?.state as { value: number | null };
      if (i >= 150) seen.push(value.value ?? Number.NaN);
    }
    return { h, max: Math.max(...seen) };
  };

  it('measures a steady velocity like least squares', () => {
    const robust = drive('theil_sen', (i) => (i * 10 * MIN * 4) / DAY);
    const ols = drive('slope', (i) => (i * 10 * MIN * 4) / DAY);
    expect(robust.max).toBeCloseTo(4, 6);
    expect(ols.max).toBeCloseTo(4, 6);
  });

  it('one sample 500 mm off barely moves it, where least squares reads over 20 mm/d', () => {
    const jump = (i: number) => (i * 10 * MIN) / DAY + (i === 200 ? 500 : 0);
    const robust = drive('theil_sen', jump);
    const ols = drive('slope', jump);
    expect(robust.max).toBeLessThan(2);
    expect(robust.h.changes).toEqual([]);
    expect(ols.max).toBeGreaterThan(20);
    expect(ols.h.changes.some((c) => c.verdict.status === 'true')).toBe(true);
  });
});

describe('window ignoreRepeats (a receiver resending its last fix)', () => {
  const yaml = (ignoreRepeats: boolean) => `
profile: p
rules:
  - { id: v, kind: window, metric: d, aggregate: theil_sen, window: 24h, buckets: 48, per: 1d, minSpan: 20h, ignoreRepeats: ${ignoreRepeats}, levels: { yellow: { raise: 4, clear: 3.5 } }, source: t }
`;
  /** 2 mm/d with ±1 mm of alternating noise for 30 h, then one fix 5 mm high that the receiver resends for 10 h. */
  const frozen = (ignoreRepeats: boolean) => {
    const h = harness(yaml(ignoreRepeats));
    const east = (t: number) => (2 * t) / DAY + (Math.round(t / (30 * MIN)) % 2 === 0 ? 1 : -1);
    let t = 0;
    for (; t < 30 * HOUR; t += 30 * MIN) h.read(t, { d: east(t) });
    const fix = (2 * t) / DAY + 5;
    for (; t < 40 * HOUR; t += 30 * MIN) h.read(t, { d: fix });
    return h;
  };

  it('copies of a fix add no samples: the velocity does not lean on them (without it, a 2 mm/d slope reads over 4)', () => {
    expect(frozen(false).state('v')).toBe('yellow');
    const h = frozen(true);
    expect(h.state('v')).toBe('false');
    const state = h.engine.snapshot().devices[0]?.rules[0]?.state as { value: number };
    expect(state.value).toBeGreaterThan(1.5);
    expect(state.value).toBeLessThan(3);
  });

  it('only an equal value is a copy, and the last sample survives a restart', () => {
    const counting = `
profile: p
rules:
  - { id: n, kind: window, metric: d, aggregate: count, window: 1h, buckets: 6, ignoreRepeats: true, levels: { yellow: { raise: 4 } }, source: t }
`;
    const count = harness(counting);
    for (const [i, d] of [1, 1, 1, 2, 2, 1].entries()) count.read(i * MIN, { d });
    expect(count.state('n')).toBe('false'); // 1, 2, 1: three samples
    const again = createRuleEngine({ rules: ruleSetFromYaml(counting), unitOf: () => 'u' });
    again.restore(count.engine.snapshot(), 6 * MIN, 6 * MIN);
    const read = (ts: number, d: number) => again.onReading({ site: 's', device: 'd', profile: 'p', ts, metrics: { d } }, count.device);
    read(6 * MIN, 1); // the copy of the last sample before the restart: still no sample
    expect(again.verdicts()[0]?.status).toBe('false');
    read(7 * MIN, 3); // the fourth
    expect(again.verdicts()[0]?.severity).toBe('yellow');
  });
});

describe('window minSpan: the time a window needs covered, at any cadence (properties)', () => {
  const velocity = `
profile: p
rules:
  - id: v
    kind: window
    metric: d
    aggregate: theil_sen
    window: 24h
    buckets: 48
    per: 1d
    minSpan: 18h
    minSamples: 4
    levels: { orange: { raise: 10, clear: 8 } }
    source: test
`;
  const run = (cadenceMs: number, jitter: readonly number[], v: number, hours: number) => {
    const h = harness(velocity);
    const reads: number[] = [];
    for (let i = 0, t = 0; t < hours * HOUR; i += 1) {
      h.read(t, { d: 100 + (v * t) / DAY });
      reads.push(t);
      t += Math.round(cadenceMs * (1 + (jitter[i % jitter.length] as number)));
    }
    return { h, reads };
  };
  const cadenceMs = fc.integer({ min: 10 * MIN, max: 60 * MIN });
  const jitter = fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: 1, maxLength: 20 });

  it('gives no verdict before about minSpan of data, then reports a steady trend at its velocity, at every cadence 10–60 min', () => {
    fc.assert(
      fc.property(cadenceMs, jitter, fc.double({ min: 12, max: 200, noNaN: true }), (c, j, v) => {
        const { h } = run(c, j, v, 30);
        const raised = h.changes.find((x) => x.verdict.status === 'true');
        expect(raised).toBeDefined();
        // the span is measured at bucket resolution (30 min): never judged before 17.5 h of data
        expect(raised?.at).toBeGreaterThanOrEqual(17.5 * HOUR);
        // and judged as soon as 18 h (plus a bucket and a reading) are covered, whatever the cadence
        expect(raised?.at).toBeLessThanOrEqual(18.5 * HOUR + 1.2 * c);
        const value = raised?.verdict.status === 'true' ? (raised.verdict.value as number) : Number.NaN;
        expect(Math.abs(value - v) / v).toBeLessThan(1e-3);
      }),
      { numRuns: 60 },
    );
  });

  it('a steady velocity below the level never raises; above it, raises once and never falls back to unknown (no clear)', () => {
    fc.assert(
      fc.property(cadenceMs, jitter, fc.double({ min: 0, max: 7.9, noNaN: true }), fc.boolean(), (c, j, slow, fast) => {
        const v = fast ? 12 + slow * 10 : slow;
        const { h } = run(c, j, v, 72);
        const seen = h.changes.filter((x) => x.verdict.status !== 'pending').map((x) => x.verdict.status);
        expect(seen).toEqual(fast ? ['true'] : []);
      }),
      { numRuns: 40 },
    );
  });
});
