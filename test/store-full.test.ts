import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice } from './helpers/mqtt-device.js';
import { expectAckedStoredOnce, publishUntilRefused } from './helpers/qos1-until-refused.js';
import { DUST_DEVICES, eventually, freshDatabase, LANE_THREADS, metricValue, type TestDevice } from './helpers/test-gateway.js';

/** A port nothing listens on: InfluxDB away, so every reading stays in the spool and the store fills. */
const DEAD_INFLUX = 'http://127.0.0.1:9';

describe.each(LANE_THREADS)('a full store (issue 13: a clear error, no acknowledged reading lost) — lane.thread: %s', (thread) => {
  let running: GatewayProcess | null = null;
  afterEach(async () => {
    await running?.stop();
    running = null;
  });

  it('stops acknowledging and exits with "database or disk is full"; after the restart every acknowledged reading is stored once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-store-full-'));
    const database = freshDatabase();
    const device = DUST_DEVICES[0] as TestDevice;
    const lines = (influxUrl: string, extra: string[]) => [
      'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
      `influx: { mode: url, url: ${JSON.stringify(influxUrl)}, database: ${database}, flushInterval: 100ms }`,
      `lane: { thread: ${thread} }`,
      ...extra,
    ];
    running = await startGatewayProcess(await writeGatewayConfig(dir, [device], lines(DEAD_INFLUX, ['store: { maxBytes: 1000000 }'])));
    const gateway = running;
    const metrics = async (): Promise<string> => (await fetch(`${gateway.httpUrl}/metrics`)).text();
    expect(metricValue(await metrics(), 'gateway_store_limit_bytes')).toBe(1_000_000);
    const emptySize = await eventually(
      'the store size measured',
      async () => metricValue(await metrics(), 'gateway_store_size_bytes') || undefined,
    );
    expect(emptySize).toBeLessThan(1_000_000);
    const client = await connectDevice(running.mqttUrls[0] as string, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
    });
    const acked = await publishUntilRefused(client, device);
    client.end(true);
    expect(await running.exited).toBe(1);
    expect(acked.length, 'readings acknowledged before the store was full').toBeGreaterThan(500);
    const fatal = running.logs.find((entry) => entry.level === 60);
    expect(JSON.stringify(fatal)).toMatch(/database or disk is full/);
    // The gateway says why it stops with the catalogue's code, in both thread modes.
    const stop = running.logs.find((entry) => entry.msg === 'gateway cannot continue') as { err?: { code?: string } } | undefined;
    expect(stop?.err?.code).toBe('store_unavailable');

    // The operator gives the store room (and InfluxDB is back): nothing acknowledged was lost.
    running = await startGatewayProcess(await writeGatewayConfig(dir, [device], lines(inject('influxUrl'), [])));
    await expectAckedStoredOnce(database, device.id, acked);
  }, 120_000);
});
