import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

const ladder = `
profile: p
rules:
  - id: silent
    kind: silence
    ladder:
      - { after: 15m, severity: yellow }
      - { after: 1h, severity: orange }
      - { after: 24h, severity: red }
    source: test
`;
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('silence', () => {
  it('fires from the clock with no message at all, after registration only, and escalates along the ladder', () => {
    const h = harness(ladder);
    h.engine.registerDevice(h.device, 0);
    expect(h.engine.nextDueAt()).toBe(15 * MIN);
    expect(h.tick(15 * MIN - 1)).toEqual([]);
    h.tick(15 * MIN);
    expect(h.state('silent')).toBe('yellow');
    h.tick(60 * MIN);
    expect(h.state('silent')).toBe('orange');
    h.tick(24 * 60 * MIN);
    expect(h.state('silent')).toBe('red');
    expect(h.engine.nextDueAt()).toBeNull();
  });

  it('jumps to the step the silence has reached when the clock was away', () => {
    const h = harness(ladder);
    h.engine.registerDevice(h.device, 0);
    h.tick(2 * 60 * MIN);
    expect(h.state('silent')).toBe('orange');
  });

  it('clears as soon as data returns, and re-arms from that arrival', () => {
    const h = harness(ladder);
    h.read(0, { x: 1 });
    h.tick(20 * MIN);
    expect(h.state('silent')).toBe('yellow');
    const back = h.read(21 * MIN, { x: 2 });
    expect(back.map((c) => c.verdict.status)).toEqual(['false']);
    expect(h.engine.nextDueAt()).toBe(36 * MIN);
  });

  it('measures from arrival, not from the device clock (device clock an hour behind)', () => {
    const h = harness(ladder);
    h.read(-60 * MIN, { x: 1 }, 0);
    h.tick(14 * MIN);
    expect(h.state('silent')).toBe('false');
    h.tick(15 * MIN);
    expect(h.state('silent')).toBe('yellow');
  });

  it('counts late backlog data as proof of life', () => {
    const h = harness(ladder);
    h.read(10 * MIN, { x: 1 });
    h.tick(30 * MIN);
    expect(h.state('silent')).toBe('yellow');
    const out = h.engine.onReading(
      { site: 's', device: 'd', profile: 'p', ts: 5 * MIN, receivedAt: 31 * MIN, metrics: { x: 0 } },
      h.device,
    );
    expect(out.late).toBe(true);
    expect(out.changes.map((c) => c.verdict.status)).toEqual(['false']);
  });

  it('defaults to 3 reporting intervals: device attribute first, then the profile', () => {
    const rule = `
profile: p
rules:
  - id: silent
    kind: silence
    source: test
`;
    const byAttr = harness(rule, { attributes: { reportingIntervalMs: 10_000 }, deps: { reportingIntervalOf: () => 60_000 } });
    byAttr.engine.registerDevice(byAttr.device, 0);
    expect(byAttr.engine.nextDueAt()).toBe(30_000);
    const byProfile = harness(rule, { deps: { reportingIntervalOf: () => 60_000 } });
    byProfile.engine.registerDevice(byProfile.device, 0);
    expect(byProfile.engine.nextDueAt()).toBe(180_000);
  });

  it('each step on its own time: 3 intervals of a device reporting every 10 min (30 min) do not hold back the orange of 15 min', () => {
    const rule = `
profile: p
rules:
  - id: silent
    kind: silence
    ladder:
      - { intervals: 3, severity: yellow }
      - { after: 15m, severity: orange }
      - { after: 24h, severity: red }
    source: test
`;
    const h = harness(rule, { attributes: { reportingIntervalMs: 10 * MIN } });
    h.read(0, { x: 1 }, 0);
    expect(h.engine.nextDueAt()).toBe(15 * MIN);
    h.advanceTo(15 * MIN);
    expect(h.state('silent')).toBe('orange');
    h.advanceTo(60 * MIN);
    expect(h.changes.map((c) => (c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status))).toEqual(['orange']);
    expect(h.engine.nextDueAt()).toBe(24 * 60 * MIN);
  });

  it('watches one metric only when told to', () => {
    const h = harness(`
profile: p
rules:
  - id: no_h2s
    kind: silence
    metric: h2s
    ladder: [{ after: 30s, severity: orange }]
    source: test
`);
    h.read(0, { h2s: 0, o2: 20.9 });
    h.read(20_000, { o2: 20.9 });
    h.advanceTo(30_000);
    expect(h.state('no_h2s')).toBe('orange');
  });

  it('counts only while the guard holds (silence while permit_active)', () => {
    const h = harness(`
profile: p
rules:
  - id: silent_work
    kind: silence
    when: permit_active
    ladder: [{ after: 30s, severity: orange }, { after: 2m, severity: red }]
    source: test
`);
    h.read(0, { permit_active: false });
    h.advanceTo(10 * MIN);
    expect(h.state('silent_work')).toBe('false');
    h.read(10 * MIN, { permit_active: true });
    h.advanceTo(10 * MIN + 30_000);
    expect(h.state('silent_work')).toBe('orange');
    h.advanceTo(12 * MIN);
    expect(h.state('silent_work')).toBe('red');
  });
});

