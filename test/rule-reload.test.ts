import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { listenToAlarmStream, type SseListener } from './helpers/sse-listener.js';
import { api, eventually, PIPELINE_THREADS, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

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

describe.each(PIPELINE_THREADS)('rule hot reload (POST /api/rules/reload, SIGHUP) — pipeline.thread: %s', (thread) => {
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
