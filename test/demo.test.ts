import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../demo/start-demo.js';
import { DEMO_DEVICES, DEMO_TOKENS } from '../gateway/src/config/demo-config.js';
import { listenToAlarmStream } from './helpers/sse-listener.js';
import { eventually } from './helpers/test-gateway.js';

describe("the README's first command (npm start)", () => {
  let demo: Demo | undefined;
  afterAll(() => demo?.stop());

  it('shows a live alarm on the SSE stream within a minute, with every demo device online and stored', async () => {
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
    const first = await eventually(
      'an alarm.raised on the live stream',
      () => stream.events.find((e) => e.data.type === 'alarm.raised'),
      60_000,
    );
    expect(first.data.data.alarm.message).toMatch(/\S/);
    stream.close();

    const response = await fetch(`${gateway.httpUrl}/api/devices`, { headers: { authorization: `Bearer ${DEMO_TOKENS.viewer}` } });
    const { devices } = (await response.json()) as { devices: Array<{ id: string; online: boolean; lastReadingAt: string | null }> };
    expect(devices.map((d) => d.id).sort()).toEqual(DEMO_DEVICES.map((d) => d.id).sort());
    expect(devices.filter((d) => !d.online).map((d) => d.id)).toEqual([]);
    expect(new Set(DEMO_DEVICES.map((d) => d.profile)).size).toBeGreaterThanOrEqual(6);
    // The local influxd of the embedded defaults is used when installed (it is, for the test suite).
    expect(gateway.influx.url).not.toBeNull();
  }, 90_000);
});