describe('silence against the learned cadence (cadenceOf)', () => {
  const rule = `
profile: p
rules:
  - { id: silent, kind: silence, ladder: [{ intervals: 3, severity: yellow }], source: test }
`;
  const range = { minMs: 10 * MIN, maxMs: 60 * MIN };
  const withCadence = (attributes = {}) =>
    harness(rule, { attributes, deps: { cadenceOf: () => range, reportingIntervalOf: () => 10 * MIN } });

  it('a device at any cadence the profile allows, with jitter, never goes silent; stopped, it is yellow after 3 × its cadence (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: range.minMs, max: range.maxMs }),
        fc.array(fc.double({ min: -0.15, max: 0.15, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 3, max: 120 }),
        (cadence, jitter, count) => {
          const h = withCadence();
          h.engine.registerDevice(h.device, 0);
          let t = 0;
          for (let i = 0; i < count; i += 1) {
            t += Math.round(cadence * (1 + (jitter[i % jitter.length] as number)));
            h.advanceTo(t);
            h.read(t, { x: 1 });
          }
          // 20 days of 30-min solutions raised and cleared device_silent ~1,900 times with a fixed 10-min interval
          expect(h.changes).toEqual([]);
          h.advanceTo(t + 10 * range.maxMs);
          const raised = h.changes.find((c) => c.verdict.status === 'true');
          // the median of the recent gaps, bounded by the range: within the jitter of 3 × the cadence
          // (± 3 ms: the gaps are rounded to whole ms)
          expect(raised?.at).toBeGreaterThanOrEqual(t + 3 * cadence * 0.85 - 3);
          expect(raised?.at).toBeLessThanOrEqual(t + 3 * cadence * 1.15 + 3);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('judges from the slowest cadence until it has seen two gaps; bursts are not the cadence; a fast device is bounded', () => {
    const fresh = withCadence();
    fresh.engine.registerDevice(fresh.device, 0);
    fresh.advanceTo(4 * HOUR);
    expect(fresh.changes.map((c) => c.at)).toEqual([3 * HOUR]);
    // 1-min gaps are under half the fastest allowed cadence (10 min): bursts, not counted — the slowest, 3 × 60 min
    const bursts = withCadence();
    for (let t = 0; t <= 10 * MIN; t += MIN) bursts.read(t, { x: 1 });
    bursts.advanceTo(5 * HOUR);
    expect(bursts.changes.find((c) => c.verdict.status === 'true')?.at).toBe(10 * MIN + 3 * HOUR);
    // 6-min gaps count, bounded by the fastest allowed, 10 min: yellow 30 min after the last reading
    const fast = withCadence();
    for (let t = 0; t <= 60 * MIN; t += 6 * MIN) fast.read(t, { x: 1 });
    fast.advanceTo(3 * HOUR);
    expect(fast.changes.find((c) => c.verdict.status === 'true')?.at).toBe(90 * MIN);
  });

  it('the registry attribute reportingIntervalMs overrides what was learned', () => {
    const h = withCadence({ reportingIntervalMs: 5 * MIN });
    for (let t = 0; t <= 3 * HOUR; t += 30 * MIN) h.read(t, { x: 1 });
    h.advanceTo(5 * HOUR);
    expect(h.changes.find((c) => c.verdict.status === 'true')?.at).toBe(3 * HOUR + 15 * MIN);
  });

  it('keeps what it learned across snapshot and restore', () => {
    const h = withCadence();
    for (let t = 0; t <= 3 * HOUR; t += 30 * MIN) h.read(t, { x: 1 });
    const snap = JSON.parse(JSON.stringify(h.engine.snapshot()));
    expect(snap.version).toBe(5);
    const again = withCadence();
    again.engine.restore(snap, 3 * HOUR);
    // one more reading: judged on the restored gaps (30 min), not from scratch (the slowest, 60 min)
    again.read(3 * HOUR + 30 * MIN, { x: 1 });
    again.advanceTo(8 * HOUR);
    expect(again.changes.find((c) => c.verdict.status === 'true')?.at).toBe(5 * HOUR);
  });
});
