import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { queryInflux } from './helpers/influx-query.js';
import { telemetryTopicOf } from './helpers/mqtt-device.js';
import { DUST_DEVICES, eventually, freshDatabase, LANE_THREADS } from './helpers/test-gateway.js';

/** A port nothing listens on: InfluxDB "down" for the whole first life of the gateway. */
const DEAD_INFLUX = 'http://127.0.0.1:9';

const connect = (url: string, device: (typeof DUST_DEVICES)[number], clean = true): Promise<MqttClient> =>
  new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: device.id,
      username: device.id,
      password: device.secret,
      clean,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });

const influxLines = (database: string, url: string, thread: string) => [
  `mqtt: { tcp: { host: 127.0.0.1, port: 0 } }`,
  `influx: { mode: url, url: ${JSON.stringify(url)}, database: ${database}, flushInterval: 100ms }`,
  `lane: { thread: ${thread} }`,
];

async function storedPerDevice(database: string): Promise<Map<string, number[]>> {
  const rows = await queryInflux(database, 'SELECT hopper_temp, device FROM telemetry');
  const out = new Map<string, number[]>();
  for (const row of rows) out.set(row.device, [...(out.get(row.device) ?? []), row.hopper_temp]);
  return out;
}

describe.each(LANE_THREADS)('acknowledged means durable (contract §2, §7) — lane.thread: %s', (thread) => {
  let running: GatewayProcess | null = null;
  afterEach(async () => {
    await running?.stop();
    running = null;
  });

  it('kill -9 while InfluxDB is down: every acknowledged reading is stored once after the restart, and a replay is a duplicate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-durable-'));
    const database = freshDatabase();
    const devices = DUST_DEVICES;
    running = await startGatewayProcess(await writeGatewayConfig(dir, devices, influxLines(database, DEAD_INFLUX, thread)));
    const PER_DEVICE = 200;
    const start = Date.now() - 60 * 60_000;
    const acked = new Map<string, Array<{ seq: number; ts: number; value: number }>>();
    await Promise.all(
      devices.map(async (device, d) => {
        const client = await connect(running?.mqttUrls[0] as string, device);
        const mine: Array<{ seq: number; ts: number; value: number }> = [];
        acked.set(device.id, mine);
        // Eight publishes in flight at a time, as a device with a QoS 1 window would.
        for (let seq = 0; seq < PER_DEVICE; seq += 8) {
          await Promise.all(
            Array.from({ length: Math.min(8, PER_DEVICE - seq) }, async (_, k) => {
              const reading = { seq: seq + k, ts: start + (seq + k) * 1_000, value: 20 + d + ((seq + k) % 30) / 10 };
              await client.publishAsync(
                telemetryTopicOf(device.site, device.id),
                JSON.stringify({ seq: reading.seq, ts: reading.ts, metrics: { hopper_temp: reading.value } }),
                { qos: 1 },
              );
              mine.push(reading);
            }),
          );
        }
        client.end(true);
      }),
    );
    expect(await queryInflux(database, 'SELECT count(hopper_temp) FROM telemetry').catch(() => [])).toEqual([]);
    running.child.kill('SIGKILL');
    expect(await running.exited).toBe('SIGKILL');

    running = await startGatewayProcess(await writeGatewayConfig(dir, devices, influxLines(database, inject('influxUrl'), thread)));
    const stored = await eventually(
      'every acknowledged reading in influxd',
      async () => {
        const perDevice = await storedPerDevice(database);
        return devices.every((d) => (perDevice.get(d.id)?.length ?? 0) >= PER_DEVICE) ? perDevice : undefined;
      },
      30_000,
    );
    for (const device of devices) {
      const values = stored.get(device.id) ?? [];
      expect(values, device.id).toHaveLength(PER_DEVICE);
      expect(values).toEqual((acked.get(device.id) ?? []).sort((a, b) => a.ts - b.ts).map((r) => r.value));
    }

    // The device replays its last readings (as after a lost PUBACK): the restarted gateway still knows them.
    const replayer = await connect(running.mqttUrls[0] as string, devices[0] as (typeof devices)[number]);
    for (const reading of (acked.get('dc-01') ?? []).slice(-5)) {
      await replayer.publishAsync(
        telemetryTopicOf('site-a', 'dc-01'),
        JSON.stringify({ seq: reading.seq, ts: reading.ts, metrics: { hopper_temp: 99 } }),
        { qos: 1 },
      );
    }
    replayer.end(true);
    const response = await fetch(`${running.httpUrl}/api/quarantine?reason=duplicate`, {
      headers: { authorization: 'Bearer test-admin-token-00001' },
    });
    const duplicates = ((await response.json()) as { entries: unknown[] }).entries;
    expect(duplicates).toHaveLength(5);
    expect((await storedPerDevice(database)).get('dc-01')?.includes(99)).toBe(false);
  }, 120_000);
});
