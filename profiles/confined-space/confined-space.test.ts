import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../../rules/src/index.js';
import { toCanonical } from '../test-support/convert.js';
import { createHarness, HOUR, MINUTE, noise, randomSource, ruleSetProblems, SECOND, T0 } from '../test-support/harness.js';
import { MOLAR_MASS, ppmToMgPerM3 } from '../units.js';
import { confinedSpace, confinedSpaceAttributes } from './index.js';

type Metrics = Record<string, MetricValue>;
const WORK_EVERY = 5 * SECOND;
const IDLE_EVERY = 60 * SECOND;

/** Fresh air, as a pump-suction detector reads it in a ventilated space. */
function freshAir(random: () => number, permit: boolean): Metrics {
  return {
    o2: 20.9 + noise(random, 0.1),
    lel: Math.max(0, 1 + noise(random, 1)),
    h2s: 0,
    co: Math.max(0, 2 + noise(random, 2)),
    co2: 0.05 + noise(random, 0.01),
    ventilation_running: permit,
    permit_active: permit,
  };
}

/** A detector idle for 5 min, then a work permit with ventilation for 10 min, readings every 5 s. */
function space(attributes: Record<string, MetricValue> = {}) {
  const h = createHarness([confinedSpace]);
  const random = randomSource(21);
  h.device({ device: 'gas-1', profile: confinedSpace, attributes });
  h.run('gas-1', T0 + 5 * MINUTE, IDLE_EVERY, () => freshAir(random, false));
  const work = (until: number, change: (t: number, i: number) => Metrics = () => ({})) =>
    h.run('gas-1', until, WORK_EVERY, (t, i) => ({ ...freshAir(random, true), ...change(t, i) }));
  work(T0 + 15 * MINUTE);
  return { h, random, work, t0: h.now };
}

