import type { MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { hopperValuesByDevice, queryInflux } from './influx-query.js';
import { telemetryTopicOf } from './mqtt-device.js';
import { eventually, type TestDevice } from './test-gateway.js';

export interface AckedReading {
  ts: number;
  value: number;
}

/**
 * Publishes QoS 1 readings of `hopper_temp` (device times from `base`, 1 s apart), eight in flight, until the
 * gateway stops answering (or `count` were published, 50,000 at most; `value` of each `seq`: by default one that
 * rises 10 °C in 40 s and falls back, so the rate alarm comes and goes); pushes each acknowledged reading onto `acked`
 * as its PUBACK comes (a test may watch it grow) and resolves with it once the connection closed or the last answered.
 */
export async function publishUntilRefused(
  client: MqttClient,
  device: TestDevice,
  options: { base?: number; acked?: AckedReading[]; count?: number; value?: (seq: number) => number } = {},
): Promise<AckedReading[]> {
  const base = options.base ?? Date.now() - 3 * 3_600_000;
  const acked = options.acked ?? [];
  let seq = 0;
  let open = true;
  // a publish the gateway never answers (it stopped) does not settle: the close ends the wait
  const closed = new Promise<boolean>((resolve) =>
    client.once('close', () => {
      open = false;
      resolve(false);
    }),
  );
  const lane = async (): Promise<void> => {
    while (open && seq < (options.count ?? 50_000)) {
      const reading = { seq, ts: base + seq * 1_000, value: options.value?.(seq) ?? 20 + (seq % 40) / 4 };
      seq += 1;
      const sent = client
        .publishAsync(
          telemetryTopicOf(device.site, device.id),
          JSON.stringify({ seq: reading.seq, ts: reading.ts, metrics: { hopper_temp: reading.value } }),
          { qos: 1 },
        )
        .then(
          () => true,
          () => false,
        );
      const answered = await Promise.race([sent, closed]);
      if (!answered) return;
      acked.push({ ts: reading.ts, value: reading.value });
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return acked;
}

/**
 * Waits (up to `timeoutMs`) until InfluxDB holds as many readings of `deviceId` as were acknowledged, then checks
 * each acknowledged reading is there exactly once with the acknowledged value.
 */
export async function expectAckedStoredOnce(database: string, deviceId: string, acked: readonly AckedReading[], timeoutMs = 60_000) {
  const stored = await eventually(
    'every acknowledged reading in influxd',
    async () => {
      const rows = await queryInflux(database, `SELECT hopper_temp, device FROM telemetry WHERE device = '${deviceId}'`).catch(() => []);
      return rows.length >= acked.length ? rows : undefined;
    },
    timeoutMs,
  );
  const byTs = hopperValuesByDevice(stored).get(deviceId) ?? new Map<number, number[]>();
  for (const reading of acked) expect(byTs.get(reading.ts), `ts ${reading.ts}`).toEqual([reading.value]);
}
