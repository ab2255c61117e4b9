import { describe, expect, it } from 'vitest';
import { publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, gatewayWithDevice, LANE_THREADS } from './helpers/test-gateway.js';

/**
 * A device whose clock ran minutes fast, then was set right (NTP): its later readings must still raise alarms and show
 * in the device list. Readings up to `ingest.maxClockAhead` (5 min) ahead are accepted; before, one of them made every
 * reading after it "late" (judging nothing, shown nowhere) until the gateway's clock reached its time.
 */
describe.each(LANE_THREADS)('a device clock that ran ahead and was corrected (lane.thread: %s)', (thread) => {
  const live = gatewayWithDevice(thread);

  it('the readings after one stamped 4 minutes ahead raise their alarm at once and are the values shown', async () => {
    const { gateway: running, device } = live;
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
