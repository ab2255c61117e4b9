import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../../gateway/src/config/config-schema.js';
import { validateConfig } from '../../gateway/src/config/load-config.js';
import { type RunningGateway, startGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import type { AlarmEvent } from '../../rules/src/index.js';
import type { Scenario } from '../../simulators/src/index.js';
import { scenarioDeviceConfigs } from '../../simulators/src/run/own-gateway.js';
import { runVirtual, type VirtualRunResult } from '../../simulators/src/run/run-virtual.js';
import { createVirtualClock } from '../../simulators/src/run/virtual-clock.js';

export const secretOf = (device: string): string => `sim-secret-${device}`;

export interface ScenarioRun {
  gateway: RunningGateway;
  events: AlarmEvent[];
  run: VirtualRunResult;
}

export interface ScenarioGatewayOptions {
  /** Where the gateway writes (default: InfluxDB off). */
  influx?: Record<string, unknown>;
  lane?: Partial<GatewayConfig['lane']>;
  /** How often the gateway runs its timers on its own (default 60 s: a virtual run drives them). */
  tickInterval?: number;
}

/**
 * A real gateway in-process (loopback, free ports; InfluxDB off unless `options.influx` says where) with exactly
 * the scenario's devices (secrets from `secretOf`), reading `now` as its clock; every alarm event it emits is
 * collected in `events`. The caller closes the gateway.
 */
export async function startScenarioGateway(
  scenario: Scenario,
  now: () => number,
  options: ScenarioGatewayOptions = {},
): Promise<{ gateway: RunningGateway; events: AlarmEvent[] }> {
  const config = validateConfig(
    {
      mqtt: { tcp: { host: '127.0.0.1', port: 0 } },
      http: { host: '127.0.0.1', port: 0 },
      influx: options.influx ?? { mode: 'off' },
      ...(options.lane ? { lane: options.lane } : {}),
      dataDir: mkdtempSync(join(tmpdir(), 'sim-gateway-')),
      // A virtual run drives the timers itself; the wall-clock ticker only repeats the same instant.
      tickInterval: options.tickInterval ?? 60_000,
      logLevel: 'silent',
      devices: await scenarioDeviceConfigs(scenario, secretOf),
    },
    `(scenario ${scenario.name})`,
  );
  const gateway = await startGateway({ config, log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), now });
  const events: AlarmEvent[] = [];
  gateway.alarms.onEvent((event) => events.push(event));
  return { gateway, events };
}

/**
 * The scenario played through a scenario gateway ({@link startScenarioGateway}) by real MQTT clients, the
 * gateway's clock the scenario's virtual clock. The caller closes the gateway.
 */
export async function runScenarioOnGateway(scenario: Scenario, options: ScenarioGatewayOptions = {}): Promise<ScenarioRun> {
  const clock = createVirtualClock(Date.parse(scenario.start));
  const { gateway, events } = await startScenarioGateway(scenario, clock.now, options);
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
    return { gateway, events, run };
  } catch (error) {
    await gateway.close();
    throw error;
  }
}
