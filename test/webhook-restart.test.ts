import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { DUST_DEVICES, eventually, TOKENS } from './helpers/test-gateway.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('restart-test-secret-32-bytes-ok!').toString('base64')}`;

/** The gateway's config: one subscriber (`subscriber` adds to it), no InfluxDB. */
const configLines = (url: string, subscriber: string): string[] => [
  'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
  'influx: { mode: off }',
  'webhooks:',
  `  - { id: platform, url: ${JSON.stringify(url)}, secrets: ["${SECRET}"], ${subscriber} }`,
];

async function call(gateway: GatewayProcess, path: string, method = 'GET'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${method === 'GET' ? TOKENS.viewer : TOKENS.admin}` },
  });
  return { status: response.status, body: await response.json() };
}

const subscriberState = async (gateway: GatewayProcess) => (await call(gateway, '/api/webhooks')).body.subscribers[0];

/** A port nothing listens on now (a receiver that is down), where one can listen later. */
async function freePort(): Promise<number> {
  const probe = await startWebhookReceiver(SECRET);
  await probe.close();
  return Number(new URL(probe.url).port);
}

/** Hopper temperatures of one device, each reading ten minutes after the last (in the recent past). */
function hopperOf(device: MqttClient, id: string, site: string): (value: number) => Promise<void> {
  let clock = Date.now() - 12 * 3_600_000;
  return async (value) => {
    clock += 600_000;
    await publishJson(device, telemetryTopicOf(site, id), { ts: clock, metrics: { hopper_temp: value } }, 1);
  };
}

const hopperEvents = (received: ReceivedWebhook[]): ReceivedWebhook[] =>
  received.filter((r) => r.event.data.alarm.rule === 'hopper_temp_high');

describe('webhook outbox survives restarts (contract §5: at least once, in seq order, across gateway restarts)', () => {
  let running: GatewayProcess | null = null;
  const receivers: WebhookReceiver[] = [];
  const devices: MqttClient[] = [];
  afterEach(async () => {
    for (const device of devices.splice(0)) device.end(true);
    await running?.stop();
    running = null;
    for (const receiver of receivers.splice(0)) await receiver.close();
  });

  const connect = async (gateway: GatewayProcess, index: number): Promise<MqttClient> => {
    const device = DUST_DEVICES[index] as (typeof DUST_DEVICES)[number];
    const client = await connectDevice(gateway.mqttUrls[0] as string, {
      username: device.id,
      password: device.secret,
      clientId: device.id,
    });
    devices.push(client);
    return client;
  };

  it('kill -9 while the receiver answers 500, SIGTERM while it is down: after it comes back every event arrives once, in seq order, with its first webhook-id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-webhook-restart-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hooks`;
    const config = await writeGatewayConfig(
      dir,
      DUST_DEVICES,
      configLines(url, 'maxAttempts: 50, retryBaseDelay: 200ms, retryMaxDelay: 1s'),
    );

    // First life: the receiver answers 500 to everything.
    const failing = await startWebhookReceiver(SECRET, port);
    receivers.push(failing);
    failing.respondWith(Array.from({ length: 10_000 }, () => 500));
    running = await startGatewayProcess(config);
    const dc01 = hopperOf(await connect(running, 0), 'dc-01', 'site-a');
    const dc02 = hopperOf(await connect(running, 1), 'dc-02', 'site-a');
    await dc01(65); // raised
    await dc01(75); // escalated
    await dc02(65); // raised
    await eventually('three events queued and the first of each alarm tried', async () => {
      const state = await subscriberState(running as GatewayProcess);
      const tried = new Set(hopperEvents(failing.received).map((r) => r.event.id));
      return state.queued >= 3 && tried.size >= 2 ? true : undefined;
    });
    running.child.kill('SIGKILL');
    expect(await running.exited).toBe('SIGKILL');
    for (const device of devices.splice(0)) device.end(true);
    const triedBefore = hopperEvents(failing.received);
    await failing.close();

    // Second life: the receiver is down (connection refused); it finds the three and queues two more.
    running = await startGatewayProcess(config);
    expect((await subscriberState(running)).queued).toBeGreaterThanOrEqual(3);
    const dc09 = hopperOf(await connect(running, 2), 'dc-09', 'site-b');
    await dc09(65); // raised
    await dc09(75); // escalated
    // (a restarted gateway on a machine the rest of the suite loads: 10 s was once not enough)
    await eventually(
      'five events queued',
      async () => ((await subscriberState(running as GatewayProcess)).queued >= 5 ? true : undefined),
      30_000,
    );
    for (const device of devices.splice(0)) device.end(true);
    await running.stop();
    expect(await running.exited).toBe(0);

    // Third life: the receiver is back.
    const back = await startWebhookReceiver(SECRET, port);
    receivers.push(back);
    running = await startGatewayProcess(config);
    await eventually(
      'the outbox emptied',
      async () => {
        const state = await subscriberState(running as GatewayProcess);
        return state.queued === 0 && state.inFlight === 0 && hopperEvents(back.received).length >= 5 ? true : undefined;
      },
      30_000,
    );
    const delivered = hopperEvents(back.received);
    expect(back.received.every((r) => r.verified)).toBe(true);
    // Each event once (nothing succeeded before), so a receiver de-duplicating by webhook-id sees each once too.
    expect(delivered.map((r) => r.headers['webhook-id'])).toEqual(delivered.map((r) => r.event.id));
    expect(new Set(delivered.map((r) => r.event.id)).size).toBe(delivered.length);
    // Every alarm's events, in seq order.
    const perDevice = (device: string) =>
      delivered.filter((r) => r.event.data.alarm.device === device).map((r) => [r.event.type, r.event.data.alarm.seq]);
    expect(perDevice('dc-01')).toEqual([
      ['alarm.raised', 1],
      ['alarm.escalated', 2],
    ]);
    expect(perDevice('dc-02')).toEqual([['alarm.raised', 1]]);
    expect(perDevice('dc-09')).toEqual([
      ['alarm.raised', 1],
      ['alarm.escalated', 2],
    ]);
    // What was tried before the kill came again with the same webhook-id and the same body.
    for (const before of triedBefore) {
      const after = delivered.find((r) => r.headers['webhook-id'] === before.headers['webhook-id']);
      expect(after?.body, String(before.headers['webhook-id'])).toBe(before.body);
    }
  }, 120_000);

  it('maxQueued bounds what waits in the store (the oldest is dead-lettered, queue_full), store.deadLetters.max the dead letters (the oldest forgotten); both outlive a kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-webhook-restart-'));
    const port = await freePort();
    const config = await writeGatewayConfig(dir, DUST_DEVICES, [
      ...configLines(`http://127.0.0.1:${port}/hooks`, 'maxQueued: 1, maxAttempts: 50, retryBaseDelay: 200ms, retryMaxDelay: 1s'),
      'store: { deadLetters: { max: 1 } }',
    ]);
    running = await startGatewayProcess(config); // the receiver is down
    const dc01 = hopperOf(await connect(running, 0), 'dc-01', 'site-a');
    await dc01(65); // raised: pushed out by the second, then its dead letter by the next one
    await dc01(75); // escalated: pushed out by the third
    await dc01(40); // cleared
    const letters = await eventually('the second dead-lettered, the first forgotten', async () => {
      const { body } = await call(running as GatewayProcess, '/api/webhooks/dead-letters');
      return body.deadLetters[0]?.event.type === 'alarm.escalated' ? body.deadLetters : undefined;
    });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'queue_full', event: { type: 'alarm.escalated' } });
    expect((await subscriberState(running)).queued).toBe(1);
    running.child.kill('SIGKILL');
    await running.exited;
    for (const device of devices.splice(0)) device.end(true);

    const back = await startWebhookReceiver(SECRET, port);
    receivers.push(back);
    running = await startGatewayProcess(config);
    await eventually('the one that waited', () => (hopperEvents(back.received).length >= 1 ? true : undefined));
    expect((await call(running, '/api/webhooks/dead-letters')).body.deadLetters).toEqual(letters);
    expect((await call(running, `/api/webhooks/dead-letters/${letters[0].id}/replay`, 'POST')).status).toBe(202);
    await eventually('the replayed one', () => (hopperEvents(back.received).length >= 2 ? true : undefined));
    expect(hopperEvents(back.received).map((r) => r.event.type)).toEqual(['alarm.cleared', 'alarm.escalated']);
  }, 120_000);

  it('the retry count continues after a restart, honouring a Retry-After given before it; an attempt in flight at SIGTERM is made again as the same attempt (the third, not the first or a fourth); a dead letter survives a restart and is replayed after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-webhook-restart-'));
    const receiver = await startWebhookReceiver(SECRET);
    receivers.push(receiver);
    const config = await writeGatewayConfig(
      dir,
      DUST_DEVICES,
      configLines(receiver.url, 'maxAttempts: 3, retryBaseDelay: 50ms, retryMaxDelay: 100ms, timeout: 60s'),
    );
    receiver.respondWith([500, { status: 503, headers: { 'retry-after': '3' } }, 'hang']);
    running = await startGatewayProcess(config);
    const dc01 = hopperOf(await connect(running, 0), 'dc-01', 'site-a');
    await dc01(65); // raised
    await eventually('two failed attempts', async () =>
      (await subscriberState(running as GatewayProcess)).failedAttempts === 2 ? true : undefined,
    );
    running.child.kill('SIGKILL');
    await running.exited;
    for (const device of devices.splice(0)) device.end(true);

    // The third attempt waits out the Retry-After given before the restart; the receiver holds it, and the gateway
    // gets SIGTERM while it is in flight (issue 13: "a delivery waiting for its third attempt is dropped at SIGTERM").
    running = await startGatewayProcess(config);
    await eventually(
      'the third attempt, held by the receiver',
      () => (hopperEvents(receiver.received).length === 3 ? true : undefined),
      20_000,
    );
    const held = hopperEvents(receiver.received);
    expect((held[2] as ReceivedWebhook).at - (held[1] as ReceivedWebhook).at).toBeGreaterThanOrEqual(3_000);
    receiver.respondWith([500]);
    await running.stop();
    expect(await running.exited).toBe(0);

    // The third attempt again, once, and it is the last (maxAttempts 3): its 500 dead-letters the event.
    running = await startGatewayProcess(config);
    const letters = await eventually(
      'a dead letter',
      async () => {
        const { body } = await call(running as GatewayProcess, '/api/webhooks/dead-letters');
        return body.count === 1 ? body.deadLetters : undefined;
      },
      20_000,
    );
    expect(letters[0]).toMatchObject({
      subscriber: 'platform',
      attempts: 3,
      reason: 'exhausted',
      lastError: 'gave up after 3 attempts: HTTP 500',
    });
    const attempts = hopperEvents(receiver.received);
    expect(attempts).toHaveLength(4); // 500, 503, the one cut short by SIGTERM, and the same third attempt again
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(new Set([letters[0].event.id]));
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);

    // The dead letter outlives a restart (SIGTERM this time) and is replayed after it, same id and body.
    await running.stop();
    running = await startGatewayProcess(config);
    const kept = (await call(running, '/api/webhooks/dead-letters')).body;
    expect(kept.deadLetters).toEqual(letters);
    const replay = await call(running, `/api/webhooks/dead-letters/${letters[0].id}/replay`, 'POST');
    expect(replay.status).toBe(202);
    await eventually('the replayed delivery', () => (hopperEvents(receiver.received).length === 5 ? true : undefined));
    const replayed = hopperEvents(receiver.received)[4] as ReceivedWebhook;
    expect(replayed.headers['webhook-id']).toBe(letters[0].event.id);
    expect(replayed.body).toBe((attempts[0] as ReceivedWebhook).body);
    expect(replayed.verified).toBe(true);
    expect((await call(running, '/api/webhooks/dead-letters')).body.count).toBe(0);
  }, 120_000);

  it('a receiver that answers 500, then 429 with Retry-After, then hangs, across SIGTERM and kill -9 with attempts in flight: once it recovers every event arrives once, in seq order per alarm, with its webhook-id from before; a subscriber disabled by 410 stays disabled until an admin enables it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-webhook-restart-'));
    const flaky = await startWebhookReceiver(SECRET);
    const gone = await startWebhookReceiver(SECRET); // 410 once, then it would take everything (204)
    receivers.push(flaky, gone);
    const config = await writeGatewayConfig(dir, DUST_DEVICES, [
      ...configLines(flaky.url, 'maxAttempts: 50, retryBaseDelay: 200ms, retryMaxDelay: 1s, timeout: 60s'),
      `  - { id: legacy, url: ${JSON.stringify(gone.url)}, secrets: ["${SECRET}"] }`,
    ]);
    const stateOf = async (gateway: GatewayProcess, id: string) =>
      (await call(gateway, '/api/webhooks')).body.subscribers.find((s: { id: string }) => s.id === id);
    flaky.respondWith([500, { status: 429, headers: { 'retry-after': '2' } }, ...Array.from({ length: 100 }, () => 'hang' as const)]);
    gone.respondWith([410]);

    // First life: the raised event gets 500, 429 (Retry-After 2 s), then a third attempt the receiver holds.
    running = await startGatewayProcess(config);
    const dc01 = hopperOf(await connect(running, 0), 'dc-01', 'site-a');
    const dc02 = hopperOf(await connect(running, 1), 'dc-02', 'site-a');
    await dc01(65); // raised
    await eventually('the raised event held on its third attempt', () => (flaky.received.length === 3 ? true : undefined), 20_000);
    const raised = flaky.received[0] as ReceivedWebhook;
    expect(flaky.received.map((r) => r.event.id)).toEqual([raised.event.id, raised.event.id, raised.event.id]);
    expect((flaky.received[2] as ReceivedWebhook).at - (flaky.received[1] as ReceivedWebhook).at).toBeGreaterThanOrEqual(2_000);
    const disabled = await eventually('legacy disabled by its 410', async () => {
      const legacy = await stateOf(running as GatewayProcess, 'legacy');
      return legacy.enabled === false ? legacy : undefined;
    });
    expect(disabled).toMatchObject({ disabledReason: 'receiver answered 410 Gone' });
    expect(Date.parse(disabled.disabledAt)).toBeGreaterThan(Date.now() - 60_000);
    await dc01(75); // escalated: waits behind the raised event of its alarm
    await dc02(65); // raised (another alarm): the receiver holds it too
    await eventually('the second alarm held', async () =>
      flaky.received.length === 4 && (await stateOf(running as GatewayProcess, 'platform')).queued === 3 ? true : undefined,
    );
    const escalatedNotSent = flaky.received.every((r) => r.event.data.alarm.seq === 1);
    expect(escalatedNotSent).toBe(true);
    for (const device of devices.splice(0)) device.end(true);
    await running.stop(); // SIGTERM with two attempts in flight
    expect(await running.exited).toBe(0);
    const firstLife = [...flaky.received];

    // Second life: the receiver still holds everything; legacy is still disabled; kill -9 with three in flight.
    running = await startGatewayProcess(config);
    expect(await stateOf(running, 'legacy')).toMatchObject({
      enabled: false,
      disabledReason: disabled.disabledReason,
      disabledAt: disabled.disabledAt,
    });
    const dc09 = hopperOf(await connect(running, 2), 'dc-09', 'site-b');
    await dc09(65); // raised (a third alarm)
    const secondLifeFrom = firstLife.length;
    await eventually('the three alarms held again', () =>
      new Set(flaky.received.slice(secondLifeFrom).map((r) => r.event.data.alarm.id)).size === 3 ? true : undefined,
    );
    for (const device of devices.splice(0)) device.end(true);
    running.child.kill('SIGKILL');
    expect(await running.exited).toBe('SIGKILL');
    const beforeRecovery = [...flaky.received];

    // Third life: the receiver recovers.
    flaky.respondWith([]);
    running = await startGatewayProcess(config);
    await eventually(
      'the outbox emptied',
      async () => {
        const state = await stateOf(running as GatewayProcess, 'platform');
        return state.queued === 0 && state.inFlight === 0 && flaky.received.length >= beforeRecovery.length + 4 ? true : undefined;
      },
      30_000,
    );
    const delivered = flaky.received.slice(beforeRecovery.length);
    expect(flaky.received.every((r) => r.verified)).toBe(true);
    expect(delivered.map((r) => r.headers['webhook-id'])).toEqual(delivered.map((r) => r.event.id));
    expect(new Set(delivered.map((r) => r.event.id)).size).toBe(4); // each event once
    const perDevice = (device: string) =>
      delivered.filter((r) => r.event.data.alarm.device === device).map((r) => [r.event.type, r.event.data.alarm.seq]);
    expect(perDevice('dc-01')).toEqual([
      ['alarm.raised', 1],
      ['alarm.escalated', 2],
    ]);
    expect(perDevice('dc-02')).toEqual([['alarm.raised', 1]]);
    expect(perDevice('dc-09')).toEqual([['alarm.raised', 1]]);
    // Every event tried before a restart (held at SIGTERM or kill -9 included) came again with that webhook-id and body.
    const triedBefore = new Map(beforeRecovery.map((r) => [r.headers['webhook-id'], r.body]));
    expect(triedBefore.size).toBe(3);
    for (const [webhookId, body] of triedBefore) {
      expect(delivered.find((r) => r.headers['webhook-id'] === webhookId)?.body, String(webhookId)).toBe(body);
    }
    expect(flaky.received.filter((r) => r.event.id === raised.event.id)).toHaveLength(5); // 500, 429, held (SIGTERM), held (kill -9), 204

    // legacy: still disabled after both restarts; only the 410 reached it; every event kept in the outbox, none lost.
    expect(await stateOf(running, 'legacy')).toMatchObject({ enabled: false, disabledAt: disabled.disabledAt, queued: 4 });
    expect(gone.received).toHaveLength(1);
    expect((await call(running, '/api/webhooks/dead-letters')).body.deadLetters).toEqual([]);
    // An admin enables it: what waited arrives (the 410'd event again first), in seq order per alarm, then new events.
    const enabled = await call(running, '/api/webhooks/legacy/enable', 'POST');
    expect(enabled.status).toBe(200);
    expect(enabled.body.subscriber).toMatchObject({ id: 'legacy', enabled: true, disabledReason: null, disabledAt: null });
    await eventually('what waited at legacy', () => (gone.received.length === 5 ? true : undefined));
    expect(new Set(gone.received.slice(1).map((r) => r.event.id))).toEqual(new Set(delivered.map((r) => r.event.id)));
    expect(gone.received[1]?.headers['webhook-id']).toBe(gone.received[0]?.headers['webhook-id']);
    const byAlarm = new Map<string, number[]>();
    for (const r of gone.received.slice(1))
      byAlarm.set(r.event.data.alarm.id, [...(byAlarm.get(r.event.data.alarm.id) ?? []), r.event.data.alarm.seq]);
    for (const seqs of byAlarm.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await hopperOf(await connect(running, 2), 'dc-09', 'site-b')(40); // cleared
    await eventually('the cleared event at legacy', () => (gone.received.length === 6 ? true : undefined));
    expect((gone.received[5] as ReceivedWebhook).event).toMatchObject({ type: 'alarm.cleared', data: { alarm: { device: 'dc-09' } } });
  }, 120_000);
});
