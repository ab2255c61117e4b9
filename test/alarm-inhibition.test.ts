import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, DUST_DEVICES, eventually, startTestGateway, type TestDevice, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('inhibition-test-secret-32-bytes!').toString('base64')}`;
const METER: TestDevice = {
  id: 'meter-a',
  site: 'site-a',
  profile: 'power',
  secret: 'secret-meter-a',
  attributes: { meter_role: 'main', p_idle_kw: 80, p_prod_kw: 1000, contracted_kw: 1500, declared_status: 'producing' },
};

describe('inhibition, end to end (issue 15)', () => {
  let gateway: TestGateway | null = null;
  let receiver: WebhookReceiver | null = null;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync();
    await gateway?.close();
    await receiver?.close();
    gateway = null;
    receiver = null;
  });

  const start = async (devices: TestDevice[]): Promise<TestGateway> => {
    receiver = await startWebhookReceiver(SECRET);
    gateway = await startTestGateway({
      devices,
      overrides: {
        dataDir: mkdtempSync(join(tmpdir(), 'gateway-inhibition-')),
        influx: { mode: 'off' },
        webhooks: [{ id: 'platform', url: receiver.url, secrets: [SECRET], retryBaseDelay: 30, retryMaxDelay: 200 }],
      },
    });
    return gateway;
  };
  const publish = async (running: TestGateway, device: TestDevice, metrics: Record<string, unknown>): Promise<void> => {
    let client = clients.find((c) => c.options.clientId === device.id);
    if (!client) {
      client = await connectDevice(running.mqttUrl, { clientId: device.id, username: device.id, password: device.secret });
      clients.push(client);
    }
    await publishJson(client, telemetryTopicOf(device.site, device.id), { ts: Date.now(), metrics });
  };
  /** The alarm keys the webhook receiver was told about, in order, with the event type. */
  const delivered = (): string[] => (receiver?.received ?? []).map((r) => `${r.event.type} ${r.event.data.alarm.key}`);
  const alarmKeys = async (running: TestGateway, query: string): Promise<string[]> =>
    (await api(running, `/api/alarms?state=all&${query}`, { token: TOKENS.viewer })).body.alarms.map((a: { key: string }) => a.key).sort();

  it('a silent device raises no value alarm: the change is recorded under /api/inhibitions, and the alarm appears when the device is back', async () => {
    const dc01 = { ...(DUST_DEVICES[0] as TestDevice), attributes: { reportingIntervalMs: 10_000 } };
    const running = await start([dc01]);
    const t0 = Date.now();
    // ΔP below 250 Pa while the fan runs: diff_pressure_low after its 60 s on-delay
    await publish(running, dc01, { fan_running: true, diff_pressure: 100 });
    await running.settle();
    running.tick(t0 + 31_000); // 3 × 10 s without data: silent
    await eventually('silent', async () => ((await alarmKeys(running, 'device=dc-01')).length > 0 ? true : undefined));
    running.tick(t0 + 61_000); // the on-delay has run out while the device is silent
    const inhibitions = await eventually('the inhibited change recorded', async () => {
      const body = (await api(running, '/api/inhibitions', { token: TOKENS.viewer })).body;
      return body.recent.length > 0 ? body : undefined;
    });
    expect(inhibitions.inhibitors).toMatchObject([{ key: 'site-a/dc-01/device_silent', inhibits: { scope: 'device' } }]);
    expect(inhibitions.held).toEqual([
      { key: 'site-a/dc-01/diff_pressure_low', inhibitedBy: 'site-a/dc-01/device_silent', status: 'true', severity: 'orange' },
    ]);
    expect(inhibitions.recent).toMatchObject([
      {
        key: 'site-a/dc-01/diff_pressure_low',
        rule: 'diff_pressure_low',
        status: 'true',
        severity: 'orange',
        inhibitedBy: 'site-a/dc-01/device_silent',
      },
    ]);
    expect(await alarmKeys(running, 'device=dc-01')).toEqual(['site-a/dc-01/device_silent']);
    await running.settle();
    expect(delivered()).toEqual(['alarm.raised site-a/dc-01/device_silent']);

    // the device is back, ΔP still low: the silence clears and the held alarm takes the condition's state
    await publish(running, dc01, { fan_running: true, diff_pressure: 100 });
    await eventually('diff_pressure_low raised', () =>
      delivered().includes('alarm.raised site-a/dc-01/diff_pressure_low') ? true : undefined,
    );
    expect(delivered()).toEqual([
      'alarm.raised site-a/dc-01/device_silent',
      'alarm.cleared site-a/dc-01/device_silent',
      'alarm.raised site-a/dc-01/diff_pressure_low',
    ]);
    expect((await api(running, '/api/inhibitions', { token: TOKENS.viewer })).body).toMatchObject({ inhibitors: [], held: [] });
  });

  it("a site without power: its monitors' silence is inhibited (another site's is not), and shows when the power is back", async () => {
    const running = await start([...DUST_DEVICES, METER]);
    const t0 = Date.now();
    await publish(running, METER, { active_power: 0, energy: 0 });
    await eventually('site_power_off', () => (delivered().includes('alarm.raised site-a/meter-a/site_power_off') ? true : undefined));
    // 20 minutes without data from any monitor (the meter reports every 15 min and is silent only after 45)
    running.tick(t0 + 20 * 60_000);
    await eventually('site-b silent', () => (delivered().includes('alarm.raised site-b/dc-09/device_silent') ? true : undefined));
    await running.settle();
    expect(delivered().filter((d) => d.includes('device_silent'))).toEqual(['alarm.raised site-b/dc-09/device_silent']);
    const held = (await api(running, '/api/inhibitions', { token: TOKENS.viewer })).body.held;
    expect(held.map((h: { key: string; inhibitedBy: string }) => [h.key, h.inhibitedBy])).toEqual([
      ['site-a/dc-01/device_silent', 'site-a/meter-a/site_power_off'],
      ['site-a/dc-02/device_silent', 'site-a/meter-a/site_power_off'],
    ]);
    // what the site shows instead: the power off, and the site rule that sums up its silent monitors once they have
    // all been silent for 15 min (still within the meter's own 45)
    running.tick(t0 + 36 * 60_000);
    await running.settle();
    expect(await alarmKeys(running, 'site=site-a')).toEqual([
      'site-a/_site/monitors_silent_plant_stopped',
      'site-a/meter-a/site_power_off',
    ]);

    // the power is back, the monitors are still silent: now their silence alarms go out
    await publish(running, METER, { active_power: 900, energy: 225 });
    await eventually('site-a silent', () =>
      delivered().filter((d) => d.startsWith('alarm.raised site-a/') && d.endsWith('device_silent')).length === 2 ? true : undefined,
    );
    expect(delivered()).toContain('alarm.cleared site-a/meter-a/site_power_off');
    expect(await alarmKeys(running, 'site=site-a')).toEqual(
      expect.arrayContaining(['site-a/dc-01/device_silent', 'site-a/dc-02/device_silent', 'site-a/meter-a/site_power_off']),
    );
  });
});
