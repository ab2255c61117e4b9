import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../../rules/src/index.js';
import { toCanonical } from '../test-support/convert.js';
import { createHarness, DAY, HOUR, MINUTE, noise, randomSource, ruleSetProblems, T0 } from '../test-support/harness.js';
import { mineSlope, mineSlopeAttributes } from './index.js';

type Metrics = Record<string, MetricValue>;
const EVERY = 10 * MINUTE;

/** A GNSS solution: the point moves east by `east` mm (cumulative), with ±3 mm horizontal and ±6 mm vertical noise. */
function solution(east: number, random: () => number): Metrics {
  return { disp_east: east + noise(random, 3), disp_north: 5 + noise(random, 3), disp_up: -2 + noise(random, 6) };
}

/** Slow creep: 0.5 mm/d from 20 mm since installation. */
const creep = (t: number): number => 20 + (0.5 * (t - T0)) / DAY;

/**
 * A slope with a GNSS point, a crack gauge and a rain gauge, all reporting every 10 min. Runs `days` of
 * quiet creep first, then returns the harness and `run(until, gnss?, crack?, rain?)` to drive it on.
 */
function slope(
  days = 2,
  attributes: Record<string, MetricValue> = {},
  velocityAggregate?: 'slope',
  /** Rule settings merged over the defaults, by rule id (to show what a setting is for). */
  set: Record<string, Record<string, unknown>> = {},
) {
  const overrides = [
    ...(velocityAggregate ? ['velocity_24h', 'tangent_angle'].map((rule) => ({ rule, set: { aggregate: velocityAggregate } })) : []),
    ...Object.entries(set).map(([rule, levels]) => ({ rule, set: { levels } })),
  ];
  const h = createHarness([mineSlope], T0, overrides.length > 0 ? { profile: mineSlope.id, overrides } : undefined);
  const random = randomSource(31);
  h.device({ device: 'gnss-1', profile: mineSlope, attributes });
  h.device({ device: 'crack-1', profile: mineSlope });
  h.device({ device: 'rain-1', profile: mineSlope });
  const run = (
    until: number,
    east: (t: number, i: number) => number = creep,
    crack: (t: number) => number = (t) => 12 + (0.05 * (t - T0)) / DAY,
    rain: (t: number) => number = () => 0,
  ) => {
    for (let t = h.now, i = 0; t < until; t += EVERY, i += 1) {
      h.send('gnss-1', solution(east(t, i), random), t);
      h.send('crack-1', { crack_width: crack(t) + noise(random, 0.05) }, t);
      h.send('rain-1', { rainfall: rain(t) }, t);
    }
    h.advanceTo(until);
  };
  run(T0 + days * DAY);
  return { h, random, run, t0: h.now };
}

/** Displacement after `t0` moving at `v` mm/d (from the creep at t0). */
const moving = (t0: number, v: number) => (t: number) => creep(t0) + (v * Math.max(0, t - t0)) / DAY;

