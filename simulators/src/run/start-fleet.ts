import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario } from '../scenario/scenario-schema.js';
import { type BackoffOptions, createBackoff } from '../transport/backoff.js';
import { type DeviceLink, openDeviceLink } from '../transport/device-link.js';
import type { DeviceAction } from './action.js';
import { deviceActions } from './device-run.js';
import { fleetDevices, type RegistryDevice } from './fleet-devices.js';

export interface FleetOptions {
  /** The gateway's MQTT listener, `mqtt://127.0.0.1:1883`. */
  url: string;
  /** Devices and timeline; the timeline's times count from the fleet's start. */
  scenario?: Scenario | null;
  /** The gateway's devices: when given, exactly these run (with the scenario's settings where it has them). */
  devices?: readonly RegistryDevice[];
  /** Each device's secret (MQTT password). */
  secretOf(deviceId: string): string;
  /** Default: the scenario's seed, else 1. */
  seed?: number;
  /** Stop on its own after this long; default: run until `stop()`. */
  durationMs?: number;
  /** Telemetry QoS (default 1). */
  qos?: 0 | 1;
  /** Connections are opened over this long, not all at once (default: 2 ms per device, at most 5 s). */
  connectSpreadMs?: number;
  /** Waits between connection attempts, a refused first one or after a lost connection (default 1 s → 60 s, jittered). */
  backoff?: BackoffOptions;
  /** Called on every error (a refused connection, a failed publish). */
  onError?(device: string, error: Error): void;
}

export interface FleetStats {
  devices: number;
  connected: number;
  /** Messages published (telemetry, status, duplicates, malformed). */
  sent: number;
  readings: number;
  errors: number;
  reconnects: number;
  startedAt: number;
  elapsedMs: number;
}

export interface Fleet {
  stop(): Promise<void>;
  stats(): FleetStats;
  /** Resolves when every device has finished (after `durationMs`, or after `stop()`). */
  readonly done: Promise<void>;
}

/** Real-time devices: each its own MQTT client and credentials, reporting at its real interval. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const scenario = options.scenario ?? null;
  const devices = fleetDevices(scenario, options.devices);
  if (devices.length === 0) throw new Error('startFleet: no devices (give a scenario or a device list)');
  const startedAt = Date.now();
  const end = options.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + options.durationMs;
  const seed = options.seed ?? scenario?.seed ?? 1;
  const spread = options.connectSpreadMs ?? Math.min(5_000, devices.length * 2);
  const abort = new AbortController();
  // Every device waits on this one signal: thousands of listeners are expected, not a leak.
  setMaxListeners(0, abort.signal);
  const stats = { sent: 0, readings: 0, errors: 0, reconnects: 0 };
  const links = new Map<string, DeviceLink>();

  const fail = (device: string, error: Error): void => {
    stats.errors += 1;
    options.onError?.(device, error);
  };
  const pause = async (ms: number): Promise<boolean> => {
    if (ms <= 0) return !abort.signal.aborted;
    try {
      await sleep(ms, undefined, { signal: abort.signal });
      return true;
    } catch {
      return false;
    }
  };

  const connect = async (id: string, site: string): Promise<DeviceLink | null> => {
    // a gateway that is down or restarting sees the fleet's attempts spread out and thinning, not every few seconds at once
    const backoff = createBackoff(options.backoff);
    while (!abort.signal.aborted && Date.now() < end) {
      try {
        const link = await openDeviceLink({
          url: options.url,
          site,
          device: id,
          secret: options.secretOf(id),
          qos: options.qos ?? 1,
          reconnect: options.backoff ?? {},
          onReconnect: () => {
            stats.reconnects += 1;
          },
          onError: (error) => fail(id, error),
        });
        links.set(id, link);
        return link;
      } catch (error) {
        fail(id, error as Error);
        if (!(await pause(Math.min(backoff.next(), end - Date.now())))) return null;
      }
    }
    return null;
  };

  const perform = async (action: DeviceAction, site: string): Promise<void> => {
    const id = action.device;
    if (action.kind === 'connect') {
      await connect(id, site);
      return;
    }
    const link = links.get(id);
    if (!link) return;
    if (action.kind === 'disconnect') {
      links.delete(id);
      await (action.graceful ? link.close() : link.drop()).catch((error: Error) => fail(id, error));
      return;
    }
    try {
      await link.publish(action.topic, action.payload, action.retain);
      stats.sent += 1;
      stats.readings += action.readings;
    } catch (error) {
      fail(id, error as Error);
    }
  };

  const runDevice = async (index: number): Promise<void> => {
    const device = devices[index];
    if (!device) return;
    if (!(await pause(devices.length > 1 ? (spread * index) / devices.length : 0))) return;
    const actions = deviceActions({ device, timeline: scenario?.timeline ?? [], seed, start: startedAt, end });
    for (const action of actions) {
      if (!(await pause(action.at - Date.now()))) break;
      await perform(action, device.site);
    }
  };

  const done = Promise.all(devices.map((_, index) => runDevice(index))).then(async () => {
    await Promise.all([...links.values()].map((link) => link.close().catch(() => undefined)));
    links.clear();
  });

  return {
    async stop() {
      abort.abort();
      // A publish waiting for an unreachable broker must not hold the stop: give it a moment, then cut.
      const finished = await Promise.race([done.then(() => true), sleep(3_000).then(() => false)]);
      if (!finished) await Promise.all([...links.values()].map((link) => link.drop().catch(() => undefined)));
    },
    stats: () => ({
      devices: devices.length,
      connected: [...links.values()].filter((link) => link.connected).length,
      ...stats,
      startedAt,
      elapsedMs: Date.now() - startedAt,
    }),
    done,
  };
}
