import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../gateway/src/config/load-config.js';
import { hashSecret } from '../../../gateway/src/devices/secret-hash.js';
import { startGateway } from '../../../gateway/src/gateway.js';
import { createLogger } from '../../../gateway/src/observability/logger.js';
import type { AlarmEventLike } from '../scenario/expectations.js';
import type { Scenario } from '../scenario/scenario-schema.js';

/** The gateway's registry entries for exactly the scenario's devices, each with the hash of `secretOf(id)`. */
export function scenarioDeviceConfigs(scenario: Scenario, secretOf: (deviceId: string) => string) {
  return Promise.all(
    scenario.devices.map(async (device) => ({
      id: device.id,
      site: device.site,
      profile: device.profile,
      attributes: device.attributes,
      secretHash: await hashSecret(secretOf(device.id)),
    })),
  );
}

export interface OwnGateway {
  /** Its MQTT listener (loopback, a free port). */
  mqttUrl: string;
  /** Its HTTP API (loopback, a free port; no API tokens). */
  httpUrl: string;
  /** Waits until it has evaluated everything it received. */
  settle(): Promise<void>;
  /** Runs its timers (on-delays, silence) at `now`, as its own ticker does every `tickInterval`. */
  tick(now: number): void;
  close(): Promise<void>;
}

export interface OwnGatewayOptions {
  scenario: Scenario;
  secretOf(deviceId: string): string;
  onEvent(event: AlarmEventLike): void;
  /** The gateway's clock: the scaled play's scenario time (`ScaledClock.now`), so that on-delays and silence are judged in scenario time; default the wall clock. */
  now?: () => number;
  /** How often it runs its timers on its own (ms; default the gateway's 250). */
  tickInterval?: number;
  logLevel?: string;
}

/**
 * The gateway `simulate --scenario` starts when no `--url` names one: in this process, on loopback and free ports,
 * InfluxDB off, a fresh data directory (removed on close), the default rules, and a registry of exactly the
 * scenario's devices (secrets from `secretOf`). Nothing else publishes as those devices, so scenario timestamps
 * are never older than what the gateway already holds for them (which a running demo's own plant would cause).
 * Every alarm event goes to `onEvent`.
 */
export async function startOwnGateway(options: OwnGatewayOptions): Promise<OwnGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'simulate-gateway-'));
  try {
    return await startIn(dataDir, options);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dataDir: string, options: OwnGatewayOptions): Promise<OwnGateway> {
  const { scenario, secretOf } = options;
  const logLevel = options.logLevel ?? 'error';
  const config = validateConfig(
    {
      mqtt: { tcp: { host: '127.0.0.1', port: 0 } },
      http: { host: '127.0.0.1', port: 0 },
      influx: { mode: 'off' },
      dataDir,
      logLevel,
      ...(options.tickInterval === undefined ? {} : { tickInterval: options.tickInterval }),
      devices: await scenarioDeviceConfigs(scenario, secretOf),
    },
    `(simulate: the gateway of scenario ${scenario.name})`,
  );
  const gateway = await startGateway({ config, log: createLogger(logLevel), ...(options.now ? { now: options.now } : {}) });
  gateway.alarms.onEvent((event) => options.onEvent(event));
  return {
    mqttUrl: gateway.mqttUrl,
    httpUrl: gateway.httpUrl,
    settle: () => gateway.settle(),
    tick: (now) => gateway.tick(now),
    async close() {
      try {
        await gateway.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
