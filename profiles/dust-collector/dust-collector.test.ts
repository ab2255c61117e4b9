import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../../rules/src/index.js';
import { toCanonical } from '../test-support/convert.js';
import { createHarness, DAY, HOUR, MINUTE, noise, randomSource, ruleSetProblems, SECOND, T0 } from '../test-support/harness.js';
import { dustCollector, dustCollectorAttributes } from './index.js';

const EVERY = 30 * SECOND;
type Metrics = Record<string, MetricValue>;

/** A dry collector at work: ΔP saw-tooth 1000–1250 Pa with a pulse every 10 min, hopper ambient + 10 °C. */
function working(t: number, random: () => number, hopper = 30): Metrics {
  const phase = (t % (10 * MINUTE)) / (10 * MINUTE);
  return {
    process_running: true,
    fan_running: true,
    rotary_valve: 'running',
    diff_pressure: Math.round(1000 + 250 * phase + noise(random, 10)),
    hopper_temp: hopper + noise(random, 0.3),
    inlet_temp: 28 + noise(random, 0.3),
    outlet_temp: 26 + noise(random, 0.3),
    spark_count: 0,
    duct_velocity: 21 + noise(random, 0.5),
    vent_burst: false,
    isolation_valve: 'open',
    suppression: 'ready',
  };
}

/** Night: the line and the fan are off, ΔP near zero, hopper at ambient. */
function idle(random: () => number): Metrics {
  return {
    process_running: false,
    fan_running: false,
    rotary_valve: 'stopped',
    diff_pressure: Math.max(0, Math.round(5 + noise(random, 5))),
    hopper_temp: 20 + noise(random, 0.3),
    inlet_temp: 20 + noise(random, 0.3),
    outlet_temp: 20 + noise(random, 0.3),
    spark_count: 0,
    duct_velocity: 0,
    vent_burst: false,
    isolation_valve: 'open',
    suppression: 'ready',
  };
}

function wetWorking(random: () => number): Metrics {
  return {
    process_running: true,
    fan_running: true,
    water_level: 0.6 + noise(random, 0.02),
    circulation_flow: 20 + noise(random, 0.5),
    h2: Math.max(0, 1 + noise(random, 1)),
  };
}

/** A harness with one dry (dc-01) and one wet (wc-01) collector, both working normally for 10 minutes. */
function plant(attributes: Record<string, MetricValue> = {}) {
  const h = createHarness([dustCollector]);
  const random = randomSource(7);
  h.device({ device: 'dc-01', profile: dustCollector, attributes });
  h.device({ device: 'wc-01', profile: dustCollector, attributes: { collector_type: 'wet' } });
  const both = (until: number, dry: (t: number) => Metrics = (t) => working(t, random), wet: () => Metrics = () => wetWorking(random)) => {
    for (let t = h.now; t < until; t += EVERY) {
      h.send('dc-01', dry(t), t);
      h.send('wc-01', wet(), t);
    }
    h.advanceTo(until);
  };
  both(T0 + 10 * MINUTE);
  return { h, random, both, start: h.now };
}

