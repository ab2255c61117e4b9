import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exposedMetric } from './helpers/metrics-text.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { type PrivateInfluxd, queryInfluxAt, startPrivateInfluxd } from './helpers/private-influxd.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const T0 = Date.parse('2026-11-22T06:00:00Z');

/**
 * With the local store the reading waits on disk: the gateway stays ready (200) and says it is degraded.
 * Without it (`store.enabled: false`) the reading waits in memory only: 503 naming InfluxDB.
 */
describe.each([
  { store: true, status: 200, field: 'degraded', reason: /^influxdb: degraded: spooling 1 points \(.+\)$/m },
  { store: false, status: 503, field: 'reasons', reason: /^influxdb: .+/m },
] as const)('GET /readyz while InfluxDB is down (a real influxd, stopped) — store.enabled: $store', ({ store, status, field, reason }) => {
  let influxd: PrivateInfluxd;
  let gateway: TestGateway;
  let device: MqttClient;
  beforeAll(async () => {
    influxd = await startPrivateInfluxd();
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'url', url: influxd.url, database: 'readiness', flushInterval: 50 },
        store: { enabled: store },
      },
    });
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
  });
  afterAll(async () => {
    await device?.endAsync();
    await gateway?.close();
    await influxd?.dispose();
  });

  const readyz = () => api(gateway, '/readyz', { token: null });

  it(`answers ${status} naming InfluxDB once a write fails, keeps the reading, and is healthy again after the server is back`, async () => {
    expect((await readyz()).body).toMatchObject({ reasons: [], degraded: [] });
    await influxd.stop();
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: T0, seq: 1, metrics: { hopper_temp: 36.6 } });
    const down = await eventually(`readyz naming influxdb with ${status}`, async () => {
      const answer = await readyz();
      return answer.status === status && answer.body[field].length > 0 ? answer.body : undefined;
    });
    expect(down.ready).toBe(status === 200);
    expect(down[field].join('\n')).toMatch(reason);
    expect(down.checks.find((c: { name: string }) => c.name === 'mqtt')).toMatchObject({ ready: true });

    await influxd.start();
    await eventually(
      'readyz healthy again',
      async () => {
        const { body } = await readyz();
        return body.reasons.length === 0 && body.degraded.length === 0 ? true : undefined;
      },
      40_000,
    );
    const rows = await eventually('the reading written after the outage', async () => {
      const found = await queryInfluxAt(influxd.url, 'readiness', 'SELECT hopper_temp, seq FROM telemetry');
      return found.length > 0 ? found : undefined;
    });
    expect(rows.map((r) => [r.seq, r.hopper_temp])).toEqual([[1, 36.6]]);
  });
});

describe('GET /readyz when an MQTT listener is down', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        mqtt: { tcp: { host: '127.0.0.1', port: 0 }, ws: { host: '127.0.0.1', port: 0, path: '/mqtt' } },
      },
    });
  });
  afterAll(() => gateway?.close());

  it('answers 503 naming the listener that stopped listening, while the others still serve', async () => {
    expect((await api(gateway, '/readyz', { token: null })).status).toBe(200);
    await gateway.listeners.find((l) => l.name === 'ws')!.close();
    const answer = await api(gateway, '/readyz', { token: null });
    expect(answer.status).toBe(503);
    expect(answer.body.reasons).toEqual(['mqtt: not listening: ws']);
    const device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    await device.endAsync();
  });
});

describe('an InfluxDB 4xx answer (field type conflict)', () => {
  let gateway: TestGateway;
  let device: MqttClient;
  beforeAll(async () => {
    gateway = await startTestGateway();
    // The database already holds hopper_temp as a string in this shard (an older writer did that): InfluxDB
    // answers the gateway's float with 400 "field type conflict".
    const url = inject('influxUrl');
    await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE "${gateway.database}"`)}`, { method: 'POST' });
    const seeded = await fetch(`${url}/write?db=${gateway.database}&precision=ms`, {
      method: 'POST',
      body: `telemetry,device=dc-02,profile=dust-collector,site=site-a hopper_temp="hot" ${T0}`,
    });
    expect(seeded.status).toBe(204);
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
  });
  afterAll(async () => {
    await device?.endAsync();
    await gateway?.close();
  });

  it("quarantines the one refused point with InfluxDB's answer, writes the rest of its batch, and keeps writing what comes after", async () => {
    // One batch: dc-01's hopper_temp conflicts with the string already stored; its diff_pressure-only reading does not.
    await Promise.all([
      publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: T0 + 1_000, seq: 1, metrics: { hopper_temp: 40 } }),
      publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: T0 + 1_500, seq: 3, metrics: { diff_pressure: 1100 } }),
    ]);
    const metricsText = async () => (await api(gateway, '/metrics')).body as string;
    await eventually('the rejection counted', async () =>
      exposedMetric(await metricsText(), 'gateway_sink_dropped_total', { sink: 'influxdb', reason: 'rejected' }) >= 1 ? true : undefined,
    );
    const quarantined = (await api(gateway, '/api/quarantine?reason=influx_refused')).body.entries;
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ reason: 'influx_refused', topic: 'influxdb', site: 'site-a', device: 'dc-01' });
    expect(quarantined[0].detail).toMatch(/field type conflict/);
    expect(quarantined[0].payload).toMatch(/^telemetry,device=dc-01,\S* hopper_temp=40[ ,]/);
    // A later reading without the conflicting field is written: the sink is not stuck retrying the refused point.
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: T0 + 2_000, seq: 2, metrics: { diff_pressure: 1200 } });
    await gateway.settle();
    const rows = await eventually('the later reading stored', async () => {
      const url = new URL(inject('influxUrl'));
      const found = await queryInfluxAt(url.origin, gateway.database, `SELECT diff_pressure FROM telemetry WHERE "device" = 'dc-01'`);
      return found.length > 1 ? found : undefined;
    });
    // the point that shared the refused one's batch was written too
    expect(rows.map((r) => r.diff_pressure)).toEqual([1100, 1200]);
    const text = await metricsText();
    expect(exposedMetric(text, 'gateway_sink_dropped_total', { sink: 'influxdb', reason: 'rejected' })).toBe(1);
    expect(exposedMetric(text, 'gateway_sink_failed_total', { sink: 'influxdb' })).toBe(0);
    expect(exposedMetric(text, 'gateway_sink_queued', { sink: 'influxdb' })).toBe(0);
    // A rejected point is the data's problem, not the server's: the gateway stays ready.
    expect((await api(gateway, '/readyz', { token: null })).status).toBe(200);
  });
});