describe('mine-slope profile', () => {
  it('loads: its rule file parses and every name it reads is a metric or derived value of the profile', () => {
    expect(ruleSetProblems([mineSlope])).toEqual([]);
  });

  it('four normal days — creep 0.5 mm/d with GNSS noise, a light shower, a slowly opening crack — raise nothing', () => {
    const { h, run, t0 } = slope(2, { groundwater_design_level_m: 310 });
    run(
      t0 + 2 * DAY,
      creep,
      (t) => 12 + (0.05 * (t - T0)) / DAY,
      (t) => (t > t0 + 6 * HOUR && t < t0 + 9 * HOUR ? 1 : 0),
    );
    h.send('gnss-1', { groundwater_level: 305 });
    expect(h.steps).toEqual([]);
  });

  it('velocity over 24 h above 10 mm/d is orange, about 12 h after the slope speeds up from 0.5 to 20 mm/d', () => {
    const { h, run, t0 } = slope();
    run(t0 + DAY, moving(t0, 20));
    const steps = h.stepsOf('velocity_24h');
    expect(steps.map((s) => `${s.type} ${s.severity}`)).toEqual(['alarm.raised orange']);
    // least squares over 24 h of a 0.5 → 20 mm/d kink passes 10 mm/d 12 h after the kink (computed offline)
    expect(Math.abs((steps[0]?.at ?? 0) - (t0 + 12 * HOUR))).toBeLessThanOrEqual(HOUR);
  });

  it('velocities and displacements carry their units: mm/d, mm/h, mm, and the tangent angle °', () => {
    const { h, run, t0 } = slope(2, { slope_height_m: 10 });
    run(t0 + DAY, moving(t0, 40 * 24));
    expect(h.active('velocity_24h')).toMatchObject({ unit: 'mm/d' });
    expect(h.active('velocity_24h')?.message).toMatch(/ mm\/d over 24 h ≥ 10 mm\/d$/);
    expect(h.active('velocity_1h')).toMatchObject({ unit: 'mm/h' });
    expect(h.active('velocity_1h')?.messageZh).toContain('mm/h');
    expect(h.active('cumulative_displacement')).toMatchObject({ unit: 'mm' });
    expect(h.active('tangent_angle')).toMatchObject({ unit: '°' });
  });

  it('hourly velocity of 8 mm/h is red about 2 h in (Theil–Sen over 3 h passes 5 mm/h after ~1.7 h, then 20 min)', () => {
    const { h, run, t0 } = slope();
    run(t0 + 4 * HOUR, moving(t0, 8 * 24));
    const steps = h.stepsOf('velocity_1h');
    expect(steps[0]?.severity).toBe('red');
    expect(steps[0]?.at).toBeGreaterThanOrEqual(t0 + 100 * MINUTE);
    expect(steps[0]?.at).toBeLessThanOrEqual(t0 + 150 * MINUTE);
  });

  it('a single GNSS jump of 0.5 m that returns raises no red and no 1-hour or cumulative alarm', () => {
    const { h, run, t0 } = slope(2, { slope_height_m: 100 });
    // 6e-3 × 100 m = 600 mm: the jump to ~520 mm stays below it; see the next test for two in a row
    run(t0 + 2 * DAY, (t, i) => creep(t) + (i === 6 ? 500 : 0));
    expect(h.steps.filter((s) => s.severity === 'red')).toEqual([]);
    expect(h.stepsOf('velocity_1h')).toEqual([]);
    expect(h.stepsOf('cumulative_displacement')).toEqual([]);
  });

  it('the same jump does not raise the 24-h velocity or the tangent angle either (Theil–Sen velocity)', () => {
    const { h, run, t0 } = slope(2, { slope_height_m: 100 });
    run(t0 + 2 * DAY, (t, i) => creep(t) + (i === 6 ? 500 : 0));
    expect(h.stepsOf('velocity_24h')).toEqual([]);
    expect(h.stepsOf('tangent_angle')).toEqual([]);
    // least squares over the same data would have: the jump pulls the 24-h slope to tens of mm/d for hours
    const ols = slope(2, { slope_height_m: 100 }, 'slope');
    ols.run(ols.t0 + 2 * DAY, (t, i) => creep(t) + (i === 6 ? 500 : 0));
    expect(ols.h.stepsOf('velocity_24h').map((s) => s.severity)).toContain('orange');
  });

  it('three-stage creep (2 mm/d, then doubling every 2 days, then tertiary) raises velocity and tangent angle as early as least squares does', () => {
    // velocity 2·2^(x/2) mm/d, x days after t0: 10 mm/d at 4.64 d, 11.3 mm/d (80°) at 5.0 d, 22.9 mm/d (85°) at 7.03 d, 50 at 9.3 d
    const creeping = (aggregate?: 'slope') => {
      const { h, run, t0 } = slope(2, { steady_velocity_mm_d: 2 }, aggregate);
      const base = creep(t0);
      run(t0 + 10 * DAY, (t) => base + (4 / Math.log(2)) * (2 ** ((t - t0) / DAY / 2) - 1)); // ∫ v dt, mm
      const days = (rule: string, severity: string): number => {
        const step = h.stepsOf(rule).find((s) => s.severity === severity);
        return step ? (step.at - t0) / DAY : Number.NaN;
      };
      return [days('velocity_24h', 'orange'), days('tangent_angle', 'orange'), days('tangent_angle', 'red')];
    };
    const robust = creeping();
    const leastSquares = creeping('slope');
    // each after the true crossing (+1 h on-delay for the angle), within the lag of its window's mean velocity on a
    // velocity doubling every 2 days (0.49 d over 24 h, 0.72 d over the angle's 36 h) and a tenth of a day more,
    // and within 3 h of least squares
    const crossing = [4.64, 5.0 + 1 / 24, 7.03 + 1 / 24];
    const lag = [0.6, 0.85, 0.85];
    robust.forEach((at, i) => {
      expect(at).toBeGreaterThan(crossing[i] as number);
      expect(at).toBeLessThan((crossing[i] as number) + (lag[i] as number));
      expect(Math.abs(at - (leastSquares[i] as number))).toBeLessThan(3 / 24);
    });
  });

  /**
   * One station with GNSS, crack meter and rain gauge (as the simulator's): a reading every 10 min, a GNSS solution
   * in every third. The derived `disp_h` is recomputed on every reading, so each solution reaches the window rules
   * three times — a jump looks like three samples.
   */
  function station(east: (t: number, solution: number) => number, days = 3) {
    const h = createHarness([mineSlope]);
    const random = randomSource(37);
    h.device({ device: 'st-1', profile: mineSlope, attributes: { slope_height_m: 180 } });
    for (let t = T0, i = 0; t < T0 + days * DAY; t += EVERY, i += 1) {
      const gnss = i % 3 === 0 ? solution(east(t, i / 3), random) : {};
      h.send('st-1', { ...gnss, crack_width: 12 + noise(random, 0.05), rainfall: 0 }, t);
    }
    h.advanceTo(T0 + days * DAY);
    return h;
  }

  it('a station with 30-min solutions: steady creep at v0 raises nothing; a 0.5 m jump that returns raises nothing', () => {
    const steady = (t: number) => 200 + (2 * (t - T0)) / DAY;
    expect(station(steady).steps).toEqual([]);
    const jump = station((t, n) => steady(t) + (n === 100 ? 500 : 0));
    expect(jump.steps).toEqual([]);
  });

  it('a station with 30-min solutions: 8 mm/h is red about 2 h in', () => {
    const start = T0 + 2 * DAY;
    const h = station((t) => 200 + (2 * (t - T0)) / DAY + (8 * Math.max(0, t - start)) / HOUR, 2.5);
    const red = h.stepsOf('velocity_1h')[0];
    expect(red?.severity).toBe('red');
    expect(red?.at).toBeGreaterThanOrEqual(start + 100 * MINUTE);
    expect(red?.at).toBeLessThanOrEqual(start + 160 * MINUTE);
  });

  it('cumulative horizontal displacement above 6×10⁻³ × slope height is orange after two solutions in a row', () => {
    const { h, run, t0 } = slope(1, { slope_height_m: 10 });
    // 6e-3 × 10 m = 60 mm; the point is at ~20 mm, then one solution at ~70 mm, then for good
    run(t0 + HOUR, (t) => (t === t0 || t >= t0 + 20 * MINUTE ? 70 : creep(t)));
    expect(h.timeline('cumulative_displacement', t0)).toEqual(['raised orange @30m']);
  });

  it('tangent angle: yellow, orange, red as the slope accelerates from 0.5 to 40 mm/d (yellow held 2 h, the others 1 h)', () => {
    const { h, run, t0 } = slope(2);
    run(t0 + DAY, moving(t0, 40));
    const steps = h.stepsOf('tangent_angle');
    expect(steps.map((s) => `${s.type} ${s.severity}`)).toEqual(['alarm.raised yellow', 'alarm.escalated orange', 'alarm.escalated red']);
    // the 36-h Theil–Sen slope passes 3.5 mm/d (60° and the gate v0 + 1.5 mm/d), 11.3 mm/d (80°) and 22.9 mm/d (85°)
    // about 8, 13.5 and 19 h after the kink in this seeded run (noise-free: 11.3, 14.2 and 19.1 h), plus the on-delays
    // (a sudden fast slope is velocity_24h's and velocity_1h's first: the angle judges acceleration, over 36 h)
    const at = steps.map((s) => (s.at - t0) / HOUR);
    expect(Math.abs((at[0] ?? 0) - 10)).toBeLessThan(0.7);
    expect(Math.abs((at[1] ?? 0) - 14.5)).toBeLessThan(0.7);
    expect(Math.abs((at[2] ?? 0) - 20.1)).toBeLessThan(0.7);
  });

  it('the tangent angle is not judged below the minimum velocity, however steep it would be', () => {
    // 0.5 mm/d against a steady velocity of 0.2 mm/d is 68°: yellow if judged
    const gated = slope(3, { steady_velocity_mm_d: 0.2, min_velocity_mm_d: 2, angle_margin_mm_d: 0 });
    expect(gated.h.stepsOf('tangent_angle')).toEqual([]);
    const ungated = slope(3, { steady_velocity_mm_d: 0.2, min_velocity_mm_d: 0, angle_margin_mm_d: 0 });
    expect(ungated.h.stepsOf('tangent_angle')[0]?.severity).toMatch(/yellow|orange/);
    // the default margin (judged only from v0 + 1.5 mm/d) keeps it quiet too
    const margin = slope(3, { steady_velocity_mm_d: 0.2, min_velocity_mm_d: 0 });
    expect(margin.h.stepsOf('tangent_angle')).toEqual([]);
  });

  it('steady creep at its steady velocity (α = 45° by definition) raises nothing, with GNSS noise, for four days', () => {
    // the point creeps at exactly v0 = 2 mm/d: GNSS noise moves the 36-h slope by about ±0.5 mm/d around 45°
    const { h, run, t0 } = slope(1, { steady_velocity_mm_d: 2 });
    run(t0 + 4 * DAY, moving(t0, 2));
    expect(h.stepsOf('tangent_angle')).toEqual([]);
    // judged from 45° (no margin), the same noise raises yellow: what the margin is for
    const bare = slope(1, { steady_velocity_mm_d: 2, angle_margin_mm_d: 0 }, undefined, {
      tangent_angle: { yellow: { raise: 45, clear: 42 } },
    });
    bare.run(bare.t0 + 4 * DAY, moving(bare.t0, 2));
    expect(bare.h.stepsOf('tangent_angle').map((s) => s.severity)).toContain('yellow');
  });

  it('a crack wider than 50 mm is orange; a crack growing more than 1 mm/d is yellow', () => {
    const { h, run, t0 } = slope(1);
    run(t0 + 2 * DAY, creep, (t) => 12 + (2 * (t - t0)) / DAY);
    const growth = h.stepsOf('crack_growth');
    expect(growth.map((s) => `${s.type} ${s.severity}`)).toEqual(['alarm.raised yellow']);
    // like the 24-h velocity: a 0.05 → 2 mm/d kink passes 1 mm/d about 12 h later
    expect(Math.abs((growth[0]?.at ?? 0) - (t0 + 12 * HOUR))).toBeLessThanOrEqual(HOUR);
    const t1 = h.now;
    run(t1 + HOUR, creep, (t) => (t >= t1 + 30 * MINUTE ? 51 : 16));
    expect(h.timeline('crack_width_high', t1)).toEqual(['raised orange @30m']);
  });

  it('rain over 24 h: yellow at 50 mm, orange at 100 mm, red at 250 mm, cleared when the storm leaves the window', () => {
    const { h, run, t0 } = slope(1);
    // 2.5 mm per 10 min (15 mm/h) for 7 h = 105 mm, then 30 mm per 10 min for 50 min = 150 mm more
    run(t0 + 8 * HOUR, creep, undefined, (t) => (t < t0 + 7 * HOUR ? 2.5 : t < t0 + 7 * HOUR + 50 * MINUTE ? 30 : 0));
    run(t0 + 2 * DAY);
    expect(h.timeline('rainfall_24h', t0)).toEqual([
      'raised yellow @3h10m',
      'escalated orange @6h30m',
      'escalated red @7h40m',
      // a day later the rain leaves the 24-h window (48 buckets of 30 min), 7.5 mm per bucket:
      // 255 → 225 mm (below red's 230) at 1d1h30m, the last 2.5-mm bucket at 1d7h leaves 60 mm, then nothing
      'deescalated orange @1d1h30m',
      'deescalated yellow @1d7h',
      'cleared yellow @1d7h30m',
    ]);
  });

  it('groundwater above the design level is yellow; without a design level there is no rule', () => {
    const { h, random, t0 } = slope(0, { groundwater_design_level_m: 310 });
    h.send('gnss-1', { ...solution(20, random), groundwater_level: 310.5 }, t0 + MINUTE);
    h.send('crack-1', { groundwater_level: 320 });
    h.send('gnss-1', { ...solution(20, random), groundwater_level: 309.5 }, t0 + 2 * MINUTE);
    expect(h.timeline('groundwater_high', t0)).toEqual(['raised yellow @1m', 'cleared yellow @2m']);
  });

  it('a silent station is yellow after 3 intervals (30 min), orange after 6 h, red after 24 h', () => {
    const { h, t0 } = slope(1);
    h.advanceTo(t0 + 2 * DAY);
    expect(h.timeline('device_silent', t0 - EVERY, 'rain-1')).toEqual(['raised yellow @30m', 'escalated orange @6h', 'escalated red @1d']);
  });

  it('a GNSS solution that repeats exactly for 6 h is yellow (frozen receiver); out-of-range is a sensor fault', () => {
    const { h, run, t0 } = slope(1);
    let frozen: Metrics | null = null;
    for (let t = t0; t < t0 + 7 * HOUR; t += EVERY) {
      frozen ??= { disp_east: 21.3, disp_north: 4.2, disp_up: -3 };
      h.send('gnss-1', frozen, t);
    }
    expect(h.timeline('gnss_stuck', t0)).toEqual(['raised yellow @6h']);
    run(h.now + HOUR);
    h.send('crack-1', { crack_width: -3 });
    expect(h.active('sensor_fault', 'crack-1')?.severity).toBe('orange');
  });

  it('a dead GNSS receiver reading 50 m east (out of range) for 14 h is a sensor fault, not an evacuation-level red', () => {
    const { h, run, t0 } = slope(1, { slope_height_m: 150 });
    run(t0 + 14 * HOUR, () => 50_000);
    expect(h.active('sensor_fault', 'gnss-1')?.severity).toBe('orange');
    // the horizontal displacement is not derived from a faulty input: no velocity, tangent or cumulative alarm
    expect(h.activeSummary()).toEqual(['sensor_fault:orange']);
    // back in range: judged again
    run(h.now + DAY);
    expect(h.activeSummary()).toEqual([]);
  });
});

