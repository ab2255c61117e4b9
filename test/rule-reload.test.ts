import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { listenToAlarmStream, type SseListener } from './helpers/sse-listener.js';
import { api, DUST_DEVICES, eventually, LANE_THREADS, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { aliasBomb, aliasInsideItself } from './support/hostile-yaml.js';

const ruleFile = (raise: number | string): string =>
  [
    'profile: dust-collector',
    'rules:',
    '  - id: inlet_trial',
    '    kind: threshold',
    '    metric: inlet_temp',
    '    source: site trial rule',
    '    levels:',
    `      orange: { raise: ${raise} }`,
  ].join('\n');

describe.each(LANE_THREADS)('rule hot reload (POST /api/rules/reload) — lane.thread: %s', (thread) => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-rules-'));
  const file = join(dir, 'trial.yaml');
  let gateway: TestGateway;
  let device: MqttClient;
  let sse: SseListener;
  let clock = Date.parse('2026-11-22T11:00:00Z');
  const inlet = async (value: number): Promise<void> => {
    clock += 60_000;
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, metrics: { inlet_temp: value } });
    await gateway.settle();
  };
  const trialAlarms = async (state = 'all') =>
    (await api(gateway, `/api/alarms?state=${state}`, { token: TOKENS.viewer })).body.alarms.filter(
      (a: { rule: string }) => a.rule === 'inlet_trial',
    );

  beforeAll(async () => {
    writeFileSync(file, ruleFile(50));
    gateway = await startTestGateway({ thread, overrides: { rules: [file] } });
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    sse = listenToAlarmStream(gateway.httpUrl, TOKENS.viewer);
    await sse.ready;
  });
  afterAll(async () => {
    sse?.close();
    await device?.endAsync();
    await gateway?.close();
  });

  it('applies an extra rule file from the config', async () => {
    await inlet(55);
    const [alarm] = await trialAlarms('active');
    expect(alarm).toMatchObject({ severity: 'orange', source: 'site trial rule', threshold: 50 });
  });

  it('refuses an invalid set with every problem, keeps the old rules running, and needs the admin role', async () => {
    writeFileSync(file, ruleFile('"hot"'));
    expect((await api(gateway, '/api/rules/reload', { token: TOKENS.operator, method: 'POST' })).status).toBe(403);
    const refused = await api(gateway, '/api/rules/reload', { token: TOKENS.admin, method: 'POST' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('rules_invalid');
    expect(refused.body.error.details.join('\n')).toMatch(/inlet_trial.*"hot"/);
    await inlet(30);
    expect((await trialAlarms('active')).length).toBe(0);
    expect((await trialAlarms('cleared')).length).toBe(1);
  });

  it('refuses hostile YAML (an alias bomb, an alias inside itself) the same way; the gateway and its rules go on', async () => {
    for (const [hostile, problem] of [
      [aliasBomb(), /trial\.yaml its aliases cannot be expanded/],
      [`${ruleFile(50)}\n${aliasInsideItself}`, /trial\.yaml an alias \(\*name\) stands inside the node it names/],
    ] as const) {
      writeFileSync(file, hostile);
      const refused = await api(gateway, '/api/rules/reload', { token: TOKENS.admin, method: 'POST' });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('rules_invalid');
      expect(refused.body.error.details.join('\n')).toMatch(problem);
    }
    // the rule of the last good set still judges: 55 is above its raise of 50
    await inlet(55);
    expect(await trialAlarms('active')).toMatchObject([{ threshold: 50 }]);
    await inlet(30);
  });

  it('swaps in a changed set and clears the alarms of a removed rule with an explicit event', async () => {
    await inlet(58);
    expect((await trialAlarms('active')).length).toBe(1);
    writeFileSync(file, 'profile: dust-collector\nrules: []\n');
    const reloaded = await api(gateway, '/api/rules/reload', { token: TOKENS.admin, method: 'POST' });
    expect(reloaded.status).toBe(200);
    expect(reloaded.body.changedAlarms).toBe(1);
    await eventually('the cleared event on the stream', () =>
      sse.events.some((e) => e.data.type === 'alarm.cleared' && e.data.data.alarm.rule === 'inlet_trial' && e.data.data.alarm.seq === 4)
        ? true
        : undefined,
    );
    expect((await trialAlarms('active')).length).toBe(0);
    await inlet(90);
    expect((await trialAlarms('active')).length).toBe(0);
  });
});

describe('rule hot reload on SIGHUP (the gateway process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-sighup-'));
  const file = join(dir, 'trial.yaml');
  let gateway: GatewayProcess;
  let device: MqttClient;
  let clock = Date.parse('2026-11-22T12:00:00Z');
  const inlet = async (value: number): Promise<void> => {
    clock += 60_000;
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, metrics: { inlet_temp: value } });
  };
  const trialAlarm = async (): Promise<{ state: string; threshold: number; seq: number } | undefined> => {
    const response = await fetch(`${gateway.httpUrl}/api/alarms?state=all`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    const { alarms } = (await response.json()) as { alarms: Array<{ rule: string; state: string; threshold: number; seq: number }> };
    return alarms.find((a) => a.rule === 'inlet_trial');
  };

  beforeAll(async () => {
    writeFileSync(file, ruleFile(50));
    const config = await writeGatewayConfig(dir, DUST_DEVICES, [
      'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
      'influx: { mode: "off" }',
      `rules: [${JSON.stringify(file)}]`,
    ]);
    gateway = await startGatewayProcess(config);
    device = await connectDevice(gateway.mqttUrls[0]!, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
  });
  afterAll(async () => {
    await device?.endAsync();
    await gateway?.stop();
  });

  it('keeps the running rules when the changed file is invalid, and swaps in a valid one, without any HTTP call', async () => {
    await inlet(55);
    expect(
      await eventually('the trial alarm raised', async () => ((await trialAlarm())?.state === 'active' ? trialAlarm() : undefined)),
    ).toMatchObject({ threshold: 50 });

    writeFileSync(file, ruleFile('"hot"'));
    gateway.child.kill('SIGHUP');
    const rejected = await gateway.waitForLog('the SIGHUP reload rejected', (entry) => entry.msg === 'SIGHUP: rule reload rejected');
    expect(JSON.stringify(rejected.problems)).toMatch(/inlet_trial.*hot/);
    expect(gateway.child.exitCode).toBeNull();
    // The old rule still runs: 30 is below its raise of 50, so its alarm clears.
    await inlet(30);
    await eventually('the alarm cleared by the old rule', async () => ((await trialAlarm())?.state === 'cleared' ? true : undefined));

    // Now the rule is removed from the file: after SIGHUP a reading of 90 raises nothing.
    writeFileSync(file, 'profile: dust-collector\nrules: []\n');
    gateway.child.kill('SIGHUP');
    await gateway.waitForLog('the SIGHUP reload applied', (entry) => entry.msg === 'rules reloaded' && entry.changes !== undefined);
    await inlet(90);
    await inlet(91);
    // Once the gateway shows the last value it has evaluated the reading of 90 before it.
    await eventually('the reading of 91 evaluated', async () => {
      const response = await fetch(`${gateway.httpUrl}/api/devices`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
      const { devices } = (await response.json()) as { devices: Array<{ id: string; lastValues: Record<string, unknown> }> };
      return devices.find((d) => d.id === 'dc-01')?.lastValues.inlet_temp === 91 ? true : undefined;
    });
    const settled = await trialAlarm();
    expect(settled?.state).toBe('cleared');
    expect(gateway.logs.filter((entry) => entry.msg === 'rules reloaded')).toHaveLength(1);
  });
});
