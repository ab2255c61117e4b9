import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../../rules/src/index.js';
import { toCanonical } from '../test-support/convert.js';
import { createHarness, HOUR, MINUTE, noise, randomSource, ruleSetProblems, SECOND, T0 } from '../test-support/harness.js';
import { deepWellCasting, deepWellCastingAttributes } from './index.js';

type Metrics = Record<string, MetricValue>;
const IDLE_EVERY = 30 * SECOND;

/** A normal cast: 80 mm/min, set-points held with a little noise, valves in their casting positions. */
function casting(t: number, castStart: number, random: () => number): Metrics {
  return {
    casting_active: true,
    cast_length: Math.round((80 * (t - castStart)) / MINUTE),
    cooling_pressure: 0.2 + noise(random, 0.003),
    cooling_flow: 300 + noise(random, 4),
    cooling_temp: 26 + noise(random, 0.5),
    launder_level: 120 + noise(random, 2),
    mould_inlet_level: 100 + noise(random, 2),
    metal_temp: 705 + noise(random, 5),
    quick_shutoff: 'open',
    emergency_drain: 'closed',
    launder_disconnect: 'engaged',
    tilt_back: false,
    pit_water_level: 3 + noise(random, 0.02),
    emergency_water_level: 95,
  };
}

/** Between casts: no metal, cooling water off, shut-off closed. */
function idle(random: () => number): Metrics {
  return {
    casting_active: false,
    cast_length: 0,
    cooling_pressure: 0.01 + noise(random, 0.002),
    cooling_flow: 0,
    cooling_temp: 24 + noise(random, 0.5),
    launder_level: 0,
    mould_inlet_level: 0,
    metal_temp: 25,
    quick_shutoff: 'closed',
    emergency_drain: 'closed',
    launder_disconnect: 'engaged',
    tilt_back: false,
    pit_water_level: 3.2,
    emergency_water_level: 95,
  };
}

/** The caster idle for 5 min, then a cast started at `castStart` running at 1 Hz until `armedAt` (10 min in: 800 mm). */
function caster(attributes: Record<string, MetricValue> = {}) {
  const h = createHarness([deepWellCasting]);
  const random = randomSource(3);
  h.device({ device: 'caster-1', profile: deepWellCasting, attributes });
  h.run('caster-1', T0 + 5 * MINUTE, IDLE_EVERY, () => idle(random));
  const castStart = h.now;
  /** Readings at 1 Hz until `until`, each a normal cast reading changed by `change(t, i)`. */
  const cast = (until: number, change: (t: number, i: number) => Metrics = () => ({})) =>
    h.run('caster-1', until, SECOND, (t, i) => ({ ...casting(t, castStart, random), ...change(t, i) }));
  const idleUntil = (until: number, change: () => Metrics = () => ({})) =>
    h.run('caster-1', until, IDLE_EVERY, () => ({ ...idle(random), ...change() }));
  cast(castStart + 10 * MINUTE);
  return { h, random, castStart, cast, idleUntil, t0: h.now };
}

/** A pump trip: pressure 0.20 → 0.05 MPa in 3 s and flow −80 %. */
const pumpTrip = (i: number): Metrics => ({
  cooling_pressure: [0.15, 0.1, 0.05][Math.min(i, 2)] as number,
  cooling_flow: [240, 120, 60][Math.min(i, 2)] as number,
});

/** What a working interlock does. */
const interlockActed: Metrics = { quick_shutoff: 'closed', emergency_drain: 'open', tilt_back: true };

