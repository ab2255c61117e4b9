import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { eventually, metricValue, type TestDevice, TOKENS } from './helpers/test-gateway.js';

/** libfaketime (Debian `faketime`): the wall clock of one process, set from a file, its monotonic clock left real. */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'].find(
  (path) => existsSync(path),
);
const DEVICE: TestDevice = { id: 'cs-01', site: 'site-a', profile: 'confined-space', secret: 'secret-cs-01' };

/**
 * The host's clock is stepped while the gateway runs (NTP setting a drifted clock, `date -s`, a virtual machine
 * resumed): the gateway process runs under libfaketime, whose offset this test moves 10 minutes ahead.
 */
describe('a step of the host clock', () => {
  let gateway: GatewayProcess;
  let device: MqttClient;
  let offsetFile: string;

  beforeAll(async () => {
    if (!LIBFAKETIME)
      throw new Error(
        'libfaketime is not installed: apt-get install -y faketime (or run npm test, whose scripts/ensure-system-deps.sh installs it)',
      );
    const dir = mkdtempSync(join(tmpdir(), 'gateway-clock-step-'));
    offsetFile = join(dir, 'offset');
    writeFileSync(offsetFile, '+0\n');
    const config = await writeGatewayConfig(dir, [DEVICE], ['mqtt: { tcp: { host: 127.0.0.1, port: 0 } }', 'influx: { mode: off }']);
    gateway = await startGatewayProcess(config, {
      prefix: [
        'env',
        `LD_PRELOAD=${LIBFAKETIME}`,
        `FAKETIME_TIMESTAMP_FILE=${offsetFile}`,
        'FAKETIME_CACHE_DURATION=1',
        'FAKETIME_DONT_FAKE_MONOTONIC=1',
      ],
    });
    device = await connectDevice(gateway.mqttUrls[0] as string, { username: DEVICE.id, password: DEVICE.secret, clientId: DEVICE.id });
  }, 90_000);

  afterAll(async () => {
    device?.end(true);
    await gateway?.stop();
  });

  const api = async (path: string) => {
    const response = await fetch(`${gateway.httpUrl}${path}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    return response.headers.get('content-type')?.includes('json') ? response.json() : response.text();
  };
  /** A gas reading during a permitted entry: the detector reports every 2 s (the gateway stamps it). */
  const report = () =>
    publishJson(device, telemetryTopicOf('site-a', 'cs-01'), { metrics: { permit_active: true, o2: 20.9, lel: 0, h2s: 0, co: 0 } }, 1);

  it('10 minutes ahead: no detector is judged silent for time that did not pass; the step is logged and counted', async () => {
    for (let i = 0; i < 5; i += 1) {
      await report();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    writeFileSync(offsetFile, '+600\n');
    const stepped = await gateway.waitForLog('system clock stepped', (entry) => entry.msg === 'system clock stepped', 10_000);
    expect(stepped.stepMs).toBeGreaterThan(595_000);
    expect(stepped.stepMs).toBeLessThan(605_000);
    // the detector goes on reporting; what the rules saw was 2 s between readings, not 10 minutes
    for (let i = 0; i < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await report();
    }
    const alarms = (await api('/api/alarms?state=all')) as { alarms: Array<{ rule: string; severity: string }> };
    expect(alarms.alarms.map((a) => `${a.rule} ${a.severity}`)).toEqual([]);
    expect(metricValue((await api('/metrics')) as string, 'gateway_clock_steps_total')).toBe(1);
  }, 60_000);

  it('and the silence it guards still comes, when the detector really stops', async () => {
    const stopped = Date.now();
    await eventually(
      'a silence alarm',
      async () => {
        const { alarms } = (await api('/api/alarms?state=all')) as { alarms: Array<{ rule: string; severity: string }> };
        return alarms.find((a) => a.rule === 'device_silent' || a.rule === 'silent_during_permit');
      },
      45_000,
    );
    // three reporting intervals (5 s at least, the profile's fastest) or the permit's 30 s: not at once
    expect(Date.now() - stopped).toBeGreaterThan(10_000);
  }, 60_000);
});
