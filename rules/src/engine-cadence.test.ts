import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';
import type { MetricValue } from './reading.js';

const MIN = 60_000;

// silence after three reporting intervals: when it goes yellow tells the interval the engine judged the device by
const rule = `
profile: p
rules:
  - { id: silent, kind: silence, ladder: [{ intervals: 3, severity: yellow }], source: test }
`;

/** A device whose profile allows 10 to 60 min between readings, fed readings arriving at `arrivals` (ms). */
function yellowAt(
  arrivals: number[],
  options: { range?: { minMs: number; maxMs: number }; attributes?: Record<string, MetricValue> } = {},
) {
  const range = options.range ?? { minMs: 10 * MIN, maxMs: 60 * MIN };
  const h = harness(rule, { attributes: options.attributes, deps: { cadenceOf: () => range, reportingIntervalOf: () => 10 * MIN } });
  for (const t of arrivals) h.read(t, { x: 1 });
  const last = Math.max(...arrivals);
  h.advanceTo(last + 10 * range.maxMs);
  const raised = h.changes.filter((c) => c.verdict.status === 'true');
  expect(raised).toHaveLength(1);
  return ((raised[0]?.at ?? Number.NaN) - last) / MIN;
}

describe('the cadence a device is judged by: the median of its recent gaps (silence after 3 intervals)', () => {
  it('an odd number of gaps, in any order: the middle one', () => {
    // gaps 40, 20, 30 min: the median is 30, not the first, the last or the smallest
    expect(yellowAt([0, 40 * MIN, 60 * MIN, 90 * MIN])).toBe(90);
    // gaps 20, 50, 30, 40, 10 min: 30
    expect(yellowAt([0, 20 * MIN, 70 * MIN, 100 * MIN, 140 * MIN, 150 * MIN])).toBe(90);
  });

  it('an even number of gaps: the mean of the two in the middle', () => {
    // gaps 20 and 40: 30 min
    expect(yellowAt([0, 20 * MIN, 60 * MIN])).toBe(90);
    // gaps 50, 20, 40, 30: sorted 20 30 40 50, the median 35 min
    expect(yellowAt([0, 50 * MIN, 70 * MIN, 110 * MIN, 140 * MIN])).toBe(105);
  });

  it('two gaps are enough to judge by; one is not (the slowest allowed, 60 min, until then)', () => {
    expect(yellowAt([0, 30 * MIN, 60 * MIN])).toBe(90);
    expect(yellowAt([0, 30 * MIN])).toBe(180);
    // the first arrival is no gap (nothing came before it), wherever the clock stands
    expect(yellowAt([20 * MIN, 50 * MIN])).toBe(180);
  });

  it('only the last 9 gaps count', () => {
    const arrivals = [0];
    // 3 gaps of 20 min, then 5 of 60, then 4 of 20: of the last 9 (5 × 60, 4 × 20) the median is 60
    for (const gap of [20, 20, 20, 60, 60, 60, 60, 60, 20, 20, 20, 20]) arrivals.push((arrivals.at(-1) as number) + gap * MIN);
    expect(yellowAt(arrivals)).toBe(180);
  });

  it('a gap of half the fastest allowed cadence counts; a shorter one is a burst', () => {
    // 5-min gaps, half the fastest 10 min: counted, and the cadence is bounded by the fastest (10 min)
    expect(yellowAt([0, 5 * MIN, 10 * MIN])).toBe(30);
    expect(yellowAt([0, 5 * MIN - 1, 10 * MIN - 2])).toBe(180);
  });

  it('gaps under half a second are one batch, whatever the profile allows', () => {
    const range = { minMs: 0, maxMs: 10_000 };
    // 500 ms gaps count: 1.5 s after the last
    expect(yellowAt([0, 500, 1000], { range }) * MIN).toBe(1500);
    // 400 ms gaps do not: the slowest allowed, 3 × 10 s
    expect(yellowAt([0, 400, 800, 1200], { range }) * MIN).toBe(30_000);
  });

  it('data arriving out of order (an older arrival after a newer one) does not move the last arrival back', () => {
    const range = { minMs: 10 * MIN, maxMs: 60 * MIN };
    const h = harness(rule, { deps: { cadenceOf: () => range } });
    h.read(0, { x: 1 });
    h.read(30 * MIN, { x: 1 });
    h.read(10 * MIN, { x: 1 }); // arrived late and out of order
    h.read(80 * MIN, { x: 1 });
    h.advanceTo(10 * HOURS);
    // gaps 30 and 50 (from the newest arrival, 30 min): 40 min, yellow 120 min after 80 min
    expect(h.changes.filter((c) => c.verdict.status === 'true').map((c) => c.at / MIN)).toEqual([200]);
  });
});

const HOURS = 60 * MIN;

describe('the reporting interval of a device without a learned cadence', () => {
  const silenceAfter = (attributes: Record<string, MetricValue>, cadenceOf?: () => null) => {
    const h = harness(rule, { attributes, deps: { reportingIntervalOf: () => 10 * MIN, ...(cadenceOf ? { cadenceOf } : {}) } });
    h.engine.registerDevice(h.device, 0);
    h.advanceTo(5 * HOURS);
    return h.changes.filter((c) => c.verdict.status === 'true').map((c) => c.at / MIN);
  };

  it("is the profile's when the device's attribute is not a positive number of ms", () => {
    expect(silenceAfter({})).toEqual([30]);
    expect(silenceAfter({ reportingIntervalMs: 20 * MIN })).toEqual([60]);
    expect(silenceAfter({ reportingIntervalMs: 0 })).toEqual([30]);
    expect(silenceAfter({ reportingIntervalMs: -MIN })).toEqual([30]);
    expect(silenceAfter({ reportingIntervalMs: String(20 * MIN) })).toEqual([30]);
  });

  it("is the profile's when the profile has no cadence range", () => {
    const h = harness(rule, { deps: { reportingIntervalOf: () => 10 * MIN, cadenceOf: () => null } });
    for (const t of [0, 40 * MIN, 80 * MIN]) h.read(t, { x: 1 });
    h.advanceTo(10 * HOURS);
    expect(h.changes.filter((c) => c.verdict.status === 'true').map((c) => c.at / MIN)).toEqual([110]);
  });

  it('follows the device attribute when the registry changes it', () => {
    const h = harness(rule, { attributes: { reportingIntervalMs: 10 * MIN }, deps: { reportingIntervalOf: () => 10 * MIN } });
    h.read(0, { x: 1 });
    const moved = { ...h.device, attributes: { reportingIntervalMs: 20 * MIN } };
    h.changes.push(...h.engine.onReading({ site: 's', device: 'd', profile: 'p', ts: MIN, metrics: { x: 1 } }, moved).changes);
    h.advanceTo(5 * HOURS);
    expect(h.changes.filter((c) => c.verdict.status === 'true').map((c) => c.at / MIN)).toEqual([61]);
  });
});
