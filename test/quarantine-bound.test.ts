import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** `quarantine.size` bounds what the gateway keeps of refused payloads, end to end through the broker. */
describe('the quarantine bound (quarantine.size)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ overrides: { influx: { mode: 'off' }, quarantine: { size: 5 } } });
  });
  afterAll(() => gateway?.close());

  it('keeps only the newest `size` refused payloads, newest first, and still refuses and counts every one', async () => {
    const device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    try {
      for (let i = 1; i <= 8; i += 1) await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), `not json #${i}`);
    } finally {
      await device.endAsync();
    }
    await gateway.settle();
    const listed = await eventually('the refused payloads listed', async () => {
      const { body } = await api(gateway, '/api/quarantine?limit=1000');
      return body.entries.length > 0 ? body : undefined;
    });
    expect(listed.entries.map((e: { payload: string }) => e.payload)).toEqual([8, 7, 6, 5, 4].map((i) => `not json #${i}`));
    expect(listed.entries.every((e: { reason: string; device: string }) => e.reason === 'decode' && e.device === 'dc-01')).toBe(true);
    const metrics = (await api(gateway, '/metrics')).body as string;
    expect(metrics).toMatch(/gateway_ingest_rejections_total\{[^}]*reason="decode"[^}]*\} 8/);
  });
});
