import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../demo/start-demo.js';
import { DEMO_DEVICES, DEMO_TOKENS } from '../gateway/src/config/demo-config.js';
import { queryInfluxAt } from './helpers/private-influxd.js';
import { listenToAlarmStream } from './helpers/sse-listener.js';
import { eventually } from './helpers/test-gateway.js';

describe("the README's first command (npm start)", () => {
  let demo: Demo | undefined;
  afterAll(() => demo?.stop());

  it('shows the hopper alarm on the SSE stream within a minute, with its reading stored in InfluxDB and every demo device online', async () => {
    demo = await startDemo({
      mqttPort: 0,
      httpPort: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      dataDir: mkdtempSync(join(tmpdir(), 'gateway-demo-')),
    });
    const { gateway } = demo;
    const stream = listenToAlarmStream(gateway.httpUrl, DEMO_TOKENS.viewer);
    await stream.ready;
    // The demo scenario heats dc-01's hopper past 60 °C (simulators/scenarios/demo.yaml).
    const raised = await eventually(
      'the hopper temperature alarm on the live stream',
      () => stream.events.find((e) => e.data.type === 'alarm.raised' && e.data.data.alarm.rule === 'hopper_temp_high'),
      60_000,
    );
    stream.close();
    const alarm = raised.data.data.alarm;
    expect(alarm).toMatchObject({ site: 'plant-a', device: 'dc-01', metric: 'hopper_temp', unit: '°C', state: 'active' });
    expect(alarm.value).toBeGreaterThanOrEqual(alarm.threshold);
    expect(alarm.message).toBe(`Hopper temperature ${alarm.value} °C ≥ ${alarm.threshold} °C`);

    // The reading that raised it is the one the simulator sent: stored in the demo's InfluxDB at the event's time.
    expect(gateway.influx.url, `demo InfluxDB: ${gateway.influx.disabledReason}`).not.toBeNull();
    const stored = await eventually('the reading in InfluxDB', async () => {
      const rows = await queryInfluxAt(
        gateway.influx.url!,
        'risk',
        `SELECT hopper_temp FROM telemetry WHERE "device" = 'dc-01' AND time = '${raised.data.timestamp}'`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(stored.map((row) => row.hopper_temp)).toEqual([alarm.value]);

    const response = await fetch(`${gateway.httpUrl}/api/devices`, { headers: { authorization: `Bearer ${DEMO_TOKENS.viewer}` } });
    const { devices } = (await response.json()) as { devices: Array<{ id: string; profile: string; online: boolean }> };
    expect(devices.map((d) => d.id).sort()).toEqual(DEMO_DEVICES.map((d) => d.id).sort());
    expect(devices.filter((d) => !d.online).map((d) => d.id)).toEqual([]);
    expect(new Set(devices.map((d) => d.profile)).size).toBeGreaterThanOrEqual(6);
  }, 90_000);
});
