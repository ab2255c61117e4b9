import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** A deadline time twelve hours away in Beijing, so the gateway's own clock never reaches it during the test. */
const AT = new Date(Date.now() + 8 * 3_600_000 + 12 * 3_600_000).toISOString().slice(11, 16);
const deadlineOn = { handling: { deadline: { enabled: true, timeZone: 'Asia/Shanghai', at: AT } }, influx: { mode: 'off' } };

describe('the same-day deadline, end to end (contract §4 alarm.overdue)', () => {
  let gateway: TestGateway | null = null;
  afterEach(async () => {
    await gateway?.close();
    gateway = null;
  });

  it('an alarm unresolved at 23:59 Beijing time goes overdue once, in the API and its history, and stays so across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-deadline-'));
    gateway = await startTestGateway({ overrides: { ...deadlineOn, dataDir } });
    const device = await connectDevice(gateway.mqttUrl, { clientId: 'dc-01', username: 'dc-01', password: 'secret-dc-01' });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: Date.now(), metrics: { hopper_temp: 65 } });
    await device.endAsync();
    const running = gateway;
    const alarm = await eventually('the alarm', async () => (await api(running, '/api/alarms')).body.alarms[0]);
    // the deadline is the next AT in Beijing (UTC+8, no daylight saving) after the raise
    const raisedAt = Date.parse(alarm.raisedAt);
    const deadline = Date.parse(alarm.deadline);
    expect(deadline).toBeGreaterThan(raisedAt);
    expect(deadline - raisedAt).toBeLessThanOrEqual(24 * 3_600_000);
    expect(new Date(deadline + 8 * 3_600_000).toISOString().slice(11, 19)).toBe(`${AT}:00`);
    expect(alarm.overdue).toBeUndefined();

    gateway.tick(deadline - 1);
    expect((await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm.overdue).toBeUndefined();
    gateway.tick(deadline);
    const after = (await api(gateway, `/api/alarms/${alarm.id}`)).body;
    expect(after.alarm).toMatchObject({ id: alarm.id, overdue: true, seq: 2 });
    expect(after.history.map((step: { type: string }) => step.type)).toEqual(['alarm.raised', 'alarm.overdue']);

    await gateway.close();
    gateway = await startTestGateway({ overrides: { ...deadlineOn, dataDir } });
    gateway.tick(deadline + 3_600_000);
    const restarted = (await api(gateway, `/api/alarms/${alarm.id}`)).body;
    expect(restarted.alarm).toMatchObject({ overdue: true, seq: 2 });
    expect(restarted.history).toHaveLength(2);
  });
});
