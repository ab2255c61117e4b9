import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/**
 * A device whose clock ran minutes fast, then was set right (NTP): its later readings must still raise alarms and show
 * in the device list. Readings up to `ingest.maxClockAhead` (5 min) ahead are accepted; before, one of them made every
 * reading after it "late" (judging nothing, shown nowhere) until the gateway's clock reached its time.
 */
describe('a device clock that ran ahead and was corrected', () => {
  let gateway: TestGateway | null = null;
  let device: MqttClient | null = null;
  afterEach(async () => {
    await device?.endAsync();
    await gateway?.close();
    gateway = device = null;
  });

  it('the readings after one stamped 4 minutes ahead raise their alarm at once and are the values shown', async () => {
    gateway = await startTestGateway();
    const running = gateway;
    device = await connectDevice(running.mqttUrl, { clientId: 'dc-01', username: 'dc-01', password: 'secret-dc-01' });
    const topic = telemetryTopicOf('site-a', 'dc-01');
    await publishJson(device, topic, { ts: Date.now() + 4 * 60_000, seq: 1, metrics: { hopper_temp: 40 } });
    await publishJson(device, topic, { ts: Date.now(), seq: 2, metrics: { hopper_temp: 90 } });
    await running.settle();
    const alarm = await eventually('the hopper alarm', async () => {
      const { alarms } = (await api(running, '/api/alarms?device=dc-01')).body;
      return alarms.find((a: { rule: string }) => a.rule === 'hopper_temp_high');
    });
    expect(alarm).toMatchObject({ state: 'active', value: 90 });
    const { devices } = (await api(running, '/api/devices')).body;
    expect(devices.find((d: { id: string }) => d.id === 'dc-01').lastValues.hopper_temp).toBe(90);
  });
});
