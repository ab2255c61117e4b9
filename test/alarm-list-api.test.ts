import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

const DISPOSAL = { cause: '轴承过热', measures: 'bearing replaced', responsible: 'Zhang Wei' };

/** What the console needs of the API (issue 15): the list's filters, search, paging and CSV, and trends from InfluxDB. */
describe('alarm list filters, paging, CSV and device trends', () => {
  let gateway: TestGateway | null = null;
  const devices: MqttClient[] = [];
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.endAsync();
    await gateway?.close();
    gateway = null;
  });

  const connect = async (running: TestGateway, id: string): Promise<MqttClient> => {
    const device = await connectDevice(running.mqttUrl, { clientId: id, username: id, password: `secret-${id}` });
    devices.push(device);
    return device;
  };

  it('narrows the list by profile, assignee, overdue, text and state; pages; exports the same rows as CSV', async () => {
    gateway = await startTestGateway();
    const running = gateway;
    const start = Date.now() - 30 * 60_000;
    for (const [i, id, site] of [
      [0, 'dc-01', 'site-a'],
      [1, 'dc-02', 'site-a'],
      [2, 'dc-09', 'site-b'],
    ] as const) {
      const device = await connect(running, id);
      await publishJson(device, telemetryTopicOf(site, id), { ts: start + i * 60_000, seq: 1, metrics: { hopper_temp: 75 } });
    }
    const all = await eventually('three alarms', async () => {
      const body = (await api(running, '/api/alarms')).body;
      return body.total === 3 ? body.alarms : undefined;
    });
    expect(all.map((a: { device: string }) => a.device)).toEqual(['dc-09', 'dc-02', 'dc-01']);
    const [onB, onA2, onA1] = all;

    expect((await api(running, `/api/alarms/${onA2.id}/assign`, { body: { to: '张伟', by: 'dispatcher' } })).status).toBe(200);
    const byAssignee = (await api(running, `/api/alarms?assignee=${encodeURIComponent('张伟')}`)).body;
    expect(byAssignee.alarms.map((a: { id: string }) => a.id)).toEqual([onA2.id]);
    expect((await api(running, '/api/alarms?assignee=-')).body.alarms.map((a: { id: string }) => a.id)).toEqual([onB.id, onA1.id]);

    // text search: the Chinese message, the device, case-insensitive; every word must match
    expect((await api(running, '/api/alarms?q=DC-09')).body.alarms.map((a: { id: string }) => a.id)).toEqual([onB.id]);
    expect(onA1.messageZh).toBeTruthy();
    const zhWord = (onA1.messageZh as string).slice(0, 2);
    expect((await api(running, `/api/alarms?q=${encodeURIComponent(zhWord)}`)).body.total).toBe(3);
    expect((await api(running, `/api/alarms?q=${encodeURIComponent(`${zhWord} site-b`)}`)).body.total).toBe(1);
    expect((await api(running, '/api/alarms?q=nothing-like-this')).body.total).toBe(0);

    expect((await api(running, '/api/alarms?profile=dust-collector')).body.total).toBe(3);
    expect((await api(running, '/api/alarms?profile=power')).body.total).toBe(0);
    // the deadline is off in these tests: nothing is overdue
    expect((await api(running, '/api/alarms?overdue=true')).body.total).toBe(0);
    expect((await api(running, '/api/alarms?overdue=false')).body.total).toBe(3);
    expect((await api(running, '/api/alarms?overdue=maybe')).status).toBe(400);

    // paging: total on every page, the pages in order
    const first = (await api(running, '/api/alarms?limit=2')).body;
    const second = (await api(running, '/api/alarms?limit=2&offset=2')).body;
    expect([first.count, first.total, second.count, second.total]).toEqual([2, 3, 1, 3]);
    expect([...first.alarms, ...second.alarms].map((a: { id: string }) => a.id)).toEqual(all.map((a: { id: string }) => a.id));

    // closed alarms: the history (state=resolved), with the disposal record in the alarm's history
    const dc01 = devices[0] as MqttClient;
    await publishJson(dc01, telemetryTopicOf('site-a', 'dc-01'), { ts: start + 5 * 60_000, seq: 2, metrics: { hopper_temp: 40 } });
    await eventually('cleared', async () =>
      (await api(running, `/api/alarms/${onA1.id}`)).body.alarm.state === 'cleared' ? true : undefined,
    );
    const resolved = await api(running, `/api/alarms/${onA1.id}/resolve`, {
      token: TOKENS.operator,
      body: { by: 'Wang Li', disposal: DISPOSAL },
    });
    expect(resolved.status).toBe(200);
    expect((await api(running, '/api/alarms?state=resolved')).body.alarms.map((a: { id: string }) => a.id)).toEqual([onA1.id]);
    expect((await api(running, '/api/alarms')).body.total).toBe(2);
    const detail = (await api(running, `/api/alarms/${onA1.id}`)).body;
    expect(detail.history.at(-1)).toMatchObject({ type: 'alarm.resolved', by: 'Wang Li', disposal: DISPOSAL });
    const assignedStep = (await api(running, `/api/alarms/${onA2.id}`)).body.history.find(
      (step: { type: string }) => step.type === 'alarm.assigned',
    );
    expect(assignedStep).toMatchObject({ assignee: '张伟' });

    // CSV: the rows of the same filter, Excel-ready
    const csv = await fetch(`${running.httpUrl}/api/alarms.csv?state=all&site=site-a`, {
      headers: { authorization: `Bearer ${TOKENS.viewer}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await csv.text();
    const lines = text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]?.split(',').slice(0, 3)).toEqual(['id', 'site', 'device']);
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual([onA2.id, onA1.id]);
    expect(lines.find((line) => line.startsWith(onA1.id))).toContain('轴承过热');
  });

  it('reads a trend from InfluxDB; refuses an unknown device; with InfluxDB off says so with a stable code', async () => {
    gateway = await startTestGateway();
    const running = gateway;
    const device = await connect(running, 'dc-01');
    const start = Date.now() - 10 * 60_000;
    const values = [50, 55, 62, 71];
    for (const [i, value] of values.entries())
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), {
        ts: start + i * 60_000,
        seq: i + 1,
        metrics: { hopper_temp: value },
      });
    const from = new Date(start - 60_000).toISOString();
    const to = new Date().toISOString();
    const trend = await eventually('the points in influxd', async () => {
      const answer = await api(running, `/api/devices/dc-01/trend?metric=hopper_temp&from=${from}&to=${to}`, { token: TOKENS.viewer });
      return answer.status === 200 && answer.body.points.length === values.length ? answer.body : undefined;
    });
    expect(trend.points).toEqual(values.map((v, i) => ({ t: start + i * 60_000, v })));
    expect(trend.truncated).toBe(false);
    const newest = (await api(running, `/api/devices/dc-01/trend?metric=hopper_temp&from=${from}&to=${to}&limit=2`)).body;
    expect(newest).toMatchObject({ points: [{ v: 62 }, { v: 71 }], truncated: true });

    expect((await api(running, '/api/devices/nope/trend?metric=hopper_temp')).body.error.code).toBe('device_not_found');
    expect((await api(running, '/api/devices/dc-01/trend?metric=x%22%20OR')).status).toBe(400);
    expect((await api(running, '/api/devices/dc-01/trend?metric=hopper_temp', { token: null })).status).toBe(401);

    await gateway.close();
    gateway = await startTestGateway({ overrides: { influx: { mode: 'off' } } });
    const off = await api(gateway, '/api/devices/dc-01/trend?metric=hopper_temp');
    expect(off.status).toBe(503);
    expect(off.body.error.code).toBe('trend_unavailable');
    expect(off.body.error.message).toContain('influx.mode is off');
  });
});
