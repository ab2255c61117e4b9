import { mkdtempSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { hopperValuesByDevice, queryInflux } from './helpers/influx-query.js';
import { connectDevice } from './helpers/mqtt-device.js';
import { publishUntilRefused } from './helpers/qos1-until-refused.js';
import { smallDisk, unmountSmallDisks } from './helpers/small-disk.js';
import { DUST_DEVICES, eventually, freshDatabase, LANE_THREADS, metricValue, type TestDevice, TOKENS } from './helpers/test-gateway.js';

/** A port nothing listens on: InfluxDB away, so every reading stays in the spool and the store fills. */
const DEAD_INFLUX = 'http://127.0.0.1:9';
/**
 * Readings for about twice the room each bound leaves: ~120 bytes each in the spool, and ~95 in the rule engine's
 * journal while the device's state is not saved (up to 30 s: all the test's readings), which cannot be dropped.
 */
const READINGS = 40_000;
const MAX_BYTES = 8_000_000;
const DISK_BYTES = 48 << 20;
const DISK_RESERVE = 36 << 20;

interface Bound {
  name: string;
  /** The data directory. */
  dir(): string;
  /** The store's settings while InfluxDB is away, and once it is back (the operator gave room). */
  store: string;
  storeAfter: string;
  /** Checks the bound held. */
  held(dir: string): void;
}

const BOUNDS: Bound[] = [
  {
    name: 'store.maxBytes',
    dir: () => mkdtempSync(join(tmpdir(), 'gateway-store-full-')),
    store: `store: { maxBytes: ${MAX_BYTES} }`,
    storeAfter: 'store: {}',
    held: (dir) => expect(statSync(join(dir, 'gateway.db')).size, 'the store file within store.maxBytes').toBeLessThanOrEqual(MAX_BYTES),
  },
  {
    name: 'store.diskReserve',
    dir: () => smallDisk(DISK_BYTES),
    store: `store: { diskReserve: ${DISK_RESERVE} }`,
    storeAfter: 'store: { diskReserve: 0 }',
    held: (dir) => {
      const { bavail, bsize } = statfsSync(dir);
      // the reserve is looked at between commits (at least once a second): a little of it may be taken meanwhile
      expect(bavail * bsize, 'the disk keeps most of its reserve').toBeGreaterThan(DISK_RESERVE - (4 << 20));
    },
  },
];

afterAll(unmountSmallDisks);

describe.each(LANE_THREADS)(
  'room in the store through an InfluxDB outage (issue 13: bounded, never stopped by the spool) — lane.thread: %s',
  (thread) => {
    let running: GatewayProcess | null = null;
    afterEach(async () => {
      await running?.stop();
      running = null;
    });

    it.each(BOUNDS)(
      'at $name the gateway goes on: the oldest spooled telemetry makes room (counted and alarmed), every reading is acknowledged; the newest are stored once after',
      async (bound) => {
        const dir = bound.dir();
        const database = freshDatabase();
        const device = DUST_DEVICES[0] as TestDevice;
        const lines = (influxUrl: string, store: string) => [
          'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
          `influx: { mode: url, url: ${JSON.stringify(influxUrl)}, database: ${database}, flushInterval: 100ms }`,
          `lane: { thread: ${thread} }`,
          store,
        ];
        running = await startGatewayProcess(await writeGatewayConfig(dir, [device], lines(DEAD_INFLUX, bound.store)));
        const gateway = running;
        const metrics = async (): Promise<string> => (await fetch(`${gateway.httpUrl}/metrics`)).text();
        const client = await connectDevice(running.mqttUrls[0] as string, {
          clientId: device.id,
          username: device.id,
          password: device.secret,
        });
        // values that raise no alarm (a rise under 5 °C/min): what grows is the spool and the journal, nothing else
        const acked = await publishUntilRefused(client, device, {
          base: Date.now() - 12 * 3_600_000,
          count: READINGS,
          value: (seq) => 20 + (seq % 4) / 100,
        });
        expect(acked.length, 'every reading acknowledged: the store never ran out of room').toBe(READINGS);
        client.end(true);
        const dropped = async (): Promise<number> =>
          metricValue(await metrics(), 'gateway_sink_dropped_total', { sink: 'influxdb', reason: 'queue_full' });
        // the last trims come with the sink's retries: settled when two readings a second and a half apart agree
        let settled = -1;
        const lost = await eventually(
          'the drops settled',
          async () => {
            const now = await dropped();
            const same = now === settled;
            settled = now;
            if (!same) await new Promise((resolve) => setTimeout(resolve, 1_500));
            // nothing dropped yet is not settled: on a loaded machine the first trim can come later than 1.5 s
            return same && now > 0 ? now : undefined;
          },
          30_000,
        );
        expect(lost, 'the oldest readings dropped for room').toBeGreaterThan(READINGS / 10);
        bound.held(dir);
        const alarms = (await (
          await fetch(`${gateway.httpUrl}/api/alarms`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })
        ).json()) as {
          alarms: Array<{ rule: string; value: number }>;
        };
        const overflow = alarms.alarms.find((alarm) => alarm.rule === 'spool_overflow');
        // raised with the count dropped by then (the first drops)
        expect(overflow?.value, 'the spool overflow alarm, with the points dropped when it was raised').toBeGreaterThan(0);
        expect(overflow?.value).toBeLessThanOrEqual(lost);
        await running.stop();

        // InfluxDB back: the newest readings — all but those dropped — are stored, each once.
        running = await startGatewayProcess(await writeGatewayConfig(dir, [device], lines(inject('influxUrl'), bound.storeAfter)));
        const kept = [...acked].sort((a, b) => a.ts - b.ts).slice(lost);
        const stored = await eventually(
          'the spooled readings in influxd',
          async () => {
            const rows = await queryInflux(database, `SELECT hopper_temp, device FROM telemetry WHERE device = '${device.id}'`).catch(
              () => [],
            );
            return rows.length >= kept.length ? rows : undefined;
          },
          60_000,
        );
        const byTs = hopperValuesByDevice(stored).get(device.id) ?? new Map<number, number[]>();
        expect(byTs.size).toBe(kept.length);
        for (const reading of kept) expect(byTs.get(reading.ts), `ts ${reading.ts}`).toEqual([reading.value]);
      },
      180_000,
    );
  },
);