describe('deep-well-casting profile', () => {
  it('loads: its rule file parses and every name it reads is a metric or derived value of the profile', () => {
    expect(ruleSetProblems([deepWellCasting])).toEqual([]);
  });

  it('a normal day — idle reporting and two 90-minute casts at 1 Hz — raises nothing', () => {
    const h = createHarness([deepWellCasting]);
    const random = randomSource(11);
    h.device({ device: 'caster-1', profile: deepWellCasting });
    for (const castStart of [T0 + 8 * HOUR, T0 + 14 * HOUR]) {
      h.run('caster-1', castStart, IDLE_EVERY, () => idle(random));
      h.run('caster-1', castStart + 90 * MINUTE, SECOND, (t) => casting(t, castStart, random));
    }
    h.run('caster-1', T0 + 24 * HOUR, IDLE_EVERY, () => idle(random));
    expect(h.steps).toEqual([]);
  });

  it('a pump trip during the cast is red at once, and the interlock acting within 3 s raises no interlock failure', () => {
    const { h, cast, idleUntil, t0 } = caster();
    cast(t0 + 5 * SECOND, (_t, i) => ({ ...pumpTrip(i), ...(i >= 2 ? interlockActed : {}) }));
    idleUntil(t0 + 2 * MINUTE);
    // measured across 1 s (the rule's horizon): 0.20 → 0.15 MPa at +0 s is 0.05 MPa/s; level again from +3 s
    expect(h.timeline('cooling_pressure_falling', t0)).toEqual(['raised red @0s', 'cleared red @3s']);
    expect(h.timeline('cooling_pressure_low', t0)).toEqual(['raised yellow @0s', 'escalated red @1s', 'cleared red @5s']);
    expect(h.timeline('cooling_flow_drop', t0)).toEqual(['raised red @0s', 'cleared red @4s']);
    expect(h.timeline('cooling_flow_low', t0)).toEqual(['raised yellow @0s', 'escalated red @1s', 'cleared red @5s']);
    expect(h.stepsOf('interlock_failure')).toEqual([]);
  });

  it('an interlock that acted is recorded: a blue interlock_acted alarm, though the cast and its cast-only rules end with it', () => {
    const { h, cast, idleUntil, t0 } = caster();
    // the PLC ends the cast within a second of the trip: casting_active false, valves in their tripped positions
    cast(t0 + 2 * SECOND, (_t, i) => pumpTrip(i));
    idleUntil(t0 + 10 * MINUTE, () => ({ ...interlockActed, cooling_pressure: 0.05 }));
    idleUntil(t0 + 20 * MINUTE);
    expect(h.timeline('interlock_acted', t0)).toEqual(['raised blue @2s', 'cleared blue @10m']);
    const alarm = h.open('interlock_acted');
    const [raised, cleared] = h.book.history(alarm?.id ?? '');
    expect(raised?.alarm.message).toBe(
      'Interlock acted: quick shut-off closed and emergency drain open, the cast was stopped (cooling-water pressure 0.05 MPa) — find the cause before the next cast',
    );
    expect(raised?.alarm.messageZh).toMatch(/^铸造联锁已动作/);
    expect(cleared?.alarm.message).toBe('Interlock reset for the next cast (valves back in casting position): the cause must be on record');
    // it stays open for the duty officer to resolve with the cause
    expect(alarm?.resolved).toBe(false);
    // the cooling alarms of the trip end with the cast, not because the pressure came back: their clear says so
    const pressure = h.open('cooling_pressure_low');
    const end = h.book.history(pressure?.id ?? '').at(-1);
    expect(end?.type).toBe('alarm.cleared');
    // in words, not the guard's expression (when_name)
    expect(end?.alarm.message).toBe('Cooling-water pressure: no longer judged, the cast ended');
    expect(end?.alarm.messageZh).toBe('冷却水压力：浇铸结束，停止判定');
  });

  it('a pump trip whose interlock does not act within 3 s raises a separate red interlock failure', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + 10 * SECOND, (_t, i) => pumpTrip(i));
    // the trigger is the first red condition, the flow dropping 20 % at +0 s (cooling_flow_drop); 3 s later nothing has closed
    expect(h.timeline('interlock_failure', t0)).toEqual(['raised red @3s']);
    // what did not happen, in words, and what to do — in both languages
    expect(h.active('interlock_failure')?.message).toMatch(/the quick shut-off valve closed AND the emergency drain valve open/);
    expect(h.active('interlock_failure')?.messageZh).toBe(
      '联锁失效：冷却水或液位联锁触发后 3 秒内未见快速切断阀关闭、紧急排放阀打开、倾翻炉回倾或流槽断开——立即手动切断铝液',
    );
  });

  it('a cast stopped within 3 s of a pump trip with the valves not moved is still an interlock failure', () => {
    const { h, cast, idleUntil, t0 } = caster();
    // the PLC (or an operator) stops the drop a second after the trip; the shut-off stays open, the drain closed
    cast(t0 + 2 * SECOND, (_t, i) => pumpTrip(i));
    idleUntil(t0 + 2 * MINUTE, () => ({ cooling_pressure: 0.05, quick_shutoff: 'open', emergency_drain: 'closed' }));
    expect(h.timeline('interlock_failure', t0)).toEqual(['raised red @3s', 'cleared red @32s']);
    expect(h.open('interlock_failure')?.resolved).toBe(false);
  });

  it('a fast but small pressure drop (rate red, still above 70 % of set-point) starts the interlock check too', () => {
    // 0.20 → 0.16 MPa in 1 s is 0.04 MPa/s (≥ 0.03): red for the rate, only yellow for the level (80 %)
    const small = (i: number): Metrics => ({ cooling_pressure: i === 0 ? 0.2 : 0.16 });
    const acting = caster();
    acting.cast(acting.t0 + 10 * SECOND, (_t, i) => ({ ...small(i), ...(i >= 2 ? interlockActed : {}) }));
    expect(acting.h.timeline('cooling_pressure_falling', acting.t0)).toEqual(['raised red @1s', 'cleared red @2s']);
    expect(acting.h.stepsOf('cooling_pressure_low').map((s) => s.severity)).toEqual(['yellow']);
    expect(acting.h.stepsOf('interlock_failure')).toEqual([]);

    const failing = caster();
    failing.cast(failing.t0 + 10 * SECOND, (_t, i) => small(i));
    expect(failing.h.timeline('interlock_failure', failing.t0)).toEqual(['raised red @4s']);
  });

  it('only a partial interlock (shut-off closed, drain not opened) is still a failure', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + 10 * SECOND, (_t, i) => ({ ...pumpTrip(i), quick_shutoff: 'closed', tilt_back: true }));
    expect(h.timeline('interlock_failure', t0)).toEqual(['raised red @3s']);
    expect(h.active('interlock_failure')?.message).toBe(
      'Interlock failure: the emergency drain valve open not seen within 3 s of a cooling or level trip — stop the metal by hand',
    );
  });

  it('cooling rules are not armed before the cast is 300 mm long', () => {
    const h = createHarness([deepWellCasting]);
    const random = randomSource(5);
    h.device({ device: 'caster-1', profile: deepWellCasting });
    const castStart = T0;
    // 2 min = 160 mm: still starting up
    h.run('caster-1', T0 + 2 * MINUTE, SECOND, (t) => ({ ...casting(t, castStart, random), cooling_pressure: 0.1, cooling_flow: 150 }));
    expect(h.steps).toEqual([]);
    h.run('caster-1', T0 + 4 * MINUTE, SECOND, (t) => ({ ...casting(t, castStart, random), cooling_pressure: 0.1, cooling_flow: 150 }));
    // armed at 300 mm = 3 min 45 s; both levels are crossed at once and each is shown
    expect(h.timeline('cooling_pressure_low', T0)).toEqual(['raised yellow @3m45s', 'escalated red @3m45s']);
    expect(h.timeline('cooling_flow_low', T0)).toEqual(['raised yellow @3m45s', 'escalated red @3m45s']);
  });

  it('pressure and flow below 85 % of set-point are yellow; the set-points are device attributes', () => {
    const { h, cast, castStart, t0 } = caster({ cooling_pressure_setpoint_mpa: 0.25, cooling_flow_setpoint_m3h: 320 });
    // 0.20 MPa is 80 % of 0.25: yellow as soon as the cast is armed (300 mm at 3 min 45 s); 300 m³/h is 94 % of 320
    cast(t0 + MINUTE);
    cast(t0 + 2 * MINUTE, () => ({ cooling_flow: 265 }));
    cast(t0 + 3 * MINUTE, () => ({ cooling_pressure: 0.24 }));
    expect(h.timeline('cooling_pressure_low', castStart)).toEqual(['raised yellow @3m45s', 'cleared yellow @12m']);
    expect(h.timeline('cooling_flow_low', castStart)).toEqual(['raised yellow @11m', 'cleared yellow @12m']);
  });

  it('cooling-water temperature ≥ 35 °C is yellow, ≥ 40 °C orange', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + MINUTE, () => ({ cooling_temp: 36 }));
    cast(t0 + 2 * MINUTE, () => ({ cooling_temp: 41 }));
    cast(t0 + 3 * MINUTE);
    expect(h.timeline('cooling_temp_high', t0)).toEqual(['raised yellow @0s', 'escalated orange @1m', 'cleared orange @2m']);
  });

  it('a bleed-out (mould-inlet level +40 mm in 2 s) is red for the rise and for the level, and the interlock is verified', () => {
    const { h, cast, idleUntil, t0 } = caster();
    cast(t0 + 4 * SECOND, (_t, i) => ({ mould_inlet_level: [120, 140, 140, 140][i] as number, ...(i >= 2 ? interlockActed : {}) }));
    idleUntil(t0 + MINUTE);
    expect(h.timeline('mould_inlet_level_rising', t0)).toEqual(['raised red @0s', 'cleared red @3s']);
    expect(h.timeline('mould_inlet_level_off', t0)).toEqual(['raised red @1s', 'cleared red @4s']);
    expect(h.stepsOf('interlock_failure')).toEqual([]);
  });

  it('a launder leak (level falling 15 mm/s) is red for the fall, then for the level, then the interlock failure', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + 10 * SECOND, (_t, i) => ({ launder_level: Math.max(60, 105 - 15 * i) }));
    // ~120, 105, 90, 75, 60, 60, 60: the fall is measured across 2 s — 15 mm/s from +1 s; 60 → 60 at +5 s ends it
    expect(h.timeline('launder_level_falling', t0)).toEqual(['raised red @1s', 'cleared red @5s']);
    // 105, 90 (30 mm off at +1 s)
    expect(h.timeline('launder_level_off', t0)).toEqual(['raised red @1s']);
    // both red at +1 s: the check starts there
    expect(h.timeline('interlock_failure', t0)).toEqual(['raised red @4s']);
  });

  it('metal temperature below 680 or above 740 °C is yellow during a cast', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + MINUTE, () => ({ metal_temp: 675 }));
    cast(t0 + 2 * MINUTE, () => ({ metal_temp: 745 }));
    cast(t0 + 3 * MINUTE, () => ({ metal_temp: 705 }));
    expect(h.timeline('metal_temp_low', t0)).toEqual(['raised yellow @0s', 'cleared yellow @1m']);
    expect(h.timeline('metal_temp_high', t0)).toEqual(['raised yellow @1m', 'cleared yellow @2m']);
  });

  it('a faulty valve is orange and makes casting not permitted; a cast started anyway is a red bypass', () => {
    const h = createHarness([deepWellCasting]);
    const random = randomSource(8);
    h.device({ device: 'caster-1', profile: deepWellCasting, attributes: { casting_line: 'dc-2' } });
    h.run('caster-1', T0 + 5 * MINUTE, IDLE_EVERY, () => idle(random));
    const fault = h.now;
    h.run('caster-1', T0 + 10 * MINUTE, IDLE_EVERY, () => ({ ...idle(random), emergency_drain: 'fault' }));
    const castStart = h.now;
    h.run('caster-1', castStart + MINUTE, SECOND, (t) => ({ ...casting(t, castStart, random), emergency_drain: 'fault' }));
    h.run('caster-1', castStart + 2 * MINUTE, SECOND, (t) => casting(t, castStart, random));
    expect(h.timeline('emergency_drain_fault', fault)).toEqual(['raised orange @0s', 'cleared orange @6m']);
    expect(h.timeline('casting_not_permitted', fault)).toEqual(['raised orange @0s', 'cleared orange @6m']);
    expect(h.stepsOf('casting_not_permitted')[0]?.device).toBe('dc-2');
    expect(h.open('casting_not_permitted')?.messageZh).toBe(
      '已解除：dc-2 禁止浇铸：快速切断阀、紧急排放阀或流槽断开装置故障，或必需的传感器数据中断或故障（caster-1）',
    );
    expect(h.timeline('casting_bypass', fault)).toEqual(['raised red @5m', 'cleared red @6m']);
  });

  it('a cast started while permitted is no bypass', () => {
    const { h } = caster();
    expect(h.stepsOf('casting_bypass')).toEqual([]);
  });

  it('a required sensor gone stale makes casting not permitted until it reports again', () => {
    const { h, random, idleUntil } = caster();
    idleUntil(h.now + 5 * MINUTE);
    const from = h.now;
    h.run('caster-1', from + 3 * MINUTE, IDLE_EVERY, () => {
      const { launder_level: _gone, ...rest } = idle(random);
      return rest;
    });
    idleUntil(from + 4 * MINUTE);
    // the last launder level arrived 30 s before `from`: stale 3 intervals (90 s) later
    expect(h.timeline('launder_level_stale', from)).toEqual(['raised yellow @1m', 'cleared yellow @3m']);
    expect(h.timeline('casting_not_permitted', from)).toEqual(['raised orange @1m', 'cleared orange @3m']);
  });

  it('a cast started while a required sensor is stale is a red bypass', () => {
    const { h, random, idleUntil } = caster();
    idleUntil(h.now + 5 * MINUTE);
    const from = h.now;
    const withoutLaunderLevel = (m: Metrics): Metrics => {
      const { launder_level: _gone, ...rest } = m;
      return rest;
    };
    h.run('caster-1', from + 3 * MINUTE, IDLE_EVERY, () => withoutLaunderLevel(idle(random)));
    const castStart = h.now;
    h.run('caster-1', castStart + MINUTE, SECOND, (t) => withoutLaunderLevel(casting(t, castStart, random)));
    expect(h.timeline('launder_level_stale', from)).toEqual(['raised yellow @1m']);
    expect(h.timeline('casting_bypass', from)).toEqual(['raised red @3m']);
    expect(h.active('casting_bypass')?.message).toBe(
      'Bypass: a cast started while casting is not permitted — not met: launder and mould-inlet levels reporting',
    );
    expect(h.active('casting_bypass')?.messageZh).toBe(
      '违规浇铸：不满足浇铸许可条件时开始浇铸（疑似旁路联锁）——未满足：流槽、结晶器入口液位数据正常上报',
    );
  });

  it('silence during a cast is red after 10 s; idle silence follows the normal offline ladder', () => {
    const { h, t0 } = caster();
    h.advanceTo(t0 + 30 * MINUTE);
    const last = t0 - SECOND;
    expect(h.timeline('silent_during_cast', last)).toEqual(['raised red @10s']);
    expect(h.timeline('device_silent', last)).toEqual(['raised yellow @1m30s', 'escalated orange @15m']);

    const idleCaster = caster();
    idleCaster.idleUntil(idleCaster.t0 + 5 * MINUTE);
    idleCaster.h.advanceTo(idleCaster.t0 + 30 * MINUTE);
    expect(idleCaster.h.stepsOf('silent_during_cast')).toEqual([]);
    expect(idleCaster.h.timeline('device_silent', idleCaster.t0 + 5 * MINUTE - IDLE_EVERY)).toEqual([
      'raised yellow @1m30s',
      'escalated orange @15m',
    ]);
  });

  it('pit water closer than 1 m to the mould is yellow during a cast; emergency water below 50 % is orange', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + MINUTE, () => ({ pit_water_level: 0.9 }));
    cast(t0 + 2 * MINUTE, () => ({ emergency_water_level: 45 }));
    cast(t0 + 3 * MINUTE);
    expect(h.timeline('pit_water_high', t0)).toEqual(['raised yellow @0s', 'cleared yellow @1m']);
    expect(h.timeline('emergency_water_low', t0)).toEqual(['raised orange @1m', 'cleared orange @2m']);
  });

  it('a value outside the physical range is an orange sensor fault and blocks casting', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + 5 * SECOND, () => ({ metal_temp: 1_300 }));
    cast(t0 + 10 * SECOND);
    expect(h.timeline('sensor_fault', t0)).toEqual(['raised orange @0s', 'cleared orange @5s']);
    expect(h.timeline('casting_not_permitted', t0)).toEqual(['raised orange @0s', 'cleared orange @5s']);
  });

  it('cooling pressure exactly constant for 5 min during a cast is yellow (transmitter stuck)', () => {
    const { h, cast, t0 } = caster();
    cast(t0 + 6 * MINUTE, () => ({ cooling_pressure: 0.2 }));
    cast(t0 + 7 * MINUTE);
    expect(h.timeline('cooling_pressure_stuck', t0)).toEqual(['raised yellow @5m', 'cleared yellow @6m']);
  });
});

