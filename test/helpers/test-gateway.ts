import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, inject } from 'vitest';
import type { GatewayConfig } from '../../gateway/src/config/config-schema.js';
import { validateConfig } from '../../gateway/src/config/load-config.js';
import { hashSecret } from '../../gateway/src/devices/secret-hash.js';
import { type RunningGateway, startGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { connectDevice } from './mqtt-device.js';

export const TOKENS = { viewer: 'test-viewer-token-0001', operator: 'test-operator-token-01', admin: 'test-admin-token-00001' } as const;

export interface TestDevice {
  id: string;
  site: string;
  profile: string;
  secret: string;
  attributes?: Record<string, number | boolean | string>;
}

export const DUST_DEVICES: TestDevice[] = [
  { id: 'dc-01', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-01' },
  { id: 'dc-02', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-02' },
  { id: 'dc-09', site: 'site-b', profile: 'dust-collector', secret: 'secret-dc-09' },
];

let databaseCounter = 0;

/** A unique InfluxDB database per gateway, so tests never see each other's points. */
export function freshDatabase(): string {
  databaseCounter += 1;
  return `test_${process.pid}_${Date.now()}_${databaseCounter}`;
}

export interface TestGateway extends RunningGateway {
  config: GatewayConfig;
  database: string;
  devices: TestDevice[];
}

/** Both places the telemetry lane can run (`lane.thread`); the core end-to-end tests run in each. */
export const LANE_THREADS = ['worker', 'main'] as const;
export type PipelineThread = (typeof LANE_THREADS)[number];

/** A real gateway in-process on free loopback ports, writing to the suite's real influxd; `now`: its clock (default the real one). */
export async function startTestGateway(
  options: { devices?: TestDevice[]; overrides?: Record<string, unknown>; thread?: PipelineThread; now?: () => number } = {},
): Promise<TestGateway> {
  const devices = options.devices ?? DUST_DEVICES;
  const database = freshDatabase();
  const raw = {
    mqtt: { tcp: { host: '127.0.0.1', port: 0 } },
    http: { host: '127.0.0.1', port: 0 },
    influx: { mode: 'url', url: inject('influxUrl'), database, flushInterval: 100 },
    dataDir: mkdtempSync(join(tmpdir(), 'gateway-test-data-')),
    devices: await Promise.all(
      devices.map(async (d) => ({
        id: d.id,
        site: d.site,
        profile: d.profile,
        attributes: d.attributes ?? {},
        secretHash: await hashSecret(d.secret),
      })),
    ),
    api: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: `test-${role}`, role, token })) },
    tickInterval: 50,
    logLevel: 'silent',
    // The same-day deadline depends on the time of day the suite runs: off here, on in its own tests
    // (test/alarm-deadline.test.ts, a clock of their own).
    handling: { deadline: { enabled: false } },
    ...(options.thread ? { lane: { thread: options.thread } } : {}),
    ...options.overrides,
  };
  const config = validateConfig(raw, '(test)');
  const gateway = await startGateway({
    config,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...(options.now ? { now: options.now } : {}),
  });
  return Object.assign(gateway, { config, database, devices });
}

/**
 * For the tests of one describe block: a test gateway (the lane in `thread`) and dust collector dc-01 connected to it,
 * started before them and closed after. Read `gateway` and `device` inside the tests.
 */
export function gatewayWithDevice(
  thread: PipelineThread,
  overrides?: Record<string, unknown>,
): { readonly gateway: TestGateway; readonly device: MqttClient } {
  const started = {} as { gateway: TestGateway; device: MqttClient };
  beforeAll(async () => {
    started.gateway = await startTestGateway({ thread, ...(overrides ? { overrides } : {}) });
    started.device = await connectDevice(started.gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
  });
  afterAll(async () => {
    await started.device?.endAsync();
    await started.gateway?.close();
  });
  return started;
}

/** GET/POST against the gateway's API with a role's token. */
export async function api(
  gateway: RunningGateway,
  path: string,
  init: { token?: string | null; method?: string; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const token = init.token === undefined ? TOKENS.admin : init.token;
  const response = await fetch(`${gateway.httpUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text body (metrics)
  }
  return { status: response.status, body };
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs` saying what was awaited. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** One sample of a Prometheus counter or gauge from `GET /metrics`, 0 when absent. */
export function metricValue(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