describe.each([10, 60])('mine-slope at %i-min solutions (the fastest and the slowest cadence the profile allows)', (minutes) => {
  const every = minutes * MINUTE;
  const kink = T0 + 2 * DAY;

  /** One station (GNSS and crack gauge) reporting every `every` for `days`. */
  function station(east: (t: number) => number, days: number, crack: (t: number) => number = () => 12) {
    const h = createHarness([mineSlope]);
    const random = randomSource(53);
    h.device({ device: 'st-1', profile: mineSlope, attributes: { slope_height_m: 1000 } });
    for (let t = T0; t < T0 + days * DAY; t += every) {
      h.send('st-1', { ...solution(east(t), random), crack_width: crack(t) + noise(random, 0.05) }, t);
    }
    h.advanceTo(T0 + days * DAY);
    return h;
  }
  /** Creep until the kink, then `v` mm/d on top. */
  const sped = (v: number) => (t: number) => creep(t) + (v * Math.max(0, t - kink)) / DAY;

  it('three days of creep with GNSS noise raise nothing (no silence either: the cadence is learned); silent, it is yellow after 3 intervals', () => {
    const h = station(creep, 3);
    expect(h.steps).toEqual([]);
    const last = T0 + 3 * DAY - every;
    h.advanceTo(T0 + 4 * DAY);
    expect(h.timeline('device_silent', last)[0]).toBe(`raised yellow @${minutes === 60 ? '3h' : '30m'}`);
  });

  it('20 mm/d is orange on the 24-h velocity within 16 h of the kink', () => {
    const h = station(sped(20), 3);
    const orange = h.stepsOf('velocity_24h')[0];
    expect(orange?.severity).toBe('orange');
    expect(orange?.at).toBeGreaterThan(kink);
    expect(orange?.at).toBeLessThan(kink + 16 * HOUR);
  });

  it('8 mm/h is red on the hourly velocity within 3 h', () => {
    const h = station(sped(8 * 24), 2.5);
    const red = h.stepsOf('velocity_1h')[0];
    expect(red?.severity).toBe('red');
    expect(red?.at).toBeGreaterThan(kink);
    expect(red?.at).toBeLessThan(kink + 3 * HOUR);
  });

  it('an acceleration to 40 mm/d climbs the tangent angle to red within a day', () => {
    const h = station(sped(40), 3);
    expect(h.stepsOf('tangent_angle').map((s) => s.severity)).toEqual(['yellow', 'orange', 'red']);
    expect(h.stepsOf('tangent_angle').at(-1)?.at).toBeLessThan(kink + DAY);
  });

  it('a crack opening 3 mm/d is yellow within a day; a still one is quiet', () => {
    const h = station(creep, 3, (t) => 12 + (3 * Math.max(0, t - kink)) / DAY);
    const yellow = h.stepsOf('crack_growth')[0];
    expect(yellow?.severity).toBe('yellow');
    expect(yellow?.at).toBeLessThan(kink + DAY);
  });
});

