import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/gateway.js';
import { loadScenario } from '../../simulators/src/index.js';
import { playScaled } from '../../simulators/src/run/play-scaled.js';
import { alarmsFromEvents, checkExpectations, formatExpectationReport } from '../../simulators/src/scenario/expectations.js';
import { secretOf, startScenarioGateway } from '../helpers/scenario-gateway.js';
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
});