describe('dust-collector profile', () => {
  it('loads: its rule file parses and every name it reads is a metric of the profile', () => {
    expect(ruleSetProblems([dustCollector])).toEqual([]);
  });

  it('a normal day — a 06:00–22:00 shift, idle at night, dry and wet collectors — raises nothing', () => {
    const h = createHarness([dustCollector]);
    const random = randomSource(1);
    h.device({ device: 'dc-01', profile: dustCollector });
    h.device({ device: 'wc-01', profile: dustCollector, attributes: { collector_type: 'wet' } });
    for (let t = T0; t < T0 + DAY; t += EVERY) {
      const hour = (t - T0) / HOUR;
      const producing = hour >= 6 && hour < 22;
      // the hopper warms from 20 °C towards 30 °C after the shift starts (time constant 15 min)
      const warm = 20 + 10 * (1 - Math.exp(-Math.max(0, hour - 6) * 4));
      h.send('dc-01', producing ? working(t, random, warm) : idle(random), t);
      h.send('wc-01', producing ? wetWorking(random) : { ...wetWorking(random), process_running: false, fan_running: false }, t);
    }
    h.advanceTo(T0 + DAY);
    expect(h.steps).toEqual([]);
  });

  it('hopper temperature: yellow at 60, orange at 70, red at 80 °C, cleared with hysteresis', () => {
    const { h, random, both, start } = plant();
    // +0.5 °C per reading (1 °C/min): steady heating, too slow for the smouldering rule
    both(start + 60 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: Math.min(82, 30.5 + (t - start) / MINUTE) }));
    both(start + 61 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: 40 }));
    expect(h.timeline('hopper_temp_high', start)).toEqual([
      'raised yellow @29m30s',
      'escalated orange @39m30s',
      'escalated red @49m30s',
      'cleared red @1h',
    ]);
    expect(h.stepsOf('hopper_temp_rising')).toEqual([]);
  });

  it('hopper temperature rising more than 5 °C/min is orange (smouldering), cleared once the rise stops', () => {
    const { h, random, both, start } = plant();
    // 3 °C per reading = 6 °C/min for 3 minutes, then a plateau; measured over the last minute
    both(start + 3 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: 33 + (6 * (t - start)) / MINUTE }));
    both(start + 10 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: 48 }));
    expect(h.timeline('hopper_temp_rising', start)).toEqual(['raised orange @30s', 'cleared orange @3m30s']);
  });

  it('ΔP ≥ 1500 Pa for 10 min is yellow, ≥ 1800 for 10 min orange (cleaning failure); cleared 1 min after it falls', () => {
    const { h, random, both, start } = plant();
    both(start + 15 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: 1600 }));
    both(start + 30 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: 1900 }));
    both(start + 40 * MINUTE);
    expect(h.timeline('diff_pressure_high', start)).toEqual(['raised yellow @10m', 'escalated orange @25m', 'cleared orange @31m']);
  });

  it('ΔP high for less than 10 min (a missed pulse) raises nothing', () => {
    const { h, random, both, start } = plant();
    both(start + 9 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: 1600 }));
    both(start + 30 * MINUTE);
    expect(h.stepsOf('diff_pressure_high')).toEqual([]);
  });

  it('ΔP below 250 Pa while the fan runs is orange after 60 s (bag rupture); the fan stopping clears it', () => {
    const { h, random, both, start } = plant();
    both(start + 5 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: 180 }));
    both(start + 10 * MINUTE, () => ({ ...idle(random), diff_pressure: 180 }));
    expect(h.timeline('diff_pressure_low', start)).toEqual(['raised orange @1m', 'cleared orange @5m']);
  });

  it('rotary valve: fault is orange at once; stopped while the fan runs is orange after 60 s', () => {
    const { h, random, both, start } = plant();
    both(start + 2 * MINUTE, (t) => ({ ...working(t, random), rotary_valve: 'fault' }));
    both(start + 4 * MINUTE);
    both(start + 4 * MINUTE + 50 * SECOND, (t) => ({ ...working(t, random), rotary_valve: 'stopped' })); // 50 s: tolerated
    both(start + 8 * MINUTE);
    both(start + 12 * MINUTE, (t) => ({ ...working(t, random), rotary_valve: 'stopped' }));
    both(start + 14 * MINUTE);
    expect(h.timeline('rotary_valve_fault', start)).toEqual(['raised orange @0s', 'cleared orange @2m']);
    expect(h.timeline('rotary_valve_stopped', start)).toEqual(['raised orange @9m', 'cleared orange @12m']);
  });

  it('the fan stopped while the process runs is orange after 10 s', () => {
    const { h, random, both, start } = plant();
    both(start + 3 * MINUTE, (t) => ({ ...working(t, random), fan_running: false, rotary_valve: 'stopped' }));
    both(start + 5 * MINUTE);
    expect(h.timeline('fan_stopped_while_process', start)).toEqual(['raised orange @10s', 'cleared orange @3m']);
  });

  it('inlet and outlet temperature ≥ 70 °C are orange', () => {
    const { h, random, both, start } = plant();
    both(start + 2 * MINUTE, (t) => ({ ...working(t, random), inlet_temp: 72, outlet_temp: 71 }));
    both(start + 4 * MINUTE);
    expect(h.timeline('inlet_temp_high', start)).toEqual(['raised orange @0s', 'cleared orange @2m']);
    expect(h.timeline('outlet_temp_high', start)).toEqual(['raised orange @0s', 'cleared orange @2m']);
  });

  it('duct velocity below the design minimum for 5 min is yellow, only while the fan runs', () => {
    const { h, random, both, start } = plant({ min_duct_velocity_ms: 20 });
    both(start + 10 * MINUTE, (t) => ({ ...working(t, random), duct_velocity: 19 }));
    both(start + 12 * MINUTE);
    both(start + 30 * MINUTE, () => idle(random));
    expect(h.timeline('duct_velocity_low', start, 'dc-01')).toEqual(['raised yellow @5m', 'cleared yellow @10m']);
  });

  it('a spark is orange; 5 sparks within a minute are red, cleared once the minute has passed', () => {
    const { h, random, both, start } = plant();
    both(start + 30 * SECOND, (t) => ({ ...working(t, random), spark_count: 1 }));
    both(start + 5 * MINUTE);
    both(start + 6 * MINUTE, (t) => ({ ...working(t, random), spark_count: 3 }));
    both(start + 10 * MINUTE);
    expect(h.timeline('spark_detected', start)).toEqual([
      'raised orange @0s',
      'cleared orange @30s',
      'raised orange @5m',
      'cleared orange @6m',
    ]);
    const burst = h.timeline('spark_burst', start);
    // 3 + 3 sparks at 5m and 5m30s; the 5m sparks leave the one-minute window at 6m
    expect(burst).toEqual(['raised red @5m30s', 'cleared red @6m']);
  });

  it('explosion protection: vent burst, isolation triggered, suppression fired are red; device faults orange', () => {
    const { h, random, both, start } = plant();
    both(start + MINUTE, (t) => ({ ...working(t, random), isolation_valve: 'fault', suppression: 'fault' }));
    both(start + 2 * MINUTE, (t) => ({ ...working(t, random), vent_burst: true, isolation_valve: 'triggered', suppression: 'fired' }));
    expect(h.activeSummary().filter((s) => !s.startsWith('wc'))).toEqual([
      'isolation_valve_triggered:red',
      'suppression_fired:red',
      'vent_burst:red',
    ]);
    expect(h.timeline('isolation_valve_fault', start)).toEqual(['raised orange @0s', 'cleared orange @1m']);
    expect(h.timeline('suppression_fault', start)).toEqual(['raised orange @0s', 'cleared orange @1m']);
  });

  it('oxygen in an inerted system: orange at LOC − 2, red at LOC, at once (a gas level: no gateway on-delay); LOC is a device attribute', () => {
    const { h, random, both, start } = plant({ loc_percent: 12 });
    both(start + 2 * MINUTE, (t) => ({ ...working(t, random), o2: 7 }));
    both(start + 4 * MINUTE, (t) => ({ ...working(t, random), o2: 10.2 }));
    both(start + 6 * MINUTE, (t) => ({ ...working(t, random), o2: 12.1 }));
    both(start + 8 * MINUTE, (t) => ({ ...working(t, random), o2: 6 }));
    expect(h.timeline('o2_high', start)).toEqual(['raised orange @2m', 'escalated red @4m', 'cleared red @6m']);
  });

  it('wet collector: water level below the low limit while the process runs is orange; flow below 80 % yellow, 10 % red', () => {
    const { h, random, both, start } = plant();
    both(start + 5 * MINUTE, undefined, () => ({ ...wetWorking(random), water_level: 0.2 }));
    both(start + 10 * MINUTE, undefined, () => ({ ...wetWorking(random), water_level: 0.2, process_running: false }));
    both(start + 15 * MINUTE, undefined, () => ({ ...wetWorking(random), circulation_flow: 15 }));
    both(start + 20 * MINUTE, undefined, () => ({ ...wetWorking(random), circulation_flow: 1.5 }));
    both(start + 25 * MINUTE);
    expect(h.timeline('water_level_low', start)).toEqual(['raised orange @30s', 'cleared orange @5m']);
    expect(h.timeline('circulation_flow_low', start)).toEqual(['raised yellow @10m30s', 'escalated red @15m30s', 'cleared red @20m']);
  });

  it('hydrogen (wet Al/Mg): yellow at 10, orange at 25, red at 50 %LEL, each as it is crossed', () => {
    const { h, random, both, start } = plant();
    both(start + MINUTE, undefined, () => ({ ...wetWorking(random), h2: 12 }));
    both(start + 2 * MINUTE, undefined, () => ({ ...wetWorking(random), h2: 30 }));
    both(start + 3 * MINUTE, undefined, () => ({ ...wetWorking(random), h2: 55 }));
    both(start + 4 * MINUTE);
    expect(h.timeline('h2_high', start)).toEqual(['raised yellow @0s', 'escalated orange @1m', 'escalated red @2m', 'cleared red @3m']);
  });

  it('a silent collector is yellow after 3 reporting intervals, orange after 15 min, red after 24 h; data clears it', () => {
    const { h, random, start } = plant();
    const last = start - EVERY;
    h.advanceTo(start + 25 * HOUR);
    h.send('dc-01', working(h.now, random));
    expect(h.timeline('device_silent', last, 'dc-01')).toEqual([
      'raised yellow @1m30s',
      'escalated orange @15m',
      'escalated red @1d',
      'cleared red @1d1h30s',
    ]);
  });

  it('a value outside the physical range is an orange sensor fault (open thermocouple, negative ΔP)', () => {
    const { h, random, both, start } = plant();
    both(start + MINUTE, (t) => ({ ...working(t, random), hopper_temp: -50 }));
    both(start + 2 * MINUTE);
    both(start + 3 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: -40 }));
    both(start + 4 * MINUTE);
    expect(h.timeline('sensor_fault', start, 'dc-01')).toEqual([
      'raised orange @0s',
      'cleared orange @1m',
      'raised orange @2m',
      'cleared orange @3m',
    ]);
    expect(h.stepsOf('hopper_temp_high')).toEqual([]);
  });

  it('a reading above the range is a sensor fault AND still the red temperature alarm (fail-safe: it may be a fire)', () => {
    const { h, random, both, start } = plant();
    both(start + MINUTE, (t) => ({ ...working(t, random), hopper_temp: 850 }));
    // no rise of 815 °C a minute: a reading outside the sensor's range is no sample of a rate
    expect(h.activeSummary()).toEqual(['hopper_temp_high:red', 'sensor_fault:orange']);
  });

  it('a hot hopper whose thermocouple opens (−50 °C) stays orange: a broken sensor is not "back to normal"', () => {
    const { h, random, both, start } = plant();
    both(start + MINUTE, (t) => ({ ...working(t, random), hopper_temp: 75 }));
    both(start + 6 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: -50 }));
    expect(h.activeSummary()).toEqual(expect.arrayContaining(['hopper_temp_high:orange', 'sensor_fault:orange']));
    // it reads again, still hot: nothing to tell of the temperature; cooled down: cleared as ever
    both(start + 7 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: 75 }));
    both(start + 8 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: 40 }));
    expect(h.timeline('hopper_temp_high', start)).toEqual(['raised yellow @0s', 'escalated orange @0s', 'cleared orange @7m']);
  });

  it('a thermocouple that reads again after an open circuit (−50 °C) raises no rise: the faulty reading is no sample', () => {
    const { h, random, both, start } = plant();
    both(start + 2 * MINUTE, (t) => ({ ...working(t, random), hopper_temp: -50 }));
    expect(h.activeSummary()).toEqual(['sensor_fault:orange']);
    both(start + 4 * MINUTE, (t) => working(t, random));
    expect(h.stepsOf('hopper_temp_rising')).toEqual([]);
    expect(h.activeSummary()).toEqual([]);
  });

  it('a ΔP transmitter reading below its range (negative) is a sensor fault, not a bag rupture (the low alarm is held back)', () => {
    const { h, random, both, start } = plant();
    both(start + 20 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: -40 }));
    expect(h.activeSummary()).toEqual(['sensor_fault:orange']);
  });

  it('ΔP exactly constant for 30 min while the fan runs is yellow (sensor stuck)', () => {
    const { h, random, both, start } = plant();
    both(start + 40 * MINUTE, (t) => ({ ...working(t, random), diff_pressure: 1180 }));
    both(start + 45 * MINUTE);
    expect(h.timeline('diff_pressure_stuck', start)).toEqual(['raised yellow @30m', 'cleared yellow @40m']);
  });
});