describe('deep-well-casting attributes and units', () => {
  it('fills defaults and validates set-points', () => {
    expect(deepWellCastingAttributes.parse({})).toMatchObject({
      cooling_pressure_setpoint_mpa: 0.2,
      cooling_flow_setpoint_m3h: 300,
      launder_level_setpoint_mm: 120,
      mould_inlet_level_setpoint_mm: 100,
      level_tolerance_mm: 25,
      level_rate_limit_mm_s: 10,
      arm_length_mm: 300,
      pit_water_limit_m: 1,
      casting_line: 'line-1',
    });
    expect(deepWellCastingAttributes.safeParse({ cooling_pressure_setpoint_mpa: 0 }).success).toBe(false);
    expect(deepWellCastingAttributes.safeParse({ cooling_pressure_setpoint_mpa: 200 }).success).toBe(false);
    expect(deepWellCastingAttributes.safeParse({ arm_length_mm: -1 }).success).toBe(false);
  });

  it('converts the units devices send', () => {
    expect(toCanonical(deepWellCasting, 'cooling_pressure', 'kPa', 200)).toBeCloseTo(0.2);
    expect(toCanonical(deepWellCasting, 'cooling_pressure', 'bar', 2)).toBeCloseTo(0.2);
    expect(toCanonical(deepWellCasting, 'cooling_pressure', 'psi', 29)).toBeCloseTo(0.19995, 4);
    expect(toCanonical(deepWellCasting, 'cooling_flow', 'L/min', 5000)).toBeCloseTo(300);
    expect(toCanonical(deepWellCasting, 'cooling_flow', 'L/s', 83.3333)).toBeCloseTo(300, 2);
    expect(toCanonical(deepWellCasting, 'launder_level', 'cm', 12)).toBeCloseTo(120);
    expect(toCanonical(deepWellCasting, 'cast_length', 'm', 1.5)).toBeCloseTo(1500);
    expect(toCanonical(deepWellCasting, 'metal_temp', '°F', 1301)).toBeCloseTo(705);
    expect(toCanonical(deepWellCasting, 'pit_water_level', 'cm', 150)).toBeCloseTo(1.5);
    expect(toCanonical(deepWellCasting, 'emergency_water_level', 'ratio', 0.8)).toBeCloseTo(80);
  });
});