describe('mine-slope attributes and units', () => {
  it('fills defaults and rejects nonsense', () => {
    expect(mineSlopeAttributes.parse({})).toEqual({
      slope_height_m: 150,
      steady_velocity_mm_d: 2,
      min_velocity_mm_d: 1,
      angle_margin_mm_d: 1.5,
    });
    expect(mineSlopeAttributes.safeParse({ slope_height_m: 0 }).success).toBe(false);
    expect(mineSlopeAttributes.safeParse({ steady_velocity_mm_d: -1 }).success).toBe(false);
    expect(mineSlopeAttributes.safeParse({ slope_height: 150 }).success).toBe(false);
  });

  it('converts the units devices send', () => {
    expect(toCanonical(mineSlope, 'disp_east', 'm', 0.0123)).toBeCloseTo(12.3);
    expect(toCanonical(mineSlope, 'disp_north', 'cm', 1.5)).toBeCloseTo(15);
    expect(toCanonical(mineSlope, 'crack_width', 'cm', 5.1)).toBeCloseTo(51);
    expect(toCanonical(mineSlope, 'rainfall', 'cm', 1.2)).toBeCloseTo(12);
    expect(toCanonical(mineSlope, 'rainfall', 'in', 1)).toBeCloseTo(25.4);
    expect(toCanonical(mineSlope, 'groundwater_level', 'cm', 31_050)).toBeCloseTo(310.5);
  });
});
