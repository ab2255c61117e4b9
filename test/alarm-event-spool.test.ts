import { describe, expect, it } from 'vitest';
import { queryInflux } from './helpers/influx-query.js';
import { publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, gatewayWithDevice, LANE_THREADS, metricValue, TOKENS } from './helpers/test-gateway.js';

/**
 * An alarm event's point goes into the spool in the commit that records the transition, and the InfluxDB sink is told
 * to write it. With the lane on the main thread the sink runs on that same thread: told inside the alarm book's
 * commit, its take tidied the spool (a write on its own connection, once a second at most) while that commit held the
 * store's write lock, and the thread waited on itself for SQLite's busy timeout — five seconds in which no device got a
 * PUBACK and the duty officer's acknowledgement hung — before the write failed with SQLITE_BUSY and was retried (found
 * by the latency bench with `lane.thread: main`). A reading's own commit tidies the spool too, so the acknowledgement
 * comes more than a second after the last reading.
 */
describe.each(LANE_THREADS)('an alarm event on its way to InfluxDB — lane.thread: %s', (thread) => {
  const live = gatewayWithDevice(thread);
  let seq = 0;
  let clock = Date.parse('2026-11-22T08:00:00Z');
  const publish = (hopperTemp: number): Promise<void> => {
    seq += 1;
    clock += 600_000; // ten minutes apart: only the high-temperature rule moves
    return publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, seq, metrics: { hopper_temp: hopperTemp } });
  };

  it('is written at once, and nothing waits meanwhile: the acknowledgement, the PUBACKs', async () => {
    await publish(95); // over hopper_temp_high's red level: raises an alarm
    const alarm = await eventually('the alarm open', async () =>
      (await api(live.gateway, '/api/alarms?state=open', { token: TOKENS.viewer })).body.alarms.find(
        (a: { rule: string }) => a.rule === 'hopper_temp_high',
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    const started = Date.now();
    const ack = await api(live.gateway, `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { by: 'Wang Li (duty officer)' } });
    await publish(41);
    const waited = Date.now() - started;

    expect(ack.status).toBe(200);
    const rows = await eventually('the acknowledgement in InfluxDB', async () => {
      const found = await queryInflux(live.gateway.database, `SELECT "by" FROM alarm_events WHERE "type" = 'alarm.acknowledged'`);
      return found.length > 0 ? found : undefined;
    });
    expect(rows.map((r) => r.by)).toEqual(['Wang Li (duty officer)']);
    expect(waited).toBeLessThan(2_000);
    expect(metricValue((await api(live.gateway, '/metrics')).body, 'gateway_sink_failed_total', { sink: 'influxdb' })).toBe(0);
  });
});
