import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { eventually, LANE_THREADS, type TestDevice, TOKENS } from './helpers/test-gateway.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('alarm-restart-secret-32-bytes-ok').toString('base64')}`;

/** dc-02 reports every 3 s (its attribute): its silence rule fires after 3 intervals, 9 s. */
const DEVICES: TestDevice[] = [
  { id: 'dc-01', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-01' },
  { id: 'dc-02', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-02', attributes: { reportingIntervalMs: 3_000 } },
];
const SILENCE_MS = 9_000;

const configLines = (thread: string, webhookUrl: string): string[] => [
  'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
  'influx: { mode: off }',
  `lane: { thread: ${thread} }`,
  'webhooks:',
  `  - { id: platform, url: ${JSON.stringify(webhookUrl)}, secrets: ["${SECRET}"] }`,
];

async function api(gateway: GatewayProcess, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.httpUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${body === undefined ? TOKENS.viewer : TOKENS.operator}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

const ofRule = (received: ReceivedWebhook[], rule: string, device: string): ReceivedWebhook[] =>
  received.filter((r) => r.event.data.alarm.rule === rule && r.event.data.alarm.device === device);

const device = (url: string, d: TestDevice): Promise<MqttClient> =>
  connectDevice(url, { clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0 });

describe.each(LANE_THREADS)('alarms across a kill -9 (contract §4, §7: a restart loses nothing) — lane.thread: %s', (thread) => {
  let running: GatewayProcess | null = null;
  let receiver: WebhookReceiver | null = null;
  afterEach(async () => {
    await running?.stop();
    await receiver?.close();
    running = null;
    receiver = null;
  });

  it('keeps the open alarm with its id, seq and acknowledgement, never raises it again, and clears it once when the evidence arrives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-alarm-restart-'));
    receiver = await startWebhookReceiver(SECRET);
    const config = await writeGatewayConfig(dir, DEVICES, configLines(thread, receiver.url));
    running = await startGatewayProcess(config);
    let clock = Date.now() - 60_000;
    const hopper = async (client: MqttClient, value: number): Promise<void> => {
      clock += 1_000;
      await publishJson(client, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, metrics: { hopper_temp: value } }, 1);
    };

    let client = await device(running.mqttUrls[0] as string, DEVICES[0] as TestDevice);
    await hopper(client, 65);
    const raised = await eventually('alarm.raised delivered', () => ofRule(receiver?.received ?? [], 'hopper_temp_high', 'dc-01')[0]);
    const alarmId = raised.event.data.alarm.id;
    expect(raised.event.type).toBe('alarm.raised');
    expect((await api(running, `/api/alarms/${alarmId}/ack`, { by: 'duty-officer', note: 'checking' })).status).toBe(200);
    await eventually('alarm.acknowledged delivered', () =>
      ofRule(receiver?.received ?? [], 'hopper_temp_high', 'dc-01').length >= 2 ? true : undefined,
    );
    client.end(true);

    running.child.kill('SIGKILL');
    expect(await running.exited).toBe('SIGKILL');
    running = await startGatewayProcess(config);

    // The book came back: same alarm, same seq, still acknowledged.
    const open = (await api(running, '/api/alarms?state=open')).body.alarms.filter((a: any) => a.rule === 'hopper_temp_high');
    expect(open.map((a: any) => [a.id, a.seq, a.acknowledged, a.acknowledgedBy])).toEqual([[alarmId, 2, true, 'duty-officer']]);

    client = await device(running.mqttUrls[0] as string, DEVICES[0] as TestDevice);
    await hopper(client, 66); // still above the yellow level: the rule state came back too, so nothing is raised
    await hopper(client, 50); // below clear: the alarm clears, once
    const cleared = await eventually('alarm.cleared delivered', () =>
      ofRule(receiver?.received ?? [], 'hopper_temp_high', 'dc-01').find((r) => r.event.type === 'alarm.cleared'),
    );
    await hopper(client, 49);
    expect((await api(running, `/api/alarms/${alarmId}`)).body.alarm.seq).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // At least once (contract §5): a delivery the receiver answered just before the kill -9, not yet marked done in
    // the outbox, comes again after the restart — the same event (same webhook-id and body), which receivers drop.
    const deliveries = ofRule(receiver.received, 'hopper_temp_high', 'dc-01');
    const events = deliveries.filter(
      (r, index) => deliveries.findIndex((d) => d.headers['webhook-id'] === r.headers['webhook-id']) === index,
    );
    for (const again of deliveries.filter((r) => !events.includes(r)))
      expect(again.body, 'a repeated webhook-id is the same event').toBe(
        events.find((r) => r.headers['webhook-id'] === again.headers['webhook-id'])?.body,
      );
    expect(events.map((r) => [r.event.type, r.event.data.alarm.id, r.event.data.alarm.seq])).toEqual([
      ['alarm.raised', alarmId, 1],
      ['alarm.acknowledged', alarmId, 2],
      ['alarm.cleared', alarmId, 3],
    ]);
    expect(cleared.event.data.alarm.acknowledged).toBe(true);
    client.end(true);
  }, 90_000);

  it('a silence timer resumes where it was: the time before the crash counts, the time spent down does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-silence-restart-'));
    receiver = await startWebhookReceiver(SECRET);
    const config = await writeGatewayConfig(dir, DEVICES, configLines(thread, receiver.url));
    running = await startGatewayProcess(config);
    const client = await device(running.mqttUrls[0] as string, DEVICES[1] as TestDevice);
    await publishJson(client, telemetryTopicOf('site-a', 'dc-02'), { ts: Date.now(), metrics: { hopper_temp: 30 } }, 1);
    const lastData = Date.now();
    client.end(true);
    // Two thirds of the silence window pass, then the gateway dies and stays down for a while.
    await new Promise((resolve) => setTimeout(resolve, (SILENCE_MS * 2) / 3));
    running.child.kill('SIGKILL');
    await running.exited;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    running = await startGatewayProcess(config);
    const silent = await eventually(
      'the silence alarm',
      () => ofRule(receiver?.received ?? [], 'device_silent', 'dc-02').find((r) => r.event.type === 'alarm.raised'),
      20_000,
    );
    // Timed on the gateway's own clock, from the moment its rule state came back (its log line), so that a slow
    // start on a loaded machine shifts nothing: the window's rest is what had not passed when it was last alive.
    const restored = running.logs.find((entry) => entry.msg === 'rule state restored') as { time: number; downMs: number };
    expect(restored.downMs, 'the restart saw the time down').toBeGreaterThanOrEqual(4_000);
    const left = SILENCE_MS - (restored.time - restored.downMs - lastData);
    const raisedAfter = Date.parse(silent.event.timestamp) - restored.time;
    // From zero it would come SILENCE_MS after the restart; counting the 4 s down, at once (left < 4 s).
    expect(raisedAfter, 'fired after the rest of the window, not a whole new one').toBeLessThan(left + 2_000);
    expect(raisedAfter, 'the time spent down did not count').toBeGreaterThan(left - 1_000);
  }, 90_000);

  it('a device taken out of the configuration while the gateway was down: its open alarm clears, it is never judged silent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-removed-device-'));
    receiver = await startWebhookReceiver(SECRET);
    const config = await writeGatewayConfig(dir, DEVICES, configLines(thread, receiver.url));
    running = await startGatewayProcess(config);
    const client = await device(running.mqttUrls[0] as string, DEVICES[1] as TestDevice);
    await publishJson(client, telemetryTopicOf('site-a', 'dc-02'), { ts: Date.now(), metrics: { hopper_temp: 70 } }, 1);
    await eventually('its alarm', () => ofRule(receiver?.received ?? [], 'hopper_temp_high', 'dc-02')[0]);
    client.end(true);
    running.child.kill('SIGKILL');
    await running.exited;

    // dc-02 decommissioned: the same config and data, without it
    await writeGatewayConfig(dir, [DEVICES[0] as TestDevice], configLines(thread, receiver.url));
    running = await startGatewayProcess(config);
    const cleared = await eventually('its alarm cleared', () =>
      ofRule(receiver?.received ?? [], 'hopper_temp_high', 'dc-02').find((r) => r.event.type === 'alarm.cleared'),
    );
    expect(cleared.event.data.alarm.state).toBe('cleared');
    // its silence rule (9 s) would have gone off after every restart, with no reading able to end it
    await new Promise((resolve) => setTimeout(resolve, SILENCE_MS + 2_000));
    expect(ofRule(receiver.received, 'device_silent', 'dc-02')).toEqual([]);
  }, 90_000);
});
