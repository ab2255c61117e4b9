import { inject } from 'vitest';
import type { Scenario } from '../../simulators/src/index.js';
import type { VirtualRunResult } from '../../simulators/src/run/run-virtual.js';
import { runScenarioOnGateway } from './scenario-gateway.js';
import { freshDatabase } from './test-gateway.js';

export interface ScenarioInInflux {
  /** The database the gateway wrote to. */
  database: string;
  run: VirtualRunResult;
}

/**
 * Plays a scenario through a real gateway (in-process, loopback, its clock the scenario's virtual clock) that
 * writes to the suite's real influxd, and returns once every point is written: telemetry and alarm events
 * stamped with scenario time, exactly as a plant's gateway would have stored them. Several scenarios may share one
 * `database` (one plant's history of several profiles).
 */
export async function playScenarioIntoInflux(scenario: Scenario, options: { database?: string } = {}): Promise<ScenarioInInflux> {
  const database = options.database ?? freshDatabase();
  const { gateway, run } = await runScenarioOnGateway(scenario, {
    influx: { mode: 'url', url: inject('influxUrl'), database, flushInterval: 50 },
    // the same line protocol in either thread; the main thread plays a long scenario about a third faster
    lane: { thread: 'main' },
  });
  await gateway.settle();
  // Closing flushes the InfluxDB sink: every point is in influxd once this returns.
  await gateway.close();
  return { database, run };
}