describe('confined-space profile', () => {
  it('loads: its rule file parses and every name it reads is a metric of the profile', () => {
    expect(ruleSetProblems([confinedSpace])).toEqual([]);
  });

  it('a normal day — idle heartbeats, two ventilated permits with readings every 5 s — raises nothing', () => {
    const h = createHarness([confinedSpace]);
    const random = randomSource(2);
    h.device({ device: 'gas-1', profile: confinedSpace });
    for (const [from, to] of [
      [9, 11],
      [14, 16.5],
    ] as const) {
      h.run('gas-1', T0 + from * HOUR, IDLE_EVERY, () => freshAir(random, false));
      h.run('gas-1', T0 + to * HOUR, WORK_EVERY, () => freshAir(random, true));
    }
    h.run('gas-1', T0 + 24 * HOUR, IDLE_EVERY, () => freshAir(random, false));
    expect(h.steps).toEqual([]);
  });

  it('oxygen below 19.5 % is orange and below 18 % red, each at once (the detector T90 is the filter); above 23.5 % orange', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ o2: 19.2 }));
    work(t0 + 2 * MINUTE, () => ({ o2: 17.8 }));
    work(t0 + 3 * MINUTE, () => ({ o2: 20.9 }));
    work(t0 + 4 * MINUTE, () => ({ o2: 23.8 }));
    work(t0 + 5 * MINUTE);
    expect(h.timeline('o2_low', t0)).toEqual(['raised orange @0s', 'escalated red @1m', 'cleared red @2m']);
    expect(h.timeline('o2_high', t0)).toEqual(['raised orange @3m', 'cleared orange @4m']);
  });

  it('a 5-second excursion is shown as it happens, every level crossed its own transition (no gateway on-delay)', () => {
    // domain/monitors.md: life-safety gas levels get at most 2 s in the gateway; the detector's T90 is the filter
    const { h, work, t0 } = space();
    work(t0 + MINUTE, (_t, i): Metrics => (i === 3 ? { o2: 18.5, h2s: 20 } : {}));
    expect(h.timeline('o2_low', t0)).toEqual(['raised orange @15s', 'cleared orange @20s']);
    // 0 → 20 ppm in one reading passes the first level (7 ppm) on the way to the second (14 ppm): both are shown
    expect(h.timeline('h2s_high', t0)).toEqual(['raised orange @15s', 'escalated red @15s', 'cleared red @20s']);
  });

  it('oxygen below 1 % with LEL normal is an orange sensor fault, not an asphyxiation red', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ o2: 0.4 }));
    work(t0 + 2 * MINUTE);
    expect(h.timeline('o2_sensor_fault', t0)).toEqual(['raised orange @0s', 'cleared orange @1m']);
    expect(h.stepsOf('o2_low')).toEqual([]);
  });

  it('oxygen falling through red on to ~0 with LEL normal is the atmosphere (inert gas), not the cell: the red stays', () => {
    // nitrogen leaking into a tank: 20.9 → 0.5 % over two minutes, no combustible gas
    const { h, work, t0 } = space();
    work(t0 + 2 * MINUTE, (t) => ({ o2: Math.max(0.5, 20.9 - (20.4 * (t - t0)) / (2 * MINUTE)), lel: 0 }));
    work(t0 + 3 * MINUTE, () => ({ o2: 0.5, lel: 0 }));
    expect(h.timeline('o2_low', t0)).toEqual(['raised orange @10s', 'escalated red @20s']);
    expect(h.active('o2_low')?.severity).toBe('red');
    expect(h.stepsOf('o2_sensor_fault')).toEqual([]);
    // the air comes back: the deficiency clears; the same detector dying later reads as a fault again
    work(t0 + 4 * MINUTE, () => ({ o2: 20.9, lel: 0 }));
    expect(h.active('o2_low')).toBeUndefined();
    work(t0 + 5 * MINUTE, () => ({ o2: 0.3, lel: 0 }));
    expect(h.active('o2_sensor_fault')?.severity).toBe('orange');
    expect(h.active('o2_low')).toBeUndefined();
  });

  it('oxygen below 1 % from a detector that sends no LEL: nothing says it is the sensor, so it is a red deficiency', () => {
    const h = createHarness([confinedSpace]);
    h.device({ device: 'gas-2', profile: confinedSpace });
    const noLel = (o2: number): Metrics => ({ o2, h2s: 0, co: 2, ventilation_running: true, permit_active: true });
    h.run('gas-2', T0 + 5 * MINUTE, WORK_EVERY, () => noLel(20.9));
    h.run('gas-2', T0 + 6 * MINUTE, WORK_EVERY, () => noLel(0.5));
    expect(h.active('o2_low')?.severity).toBe('red');
    expect(h.stepsOf('o2_sensor_fault')).toEqual([]);
  });

  it('a toxic gas above its sensor range is the red gas alarm as well as the sensor fault (a saturated sensor, fail-safe)', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ h2s: 1_200 }));
    expect(h.active('h2s_high')?.severity).toBe('red');
    expect(h.active('sensor_fault')?.severity).toBe('orange');
  });

  it('oxygen below 1 % with combustible gas present is the real thing: red, no sensor fault', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ o2: 0.4, lel: 30 }));
    expect(h.active('o2_low')?.severity).toBe('red');
    expect(h.active('lel_high')?.severity).toBe('orange');
    expect(h.stepsOf('o2_sensor_fault')).toEqual([]);
  });

  it('combustible gas: yellow at 10 (entry limit), orange at 25, red at 50 %LEL', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ lel: 12 }));
    work(t0 + 2 * MINUTE, () => ({ lel: 30 }));
    work(t0 + 3 * MINUTE, () => ({ lel: 55 }));
    work(t0 + 4 * MINUTE);
    expect(h.timeline('lel_high', t0)).toEqual(['raised yellow @0s', 'escalated orange @1m', 'escalated red @2m', 'cleared red @3m']);
  });

  it('LEL over 100 % latches red until acknowledged (catalytic sensor may read falsely low), then clears at once', () => {
    const { h, work, t0 } = space();
    work(t0 + 20 * SECOND, () => ({ lel: 120 }));
    work(t0 + 10 * HOUR, () => ({ lel: 3 }));
    expect(h.active('lel_over_range')?.severity).toBe('red');
    expect(h.active('lel_high')).toBeUndefined();
    h.acknowledge('lel_over_range');
    expect(h.active('lel_over_range')).toBeUndefined();
    expect(h.timeline('lel_over_range', t0)).toEqual(['raised red @0s', 'cleared red @10h']);
    expect(h.open('lel_over_range')?.acknowledged).toBe(true);
  });

  it('LEL over 100 % acknowledged while still over range clears when the reading falls; a new excursion latches again', () => {
    const { h, work, t0 } = space();
    work(t0 + 20 * SECOND, () => ({ lel: 120 }));
    h.acknowledge('lel_over_range');
    work(t0 + 40 * SECOND, () => ({ lel: 3 }));
    work(t0 + 60 * SECOND, () => ({ lel: 130 }));
    work(t0 + HOUR, () => ({ lel: 3 }));
    expect(h.timeline('lel_over_range', t0)).toEqual(['raised red @0s', 'cleared red @20s', 'raised red @40s']);
    // the return to alarm needs a new acknowledgement, which lets it go again
    expect(h.active('lel_over_range')?.acknowledged).toBe(false);
    h.acknowledge('lel_over_range');
    expect(h.active('lel_over_range')).toBeUndefined();
  });

  it('H₂S: orange at 7 ppm (10 mg/m³ MAC), red at 14 ppm; a device sending mg/m³ is converted first', () => {
    const { h, work, t0 } = space();
    const fromMg = (mg: number) => toCanonical(confinedSpace, 'h2s', 'mg/m3', mg);
    work(t0 + MINUTE, () => ({ h2s: fromMg(10.5) }));
    work(t0 + 2 * MINUTE, () => ({ h2s: fromMg(21) }));
    work(t0 + 3 * MINUTE, () => ({ h2s: 0 }));
    expect(h.timeline('h2s_high', t0)).toEqual(['raised orange @0s', 'escalated red @1m', 'cleared red @2m']);
  });

  it('CO: orange at 17 ppm, red at 34 ppm', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ co: 20 }));
    work(t0 + 2 * MINUTE, () => ({ co: 40 }));
    work(t0 + 3 * MINUTE, () => ({ co: 2 }));
    expect(h.timeline('co_high', t0)).toEqual(['raised orange @0s', 'escalated red @1m', 'cleared red @2m']);
  });

  it('CO 15-minute average ≥ 26 ppm is orange (STEL) even when no reading stays above 34 ppm', () => {
    const { h, work, t0 } = space();
    work(t0 + 20 * MINUTE, () => ({ co: 30 }));
    work(t0 + 40 * MINUTE, () => ({ co: 2 }));
    const steps = h.timeline('co_stel', t0);
    expect(steps).toHaveLength(2);
    // the average of the last 15 min passes 26 ppm about 13 min into the exposure, and falls below 24 about 2 min after
    expect(steps[0]).toMatch(/^raised orange @1[2-4]m/);
    expect(steps[1]).toMatch(/^cleared orange @2[1-3]m/);
    expect(h.stepsOf('co_high').map((s) => s.severity)).toEqual(['orange', 'orange']);
  });

  it('a detector just switched on does not claim a 15-minute average from 20 s of data', () => {
    const h = createHarness([confinedSpace]);
    h.device({ device: 'gas-3', profile: confinedSpace });
    const random = randomSource(5);
    h.run('gas-3', T0 + 20 * SECOND, WORK_EVERY, () => ({ ...freshAir(random, true), co: 27 }));
    expect(h.stepsOf('co_stel')).toEqual([]);
    expect(h.active('co_high')?.severity).toBe('orange');
  });

  it('a detector just switched on does not claim an 8-hour average from minutes of data', () => {
    const h = createHarness([confinedSpace]);
    h.device({ device: 'gas-3', profile: confinedSpace });
    const random = randomSource(5);
    h.run('gas-3', T0 + 30 * MINUTE, WORK_EVERY, () => ({ ...freshAir(random, true), co: 18 }));
    expect(h.stepsOf('co_twa')).toEqual([]);
    h.run('gas-3', T0 + 70 * MINUTE, WORK_EVERY, () => ({ ...freshAir(random, true), co: 18 }));
    expect(h.active('co_twa')?.severity).toBe('orange');
  });

  it('CO 8-hour average ≥ 17 ppm is orange (TWA) from short excursions that the 15-min average (STEL) does not reach', () => {
    const { h, work, t0 } = space();
    // 30 ppm and 8 ppm alternate every 5 s: average 19 ppm, each excursion above 17 ppm shown by co_high at once
    work(t0 + 3 * HOUR, (_t, i) => ({ co: i % 2 === 0 ? 30 : 8 }));
    expect(h.stepsOf('co_stel')).toEqual([]);
    const twa = h.stepsOf('co_twa');
    expect(twa.map((s) => `${s.type} ${s.severity}`)).toEqual(['alarm.raised orange']);
    // the 10 min of fresh air before are in the average too
    expect((twa[0]?.at ?? 0) - t0).toBeLessThan(2 * HOUR);
  });

  it('CO₂: orange at 0.5 % vol, red at 1.0 % vol', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ co2: 0.6 }));
    work(t0 + 2 * MINUTE, () => ({ co2: 1.1 }));
    work(t0 + 3 * MINUTE);
    expect(h.timeline('co2_high', t0)).toEqual(['raised orange @0s', 'escalated red @1m', 'cleared red @2m']);
  });

  it('ventilation stopping while a permit is active is red at once: stop work and evacuate', () => {
    const { h, work, random, t0 } = space();
    work(t0 + MINUTE, () => ({ ventilation_running: false }));
    work(t0 + 2 * MINUTE);
    // without a permit the fan may stop
    h.run('gas-1', t0 + 10 * MINUTE, IDLE_EVERY, () => freshAir(random, false));
    expect(h.timeline('ventilation_stopped', t0)).toEqual(['raised red @0s', 'cleared red @1m']);
    expect(h.active('ventilation_stopped')).toBeUndefined();
    // the raise says what to do; the clear says what must happen before anyone goes back in (not "back to normal")
    const [raised, cleared] = h.book.history(h.open('ventilation_stopped')?.id ?? '');
    expect(raised?.alarm.message).toMatch(/stop work and evacuate/);
    expect(cleared?.alarm.message).toBe(
      'Ventilation running again or the work permit closed: ventilate and test the air before anyone re-enters',
    );
    expect(cleared?.alarm.messageZh).toBe('通风已恢复或作业许可已关闭：再次进入前须重新通风并检测合格');
  });

  it('silence while a permit is active: orange after 30 s, red after 2 min; data clears it', () => {
    const { h, work, random, t0 } = space();
    const last = t0 - WORK_EVERY;
    h.advanceTo(t0 + 3 * MINUTE);
    work(t0 + 4 * MINUTE);
    expect(h.timeline('silent_during_permit', last)).toEqual(['raised orange @30s', 'escalated red @2m', 'cleared red @3m5s']);
    // idle silence only follows the normal ladder
    h.run('gas-1', t0 + 5 * MINUTE, IDLE_EVERY, () => freshAir(random, false));
    h.advanceTo(t0 + 30 * MINUTE);
    expect(h.stepsOf('silent_during_permit')).toHaveLength(3);
    // the device's own offline ladder runs too: 3 × its learned cadence — the 60-s idle heartbeat (the 5-s readings
    // at work are bursts, faster than half the profile's fastest cadence, and do not count) — then 15 min
    expect(h.timeline('device_silent', last)).toEqual([
      'raised yellow @3m',
      'cleared yellow @3m5s',
      'raised yellow @7m5s',
      'escalated orange @19m5s',
    ]);
  });

  it('a reading outside the physical range is an orange sensor fault', () => {
    const { h, work, t0 } = space();
    work(t0 + MINUTE, () => ({ o2: 35 }));
    work(t0 + 2 * MINUTE);
    expect(h.timeline('sensor_fault', t0)).toEqual(['raised orange @0s', 'cleared orange @1m']);
  });
});

