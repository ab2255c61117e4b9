import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/gateway.js';
import { loadScenario } from '../../simulators/src/index.js';
import { createScaledClock, playScaled } from '../../simulators/src/run/play-scaled.js';
import { alarmsFromEvents, checkExpectations, formatExpectationReport } from '../../simulators/src/scenario/expectations.js';
import { runNodeToExit } from '../helpers/run-to-exit.js';
import { runScenarioOnGateway, secretOf, startScenarioGateway } from '../helpers/scenario-gateway.js';
import { metricValue } from '../helpers/test-gateway.js';

/**
 * `npm run simulate -- --scenario … --fast` (and `--speed N`): the scenario in scaled time against a gateway on
 * its own clock. Every reading is acknowledged and stored with its scenario timestamp, and the gateway raises the
 * alarms the scenario expects, at the expected scenario time.
 */
describe('a scenario played in scaled time (simulate --fast)', () => {
  let gateway: RunningGateway | null = null;
  afterEach(async () => {
    await gateway?.close();
    gateway = null;
  });

  it('dust-collector-burst as fast as acknowledged: every reading accepted, the expected spark alarms at their scenario time', async () => {
    const scenario = loadScenario('dust-collector-burst');
    const started = await startScenarioGateway(scenario, Date.now, { tickInterval: 100 });
    gateway = started.gateway;
    const errors: string[] = [];
    const result = await playScaled({
      url: gateway.mqttUrl,
      scenario,
      secretOf,
      speed: Number.POSITIVE_INFINITY,
      onError: (device, error) => errors.push(`${device}: ${error.message}`),
    });
    await gateway.settle();
    expect(errors).toEqual([]);
    expect(result.end - result.start).toBe(scenario.duration);
    expect(result.end).toBeLessThanOrEqual(Date.now());
    expect(result.readings).toBeGreaterThan(scenario.duration / 60_000);
    const accepted = metricValue(await gateway.metricsText(), 'gateway_readings_accepted_total', { profile: 'dust-collector' });
    expect(accepted, 'readings accepted, none refused for their scenario timestamps').toBe(result.readings);
    const report = checkExpectations(scenario.expect, alarmsFromEvents(started.events), result.start);
    expect(report.ok, formatExpectationReport(report, result.start)).toBe(true);
  });

  // Speed 600: the 75-minute drift plays in 7.5 s (plus the gateway's time for 4500 ticks). The gateway, as the one
  // `simulate` starts, reads the play's scenario clock and has its timers run at every scenario tick, so its
  // on-delays run in scenario time; on the wall clock they would all but vanish (a reading 40 scenario minutes old is
  // already past any 10-minute on-delay), and an alarm raised on a tick would carry wall time.
  it('dust-collector-drift at --speed 600: both alarms at the scenario times of the exact (virtual-time) run, within one tick', async () => {
    const scenario = loadScenario('dust-collector-drift');
    const reference = await runScenarioOnGateway(scenario);
    const exact = alarmsFromEvents(reference.events).map((alarm) => ({ key: alarm.key, at: alarm.raisedAt - reference.run.start }));
    await reference.gateway.close();
    expect(exact.map((alarm) => alarm.key)).toEqual(['plant-a/dc-01/diff_pressure_high', 'plant-a/dc-01/duct_velocity_low']);

    const speed = 600;
    const clock = createScaledClock({ duration: scenario.duration, speed });
    const started = await startScenarioGateway(scenario, () => clock.now());
    gateway = started.gateway;
    const errors: string[] = [];
    const began = Date.now();
    const result = await playScaled({
      url: gateway.mqttUrl,
      scenario,
      secretOf,
      speed,
      clock,
      advance: async (t) => {
        await started.gateway.settle();
        started.gateway.tick(t);
      },
      onError: (device, error) => errors.push(`${device}: ${error.message}`),
    });
    const took = Date.now() - began;
    await gateway.settle();
    expect(errors).toEqual([]);
    expect(took, 'scenario duration / speed').toBeGreaterThanOrEqual(scenario.duration / speed - 50);
    expect(result.end).toBeLessThanOrEqual(Date.now());
    const observed = alarmsFromEvents(started.events);
    const report = checkExpectations(scenario.expect, observed, result.start);
    expect(report.ok, formatExpectationReport(report, result.start)).toBe(true);
    // Tolerance: a reading raises at its own time; an on-delay running out between readings at the next scenario
    // tick (1 s), as in the virtual run.
    const tolerance = scenario.tick;
    for (const { key, at } of exact) {
      const alarm = observed.find((a) => a.key === key);
      expect(alarm, key).toBeDefined();
      expect(Math.abs((alarm?.raisedAt ?? 0) - result.start - at), `${key} at +${at / 60_000} min in virtual time`).toBeLessThanOrEqual(
        tolerance,
      );
    }
  }, 120_000);

  it('maps an alarm stamped with a gateway wall time to the scenario time it arrived at; a reading-time stamp stands', () => {
    const start = Date.parse('2026-11-22T07:00:00Z');
    const event = (id: string, raisedAt: number) => ({
      type: 'alarm.raised',
      data: {
        alarm: {
          id,
          key: `s/d/${id}`,
          site: 's',
          device: 'd',
          rule: id,
          severity: 'yellow' as const,
          raisedAt: new Date(raisedAt).toISOString(),
          clearedAt: null,
        },
      },
    });
    // raised on a reading at +31 min, arrived while +31.5 min was played; raised on the gateway's tick at its wall
    // time (+74 min, the end of a scaled run), arrived while +46 min was played
    const byReading = event('a', start + 31 * 60_000);
    const byTick = event('b', start + 74 * 60_000);
    const arrival = new Map([
      [byReading, start + 31.5 * 60_000],
      [byTick, start + 46 * 60_000],
    ]);
    const alarms = alarmsFromEvents([byReading, byTick], (e) => arrival.get(e as typeof byReading));
    expect(alarms.map((a) => [a.rule, (a.raisedAt - start) / 60_000])).toEqual([
      ['a', 31],
      ['b', 46],
    ]);
  });
});

/**
 * The documented command (simulators/README.md, README.md): `npm run simulate -- --scenario dust-collector-drift
 * --fast` with nothing else running. Without --url the simulator starts a gateway of its own with the scenario's
 * devices, so a running `npm start` (whose plant reports as dc-01) cannot make the scenario's readings late. Run here
 * with tsx on the source rather than through `npm run` (which builds dist/ first).
 */
describe('simulate --scenario … --fast as documented', () => {
  it('plays on a gateway of its own and exits 0 with both expected alarms', async () => {
    const args = ['--import', 'tsx', 'simulators/src/cli/simulate.ts', '--scenario', 'dust-collector-drift', '--fast'];
    const { code, output } = await runNodeToExit(args, 50_000);
    expect(code, output).toBe(0);
    expect(output).toContain('a gateway of its own');
    expect(output).toMatch(/✓ plant-a\/dc-01\/diff_pressure_high orange raised at \+/);
    expect(output).toMatch(/✓ plant-a\/dc-01\/duct_velocity_low yellow raised at \+/);
    expect(output).toMatch(/errors 0/);
  }, 60_000);
});
