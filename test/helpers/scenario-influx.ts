import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { validateConfig } from '../../gateway/src/config/load-config.js';
import { hashSecret } from '../../gateway/src/devices/secret-hash.js';
import { type RunningGateway, startGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import type { Scenario } from '../../simulators/src/index.js';
import { runVirtual, type VirtualRunResult } from '../../simulators/src/run/run-virtual.js';
import { createVirtualClock } from '../../simulators/src/run/virtual-clock.js';
import { freshDatabase } from './test-gateway.js';

const secretOf = (device: string): string => `sim-secret-${device}`;

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
  const clock = createVirtualClock(Date.parse(scenario.start));
  const database = options.database ?? freshDatabase();
  const config = validateConfig(
    {
      mqtt: { tcp: { host: '127.0.0.1', port: 0 } },
      http: { host: '127.0.0.1', port: 0 },
      influx: { mode: 'url', url: inject('influxUrl'), database, flushInterval: 50 },
      dataDir: mkdtempSync(join(tmpdir(), 'sim-influx-gateway-')),
      // The virtual run drives the timers itself; the wall-clock ticker only repeats the same instant.
      tickInterval: 60_000,
      logLevel: 'silent',
      // the same line protocol in either thread; the main thread plays a long scenario about a third faster
      pipeline: { thread: 'main' },
      devices: await Promise.all(
        scenario.devices.map(async (d) => ({
          id: d.id,
          site: d.site,
          profile: d.profile,
          attributes: d.attributes,
          secretHash: await hashSecret(secretOf(d.id)),
        })),
      ),
    },
    `(scenario ${scenario.name})`,
  );
  const gateway: RunningGateway = await startGateway({ config, log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), now: clock.now });
  try {
    const run = await runVirtual({
      scenario,
      url: gateway.mqttUrl,
      secretOf,
      clock,
      advance: async (t) => {
        await gateway.settle();
        gateway.tick(t);
      },
    });
    await gateway.settle();
    return { database, run };
  } finally {
    // Closing flushes the InfluxDB sink: every point is in influxd once this returns.
    await gateway.close();
  }
}
