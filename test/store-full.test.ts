import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { queryInflux } from './helpers/influx-query.js';
import { connectDevice, telemetryTopicOf } from './helpers/mqtt-device.js';
import { DUST_DEVICES, eventually, freshDatabase, metricValue, PIPELINE_THREADS, type TestDevice } from './helpers/test-gateway.js';

/** A port nothing listens on: InfluxDB away, so every reading stays in the spool and the store fills. */
const DEAD_INFLUX = 'http://127.0.0.1:9';
const BASE = Date.now() - 3 * 3_600_000;

/** Publishes QoS 1 readings, eight in flight, until the gateway stops answering; returns what was acknowledged. */
async function publishUntilRefused(client: MqttClient, device: TestDevice): Promise<Array<{ ts: number; value: number }>> {
  const acked: Array<{ ts: number; value: number }> = [];
  let seq = 0;
  let open = true;
  client.on('close', () => {
    open = false;
  });
  const lane = async (): Promise<void> => {
    while (open && seq < 50_000) {
      const reading = { seq, ts: BASE + seq * 1_000, value: 20 + (seq % 40) / 4 };
      seq += 1;
      const sent = client
        .publishAsync(
          telemetryTopicOf(device.site, device.id),
          JSON.stringify({ seq: reading.seq, ts: reading.ts, metrics: { hopper_temp: reading.value } }),
          {
            qos: 1,
          },
        )
        .then(
          () => true,
          () => false,
        );
      // a publish the gateway never answers (it stopped) does not settle: the close ends the wait
      const answered = await Promise.race([sent, new Promise<boolean>((resolve) => client.once('close', () => resolve(false)))]);
      if (!answered) return;
      acked.push({ ts: reading.ts, value: reading.value });
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return acked;
}

describe.each(PIPELINE_THREADS)('a full store (issue 13: a clear error, no acknowledged reading lost) — pipeline.thread: %s', (thread) => {
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
      `pipeline: { thread: ${thread} }`,
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
    const stored = await eventually(
      'every acknowledged reading in influxd',
      async () => {
        const rows = await queryInflux(database, `SELECT hopper_temp FROM telemetry WHERE device = '${device.id}'`).catch(() => []);
        return rows.length >= acked.length ? rows : undefined;
      },
      60_000,
    );
    const byTs = new Map<number, number[]>();
    for (const row of stored) byTs.set(new Date(row.time).getTime(), [...(byTs.get(new Date(row.time).getTime()) ?? []), row.hopper_temp]);
    for (const reading of acked) expect(byTs.get(reading.ts), `ts ${reading.ts}`).toEqual([reading.value]);
  }, 120_000);
});
