import { describe, expect, inject, it } from 'vitest';
import { demoConfig } from '../gateway/src/config/demo-config.js';
import { createInfluxV1Writer } from '../gateway/src/sinks/influx/influx-writer.js';
import { queryInflux } from './helpers/influx-query.js';
import { publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, freshDatabase, gatewayWithDevice, LANE_THREADS } from './helpers/test-gateway.js';

const policies = async (database: string): Promise<Array<{ name: string; duration: string; default: boolean }>> =>
  (await queryInflux(database, `SHOW RETENTION POLICIES ON "${database}"`)) as Array<{ name: string; duration: string; default: boolean }>;

describe('influx.retention: the database the gateway creates keeps points only as long as configured', () => {
  it("the demo's database keeps 7 days; a changed setting alters the policy; points written land in it", async () => {
    const config = await demoConfig();
    expect(config.influx.retention).toBe(7 * 86_400_000);

    const database = freshDatabase();
    const writer = createInfluxV1Writer({
      url: inject('influxUrl'),
      database,
      timeoutMs: 10_000,
      retentionMs: config.influx.retention as number,
    });
    await writer.prepare();
    expect((await policies(database)).find((p) => p.default)).toMatchObject({ name: 'gateway', duration: '168h0m0s' });

    await writer.write([`telemetry,site=s,device=d,profile=p hopper_temp=21 ${Date.now()}`]);
    const rows = await queryInflux(database, 'SELECT count("hopper_temp") FROM "gateway"."telemetry"');
    expect(rows[0]?.count).toBe(1);

    // Restarted with another retention: the same policy, altered, still the default.
    await createInfluxV1Writer({ url: inject('influxUrl'), database, timeoutMs: 10_000, retentionMs: 30 * 86_400_000 }).prepare();
    expect((await policies(database)).filter((p) => p.default)).toMatchObject([{ name: 'gateway', duration: '720h0m0s' }]);
  });

  it('retention inf (the default) leaves the database on its own infinite policy', async () => {
    const database = freshDatabase();
    await createInfluxV1Writer({ url: inject('influxUrl'), database, timeoutMs: 10_000, retentionMs: null }).prepare();
    expect((await policies(database)).map((p) => [p.name, p.duration, p.default])).toEqual([['autogen', '0s', true]]);
  });
});

describe.each(LANE_THREADS)('a backlog older than the retention (lane.thread: %s)', (thread) => {
  const live = gatewayWithDevice(thread, { influx: { retention: '1h' } });

  it('is refused at once as past_timestamp, with its reason, not acknowledged then refused by InfluxDB point by point', async () => {
    const { gateway: running, device } = live;
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), {
      readings: [
        { ts: Date.now() - 2 * 3_600_000, seq: 1, metrics: { hopper_temp: 30 } },
        { ts: Date.now() - 1_000, seq: 2, metrics: { hopper_temp: 31 } },
      ],
    });
    await running.settle();
    const entries = (await api(running, '/api/quarantine?device=dc-01')).body.entries;
    expect(entries.map((e: { reason: string }) => e.reason)).toEqual(['past_timestamp']);
    expect(entries[0].detail).toMatch(/^seq 1: .* behind the gateway \(limit 3600 s\)$/);
  });
});