describe('dust-collector attributes and units', () => {
  it('fills defaults and rejects nonsense', () => {
    expect(dustCollectorAttributes.parse({})).toEqual({
      collector_type: 'dry',
      loc_percent: 10,
      design_flow_m3h: 20,
      water_level_low_m: 0.3,
      min_duct_velocity_ms: 18,
    });
    expect(dustCollectorAttributes.safeParse({ collector_type: 'cyclone' }).success).toBe(false);
    expect(dustCollectorAttributes.safeParse({ loc_percent: 1 }).success).toBe(false);
    expect(dustCollectorAttributes.safeParse({ design_flow: 20 }).success).toBe(false);
    expect(dustCollectorAttributes.safeParse({ reportingIntervalMs: 10 }).success).toBe(false);
  });

  it('converts the units devices send', () => {
    expect(toCanonical(dustCollector, 'diff_pressure', 'kPa', 1.2)).toBeCloseTo(1200);
    expect(toCanonical(dustCollector, 'diff_pressure', 'mmH2O', 100)).toBeCloseTo(980.665);
    expect(toCanonical(dustCollector, 'diff_pressure', 'mbar', 12)).toBeCloseTo(1200);
    expect(toCanonical(dustCollector, 'hopper_temp', '°F', 140)).toBeCloseTo(60);
    expect(toCanonical(dustCollector, 'hopper_temp', 'K', 353.15)).toBeCloseTo(80);
    expect(toCanonical(dustCollector, 'circulation_flow', 'L/min', 1000)).toBeCloseTo(60);
    expect(toCanonical(dustCollector, 'circulation_flow', 'L/s', 5)).toBeCloseTo(18);
    expect(toCanonical(dustCollector, 'water_level', 'cm', 30)).toBeCloseTo(0.3);
    expect(toCanonical(dustCollector, 'water_level', 'mm', 250)).toBeCloseTo(0.25);
    expect(toCanonical(dustCollector, 'duct_velocity', 'km/h', 72)).toBeCloseTo(20);
    expect(() => toCanonical(dustCollector, 'diff_pressure', 'psi', 1)).toThrow(/unknown unit/);
  });
});
