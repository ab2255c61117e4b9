import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { SPOOL_OVERFLOW } from '../gateway/src/alarms/spool-overflow.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { type PrivateInfluxd, queryInfluxAt, startPrivateInfluxd } from './helpers/private-influxd.js';
import {
  api,
  DUST_DEVICES,
  eventually,
  LANE_THREADS,
  startTestGateway,
  type TestDevice,
  type TestGateway,
} from './helpers/test-gateway.js';

/**
 * How long influxd stays away: 8 s in the suite (the path is the same at any length); the minute, for the
 * figures in BENCHMARKS.md, with OUTAGE_SECONDS=60.
 */
const OUTAGE_S = Number(process.env.OUTAGE_SECONDS ?? 8);

/** Readings in the recent past, one second apart per device: every point is its own in InfluxDB. */
const BASE = Date.now() - 6 * 3_600_000;

const connect = (gateway: TestGateway, device: TestDevice): Promise<MqttClient> =>
  connectDevice(gateway.mqttUrl, { clientId: device.id, username: device.id, password: device.secret });

/** A device publishing QoS 1 readings one after the other until stopped; what it had acknowledged, in order. */
function steadyDevice(client: MqttClient, device: TestDevice, valueAt: (i: number) => number) {
  const acked: Array<{ ts: number; value: number }> = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i += 1) {
      const reading = { ts: BASE + i * 1_000, value: valueAt(i) };
      await publishJson(client, telemetryTopicOf(device.site, device.id), { ts: reading.ts, metrics: { hopper_temp: reading.value } }, 1);
      acked.push(reading);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    acked,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

const storedOf = async (influxd: PrivateInfluxd, database: string, device: string): Promise<Array<{ ts: number; value: number }>> =>
  (await queryInfluxAt(influxd.url, database, `SELECT hopper_temp FROM telemetry WHERE device = '${device}' ORDER BY time`)).map((row) => ({
    ts: new Date(row.time).getTime(),
    value: row.hopper_temp,
  }));

describe.each(LANE_THREADS)(
  'InfluxDB away under load, then back (issue 13: delivery that survives anything) — lane.thread: %s',
  (thread) => {
    let gateway: TestGateway | null = null;
    let influxd: PrivateInfluxd | null = null;
    afterEach(async () => {
      await gateway?.close();
      await influxd?.dispose();
      gateway = null;
      influxd = null;
    });

    it(
      `influxd stopped for ${OUTAGE_S} s while three devices publish: every acknowledged point arrives once, in order per series, with the alarm event`,
      async () => {
        influxd = await startPrivateInfluxd();
        gateway = await startTestGateway({
          thread,
          overrides: { influx: { mode: 'url', url: influxd.url, database: 'outage', flushInterval: 100 } },
        });
        const running = gateway;
        const devices = await Promise.all(
          DUST_DEVICES.map(async (device, d) =>
            // dc-01 crosses the hopper's yellow level while InfluxDB is down (its alarm event waits in the spool too)
            steadyDevice(await connect(running, device), device, (i) => (d === 0 && i > 150 ? 65 : 20 + (i % 10))),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        await influxd.stop();
        const degraded = await eventually('readyz says degraded: spooling', async () => {
          const { status, body } = await api(running, '/readyz');
          return status === 200 && JSON.stringify(body).includes('spooling') ? body : undefined;
        });
        expect(JSON.stringify(degraded)).toMatch(/degraded: spooling \d+ points/);
        // three devices at up to 50 readings/s each: about 1,200 points spooled on disk per 8 s away
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_S * 1_000));
        const waiting = await api(running, '/readyz');
        await influxd.start();
        const backAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        await Promise.all(devices.map((device) => device.stop()));

        for (const [d, device] of DUST_DEVICES.entries()) {
          const acked = devices[d]?.acked ?? [];
          const stored = await eventually(
            `every point of ${device.id}`,
            async () => {
              const rows = await storedOf(influxd as PrivateInfluxd, 'outage', device.id);
              return rows.length >= acked.length ? rows : undefined;
            },
            60_000,
          );
          // exactly what was acknowledged, once each, in the order it was sent
          expect(stored).toEqual(acked);
        }
        console.info(
          `influxd away ${OUTAGE_S} s (${thread}): ${devices.reduce((n, d) => n + d.acked.length, 0)} readings acknowledged, all stored, ` +
            `the last ${((Date.now() - backAt) / 1000).toFixed(1)} s after influxd came back (${JSON.stringify(waiting.body.degraded ?? [])})`,
        );
        const events = await queryInfluxAt(
          influxd.url,
          'outage',
          `SELECT alarm_id, seq, "type" FROM alarm_events WHERE rule = 'hopper_temp_high'`,
        );
        expect(events.map((row) => [row.type, row.seq])).toEqual([['alarm.raised', 1]]);
      },
      120_000 + OUTAGE_S * 3_000,
    );

    it('with a small spool bound the oldest telemetry is dropped, never an alarm event, and an alarm says so until InfluxDB is back', async () => {
      influxd = await startPrivateInfluxd({ running: false });
      gateway = await startTestGateway({
        thread,
        overrides: {
          influx: { mode: 'url', url: influxd.url, database: 'bounded', flushInterval: 100 },
          store: { spool: { maxPoints: 200 } },
        },
      });
      const device = DUST_DEVICES[0] as TestDevice;
      const client = await connect(gateway, device);
      const PUBLISHED = 600;
      for (let i = 0; i < PUBLISHED; i += 1) {
        // the last reading crosses the hopper's yellow level: its alarm event is spooled behind 599 readings
        const value = i === PUBLISHED - 1 ? 65 : 20 + (i % 10);
        await publishJson(client, telemetryTopicOf(device.site, device.id), { ts: BASE + i * 1_000, metrics: { hopper_temp: value } }, 1);
      }
      const running = gateway;
      const overflow = await eventually('the spool-overflow alarm', async () => {
        const { body } = await api(running, '/api/alarms?state=active');
        return body.alarms.find((alarm: { key: string }) => alarm.key === SPOOL_OVERFLOW.key);
      });
      expect(overflow).toMatchObject({ severity: 'orange', site: '_gateway', rule: 'spool_overflow' });
      // raised at the first drop, with how many were dropped by then (the count goes on in gateway_sink_dropped_total)
      expect(overflow.value).toBeGreaterThan(0);
      expect(overflow.message).toMatch(/^InfluxDB spool full: the oldest \d+ telemetry points were dropped/);

      await influxd.start();
      const stored = await eventually(
        'the spool drained',
        async () => {
          const rows = await storedOf(influxd as PrivateInfluxd, 'bounded', device.id);
          return rows.length > 0 && rows.at(-1)?.value === 65 ? rows : undefined;
        },
        60_000,
      );
      // the newest readings survived, the oldest were dropped: what is stored is a tail of what was sent
      expect(stored.length).toBeGreaterThanOrEqual(150);
      expect(stored.length).toBeLessThanOrEqual(260);
      const first = (stored[0] as { ts: number }).ts;
      expect(stored.map((row) => row.ts)).toEqual(Array.from({ length: stored.length }, (_, k) => first + k * 1_000));
      expect(first + (stored.length - 1) * 1_000).toBe(BASE + (PUBLISHED - 1) * 1_000);
      // the alarm events were never dropped: the hopper's and the overflow's own
      const rules = (await queryInfluxAt(influxd.url, 'bounded', 'SELECT alarm_id, seq, rule FROM alarm_events')).map((row) => row.rule);
      expect(rules).toContain('hopper_temp_high');
      expect(rules).toContain('spool_overflow');
      // InfluxDB takes writes again: the overflow alarm clears
      await eventually('the overflow alarm cleared', async () => {
        const { body } = await api(running, `/api/alarms/${overflow.id}`);
        return body.alarm.state === 'cleared' ? true : undefined;
      });
      client.end(true);
    }, 120_000);
  },
);
