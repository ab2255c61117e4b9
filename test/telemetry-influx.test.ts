import { InfluxDB } from 'influx';
import { describe, expect, inject, it } from 'vitest';
import { queryInflux } from './helpers/influx-query.js';
import { publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, gatewayWithDevice, LANE_THREADS } from './helpers/test-gateway.js';

describe.each(LANE_THREADS)('telemetry reaches a real InfluxDB (contract §2, §7) — lane.thread: %s', (thread) => {
  const live = gatewayWithDevice(thread);

  it('stores a reading with site/device/profile tags and canonical units', async () => {
    const ts = Date.parse('2026-11-22T08:00:00Z');
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), {
      ts,
      seq: 1,
      metrics: { diff_pressure: 1.21, hopper_temp: 100.4, rotary_valve: 'running', fan_running: true },
      units: { diff_pressure: 'kPa', hopper_temp: '°F' },
    });
    const rows = await eventually(
      'the reading in influxd',
      async () => {
        const found = await queryInflux(live.gateway.database, 'SELECT * FROM telemetry');
        return found.length > 0 ? found : undefined;
      },
      5_000,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.site).toBe('site-a');
    expect(row.device).toBe('dc-01');
    expect(row.profile).toBe('dust-collector');
    expect(row.diff_pressure).toBeCloseTo(1210, 6);
    expect(row.hopper_temp).toBeCloseTo(38, 6);
    expect(row.rotary_valve).toBe('running');
    expect(row.fan_running).toBe(true);
    expect(row.time.getTime()).toBe(ts);
  });

  it('stores every reading of a backlog upload at its own time, with RFC 3339 timestamps', async () => {
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), {
      readings: [
        { ts: '2026-11-22T07:00:00Z', seq: 2, metrics: { hopper_temp: 30 } },
        { ts: '2026-11-22T07:00:30.500Z', seq: 3, metrics: { hopper_temp: 31 } },
        { ts: '2026-11-22T15:01:00+08:00', seq: 4, metrics: { hopper_temp: 32 } },
      ],
    });
    const rows = await eventually('three backlog readings', async () => {
      const found = await queryInflux(live.gateway.database, "SELECT hopper_temp FROM telemetry WHERE time < '2026-11-22T07:30:00Z'");
      return found.length === 3 ? found : undefined;
    });
    expect(rows.map((r) => [r.time.toISOString(), r.hopper_temp])).toEqual([
      ['2026-11-22T07:00:00.000Z', 30],
      ['2026-11-22T07:00:30.500Z', 31],
      ['2026-11-22T07:01:00.000Z', 32],
    ]);
  });

  it('uses the receive time when a reading has no ts, and shows last values in /api/devices', async () => {
    const before = Date.now();
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { inlet_temp: 41.5 } });
    const rows = await eventually('the untimed reading', async () => {
      const found = await queryInflux(live.gateway.database, 'SELECT inlet_temp FROM telemetry WHERE inlet_temp > 0');
      return found.length === 1 ? found : undefined;
    });
    expect(rows[0].time.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(rows[0].time.getTime()).toBeLessThanOrEqual(Date.now());
    const devices = (await api(live.gateway, '/api/devices')).body.devices;
    const dc01 = devices.find((d: { id: string }) => d.id === 'dc-01');
    expect(dc01.online).toBe(true);
    expect(dc01.lastValues.inlet_temp).toBe(41.5);
    expect(dc01.lastValues.hopper_temp).toBeCloseTo(38, 6);
  });

  it('stores every reading of a backlog sent without times: each at its own millisecond, none overwriting another', async () => {
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), {
      readings: [{ metrics: { outlet_temp: 21 } }, { metrics: { outlet_temp: 22 } }, { metrics: { outlet_temp: 23 } }],
    });
    const rows = await eventually('three untimed readings', async () => {
      const found = await queryInflux(live.gateway.database, 'SELECT outlet_temp FROM telemetry WHERE outlet_temp > 0');
      return found.length === 3 ? found : undefined;
    });
    expect(rows.map((r) => r.outlet_temp)).toEqual([21, 22, 23]);
  });
});

describe('the InfluxDB database dropped under a running gateway (InfluxDB recreated without its data volume)', () => {
  const live = gatewayWithDevice('main');

  it('is created again at the next write: what waited in the spool is stored, not retried against a 404 for ever', async () => {
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), { ts: Date.now() - 2_000, metrics: { inlet_temp: 31 } });
    await eventually('the first reading', async () =>
      (await queryInflux(live.gateway.database, 'SELECT inlet_temp FROM telemetry')).length === 1 ? true : undefined,
    );
    const url = new URL(inject('influxUrl'));
    const admin = new InfluxDB({ host: url.hostname, port: Number(url.port) });
    await admin.dropDatabase(live.gateway.database);
    await publishJson(live.device, telemetryTopicOf('site-a', 'dc-01'), { ts: Date.now() - 1_000, metrics: { inlet_temp: 32 } });
    const rows = await eventually(
      'the reading after the drop',
      async () => {
        const found = await queryInflux(live.gateway.database, 'SELECT inlet_temp FROM telemetry').catch(() => []);
        return found.length === 1 ? found : undefined;
      },
      20_000,
    );
    expect(rows[0].inlet_temp).toBe(32);
  }, 30_000);
});
