import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, LANE_THREADS, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

describe.each(LANE_THREADS)('an alarm latched until acknowledged (confined-space LEL over range) — lane.thread: %s', (thread) => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      thread,
      devices: [{ id: 'gas-01', site: 'pit-3', profile: 'confined-space', secret: 'secret-gas-01' }],
      overrides: { influx: { mode: 'off' } },
    });
  });
  afterAll(() => gateway?.close());

  it('stays red after the reading falls, and clears when a duty officer acknowledges it', async () => {
    const device = await connectDevice(gateway.mqttUrl, { username: 'gas-01', password: 'secret-gas-01', clientId: 'gas-01' });
    const send = async (lel: number): Promise<void> => {
      await publishJson(device, telemetryTopicOf('pit-3', 'gas-01'), { metrics: { lel, o2: 20.9 } });
      await gateway.settle();
    };
    const latched = async () =>
      (await api(gateway, '/api/alarms?state=all', { token: TOKENS.viewer })).body.alarms.find(
        (a: { rule: string }) => a.rule === 'lel_over_range',
      );

    await send(120);
    expect(await latched()).toMatchObject({ severity: 'red', state: 'active' });
    await send(0);
    await send(0);
    expect((await latched()).state).toBe('active');

    const ack = await api(gateway, `/api/alarms/${(await latched()).id}/ack`, {
      token: TOKENS.operator,
      body: { by: 'Li Na', note: 'checked with a second detector' },
    });
    expect(ack.status).toBe(200);
    await gateway.settle();
    expect(await latched()).toMatchObject({ state: 'cleared', acknowledged: true, acknowledgedBy: 'Li Na' });
    await device.endAsync();
  });
});