describe('confined-space attributes and units', () => {
  it('fills defaults and rejects nonsense', () => {
    expect(confinedSpaceAttributes.parse({})).toEqual({ detector_type: 'pump', lel_normal_max: 10 });
    expect(confinedSpaceAttributes.safeParse({ detector_type: 'badge' }).success).toBe(false);
    expect(confinedSpaceAttributes.safeParse({ lel_normal_max: 60 }).success).toBe(false);
  });

  it('converts mg/m³ to ppm at 20 °C with each gas molar mass, and back', () => {
    // GBZ 2.1 limits quoted in the reference
    expect(toCanonical(confinedSpace, 'h2s', 'mg/m3', 10)).toBeCloseTo(7.05, 2);
    expect(toCanonical(confinedSpace, 'h2s', 'mg/m³', 20)).toBeCloseTo(14.11, 2);
    expect(toCanonical(confinedSpace, 'co', 'mg/m3', 20)).toBeCloseTo(17.17, 2);
    expect(toCanonical(confinedSpace, 'co', 'mg/m3', 30)).toBeCloseTo(25.75, 2);
    expect(toCanonical(confinedSpace, 'co', 'mg/m3', 40)).toBeCloseTo(34.33, 2);
    expect(toCanonical(confinedSpace, 'co', 'ppm', 12)).toBe(12);
    expect(ppmToMgPerM3(MOLAR_MASS.h2s, toCanonical(confinedSpace, 'h2s', 'mg/m3', 15))).toBeCloseTo(15);
    expect(ppmToMgPerM3(MOLAR_MASS.nh3, 1)).toBeCloseTo(0.708, 3);
    expect(ppmToMgPerM3(MOLAR_MASS.so2, 1)).toBeCloseTo(2.665, 3);
    expect(ppmToMgPerM3(MOLAR_MASS.no2, 1)).toBeCloseTo(1.914, 3);
    expect(ppmToMgPerM3(MOLAR_MASS.cl2, 1)).toBeCloseTo(2.949, 3);
    // CO₂ limits are in mg/m³ in GBZ 2.1: 9000 mg/m³ ≈ 0.49 % vol
    expect(toCanonical(confinedSpace, 'co2', 'mg/m3', 9000)).toBeCloseTo(0.4916, 3);
    expect(toCanonical(confinedSpace, 'co2', 'ppm', 5000)).toBeCloseTo(0.5);
    expect(() => toCanonical(confinedSpace, 'o2', 'ppm', 1)).toThrow(/unknown unit/);
  });
});
