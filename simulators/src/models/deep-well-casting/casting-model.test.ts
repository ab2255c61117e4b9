import { describe, expect, it } from 'vitest';
import { runInEngine } from '../../run/run-in-engine.js';
import { scenarioActions } from '../../run/run-virtual.js';
import { alarmsFromEvents } from '../../scenario/expectations.js';
import { parseScenario } from '../../scenario/load-scenario.js';
import type { Scenario } from '../../scenario/scenario-schema.js';

/** One casting pit whose first cast drops from minute 1, under `timeline`. */
const pit = (timeline: string, duration = '20m'): Scenario =>
  parseScenario(
    `name: t\nprofile: deep-well-casting\nduration: ${duration}\n` +
      'devices: [{ id: cast-01, site: plant-a, profile: deep-well-casting, model: { firstCastAfterMin: 1 } }]\n' +
      `timeline: ${timeline}\n`,
    't.yaml',
  );

interface Sample {
  ts: number;
  metrics: Record<string, number | string | boolean>;
}

/** Every reading the pit publishes, in time order. */
const readings = (scenario: Scenario, seed?: number): Sample[] =>
  [...scenarioActions(scenario, seed)]
    .flatMap((a) => (a.kind === 'publish' && a.role === 'telemetry' ? [JSON.parse(a.payload)] : []))
    .flatMap((body) => (body.readings ?? [body]) as Sample[])
    .sort((a, b) => a.ts - b.ts);

const raisedRules = (scenario: Scenario, seed?: number): string[] => {
  const run = runInEngine(scenario, seed === undefined ? {} : { seed });
  return alarmsFromEvents(run.events).map((alarm) => `${alarm.rule} ${alarm.severity}`);
};

describe('deep-well casting pit', () => {
  it('ends the cast within a second of the interlock acting, so the draining metal raises no level alarm', () => {
    // a bleed-out 10 min into the drop (cast ≈ 1.1 m, armed): the PLC trips, the valves act, the drop stops
    const bleed = pit('[{ at: 11m, for: 2m, do: event, name: bleed_out }]');
    for (const seed of [1, 2, 3, 4, 5]) {
      const samples = readings(bleed, seed);
      const acted = samples.find((r) => r.metrics.quick_shutoff === 'closed' && r.metrics.emergency_drain === 'open');
      expect(acted, `seed ${seed}: the interlock acts`).toBeDefined();
      const stillCasting = samples.filter((r) => r.ts >= (acted as Sample).ts + 1_000 && r.metrics.casting_active === true);
      expect(stillCasting, `seed ${seed}: casting_active after the valves acted`).toEqual([]);
      const raised = raisedRules(bleed, seed);
      expect(raised, `seed ${seed}`).toContain('interlock_acted blue');
      expect(raised, `seed ${seed}`).not.toContain('interlock_failure red');
      for (const sideEffect of ['launder_level_off', 'launder_level_falling', 'mould_inlet_level_falling'])
        expect(
          raised.filter((r) => r.startsWith(sideEffect)),
          `seed ${seed}`,
        ).toEqual([]);
    }
  });

  it('trips on what it measures: a valve throttling the cooling water to 60 % trips the interlock, and it acts', () => {
    const throttled = pit('[{ at: 11m, do: event, name: cooling_degraded, params: { fraction: 0.6 } }]');
    for (const seed of [1, 2, 3, 4, 5]) {
      const raised = raisedRules(throttled, seed);
      expect(raised, `seed ${seed}`).toContain('interlock_acted blue');
      expect(raised, `seed ${seed}`).not.toContain('interlock_failure red');
    }
  });

  it('loses inlet pressure with the flow through the mould (p ∝ Q²)', () => {
    const throttled = pit('[{ at: 11m, do: event, name: cooling_degraded, params: { fraction: 0.6 } }]');
    const samples = readings(throttled).filter((r) => r.metrics.casting_active === true);
    // at 90 % of the set-point flow the pressure is 81 % of its set-point, not 100 %
    const at90 = samples.filter((r) => Math.abs((r.metrics.cooling_flow as number) - 270) <= 5);
    expect(at90.length).toBeGreaterThan(5);
    const mean = at90.reduce((sum, r) => sum + (r.metrics.cooling_pressure as number), 0) / at90.length;
    expect(mean).toBeCloseTo(0.2 * 0.81, 2);
  });

  it('arms its interlock only after the first 300 mm of drop (arm_length_mm), as the rules do', () => {
    // the pump trips 1 min into the drop (a few mm cast) and stays down: the PLC acts once the cast is armed
    const early = pit('[{ at: 2m, for: 10m, do: event, name: pump_trip }]');
    const samples = readings(early);
    const casting = samples.filter((r) => r.metrics.casting_active === true);
    const closedEarly = casting.filter((r) => (r.metrics.cast_length as number) < 300 && r.metrics.quick_shutoff === 'closed');
    expect(closedEarly).toEqual([]);
    const firstClosed = casting.find((r) => r.metrics.quick_shutoff === 'closed');
    expect(firstClosed?.metrics.cast_length).toBeGreaterThanOrEqual(300);
    expect(firstClosed?.metrics.cast_length).toBeLessThan(310);
    const raised = raisedRules(early);
    expect(raised).toContain('interlock_acted blue');
    expect(raised).not.toContain('interlock_failure red');
  });

  it('reads an empty emergency water reserve as 0 %, not as a broken transmitter', () => {
    // the reserve drains 2 %/min from 96 %: empty after 48 min, then held there
    const empty = pit('[{ at: 2m, do: event, name: emergency_water_low }]', '80m');
    for (const seed of [1, 2, 3]) {
      const levels = readings(empty, seed).map((r) => r.metrics.emergency_water_level as number);
      expect(Math.min(...levels), `seed ${seed}`).toBe(0);
      const raised = raisedRules(empty, seed);
      expect(raised, `seed ${seed}`).toContain('emergency_water_low orange');
      expect(
        raised.filter((r) => r.startsWith('sensor_fault')),
        `seed ${seed}`,
      ).toEqual([]);
    }
  });
});
