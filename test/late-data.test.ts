import { describe, expect, it } from 'vitest';
import { queryInflux } from './helpers/influx-query.js';
import { publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, gatewayWithDevice, LANE_THREADS, TOKENS } from './helpers/test-gateway.js';

const RULE = 'hopper_temp_high';
const T0 = Date.parse('2026-11-22T08:00:00Z');
const MINUTE = 60_000;

/**
 * Contract §2: "readings may be older than ones already seen (late data is stored; it must not resurrect a cleared
 * alarm by itself)" — over MQTT, through the lane, the store and InfluxDB, not only in the rule engine's tests.
 */
describe.each(LANE_THREADS)('late data end to end (contract §2) — lane.thread: %s', (thread) => {
  const live = gatewayWithDevice(thread);
  let seq = 0;
  const send = async (minutes: number, hopperTemp: number): Promise<void> => {
    seq += 1;
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), {
      ts: T0 + minutes * MINUTE,
      seq,
      metrics: { hopper_temp: hopperTemp },
    });
    await live.gateway.settle();
  };
  const history = async (): Promise<string[]> => {
    const { body } = await api(live.gateway, '/api/alarms?state=all&device=dc-01', { token: TOKENS.viewer });
    const alarm = (body.alarms as Array<{ id: string; rule: string }>).find((a) => a.rule === RULE);
    if (!alarm) return [];
    const detail = await api(live.gateway, `/api/alarms/${alarm.id}`, { token: TOKENS.viewer });
    return (detail.body.history as Array<{ type: string }>).map((h) => h.type);
  };

  it('an older reading over the threshold, after the clear, is stored at its own time and does not raise the alarm again', async () => {
    await send(0, 40);
    await send(10, 75); // over the yellow and orange raise values (60, 70): raised
    await send(20, 40); // cleared
    await eventually('the alarm raised and cleared', async () => ((await history()).includes('alarm.cleared') ? true : undefined));
    const before = await history();

    await send(15, 78); // between the raise and the clear, arriving after the clear
    await send(5, 90); // older than everything the device sent
    const rows = await eventually('both late readings in InfluxDB', async () => {
      const found = await queryInflux(live.gateway.database, 'SELECT hopper_temp FROM telemetry WHERE "device" = \'dc-01\'');
      return found.length === 5 ? found : undefined;
    });
    expect(rows.map((row) => [row.time.getTime(), row.hopper_temp])).toEqual([
      [T0, 40],
      [T0 + 5 * MINUTE, 90],
      [T0 + 10 * MINUTE, 75],
      [T0 + 15 * MINUTE, 78],
      [T0 + 20 * MINUTE, 40],
    ]);
    expect(await history()).toEqual(before);
    const active = (await api(live.gateway, '/api/alarms?state=active&device=dc-01', { token: TOKENS.viewer })).body.alarms;
    expect(active.filter((a: { rule: string }) => a.rule === RULE)).toEqual([]);
  });
});
