import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('another-test-secret-32-bytes-ok!').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('the-previous-secret-being-rotated').toString('base64')}`;

describe('webhook delivery: retries, ordering, 410, dead letters (contract §5)', () => {
  let gateway: TestGateway | undefined;
  let receiver: WebhookReceiver | undefined;
  let device: MqttClient | undefined;
  afterEach(async () => {
    await device?.endAsync();
    await gateway?.close();
    await receiver?.close();
  });

  const start = async (subscriber: Record<string, unknown>): Promise<void> => {
    receiver = await startWebhookReceiver(SECRET);
    gateway = await startTestGateway({
      overrides: {
        webhooks: [{ id: 'platform', url: receiver.url, secrets: [SECRET], retryBaseDelay: 30, retryMaxDelay: 200, ...subscriber }],
      },
    });
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
  };
  let clock = Date.parse('2026-11-22T10:00:00Z');
  const hopper = async (value: number): Promise<void> => {
    clock += 600_000;
    await publishJson(device!, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, metrics: { hopper_temp: value } });
    await gateway!.settle(100);
  };

  it('retries 5xx and 429 (honouring Retry-After) with the same id, keeping seq order per alarm', async () => {
    await start({});
    receiver!.respondWith([503, { status: 429, headers: { 'retry-after': '1' } }, 500]);
    await hopper(65); // raised (yellow)
    await hopper(75); // escalated (orange)
    await hopper(40); // cleared
    const delivered = await eventually(
      'three events delivered after retries',
      () => {
        const ok = receiver!.received.slice(3);
        return ok.length >= 3 ? ok : undefined;
      },
      15_000,
    );
    const attempts = receiver!.received;
    // The first event was tried four times with one id, each attempt signed afresh.
    expect(new Set(attempts.slice(0, 4).map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(attempts.every((a) => a.verified)).toBe(true);
    const retryAfterGap = Number(attempts[2]!.headers['webhook-timestamp']) - Number(attempts[1]!.headers['webhook-timestamp']);
    expect(retryAfterGap).toBeGreaterThanOrEqual(1);
    // Delivered in seq order, each event once after success.
    const firstSuccessIndex = 3;
    const succeeded = attempts.slice(firstSuccessIndex).filter((a) => a.event.data.alarm.rule === 'hopper_temp_high');
    expect(succeeded.map((a) => [a.event.type, a.event.data.alarm.seq])).toEqual([
      ['alarm.raised', 1],
      ['alarm.escalated', 2],
      ['alarm.cleared', 3],
    ]);
    expect(delivered.length).toBeGreaterThanOrEqual(3);
    const state = (await api(gateway!, '/api/webhooks', { token: TOKENS.viewer })).body.subscribers[0];
    expect(state).toMatchObject({ id: 'platform', enabled: true, queued: 0, failedAttempts: 3 });
  });

  it('signs with every secret during key rotation', async () => {
    await start({ secrets: [SECRET, OLD_SECRET] });
    await hopper(65);
    await eventually('one delivery', () => (receiver!.received.length >= 1 ? true : undefined));
    const signatures = String(receiver!.received[0]!.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((s) => s.startsWith('v1,'))).toBe(true);
    expect(receiver!.received[0]!.verified).toBe(true);
  });

  it('dead-letters after maxAttempts, and an operator can inspect and replay', async () => {
    await start({ maxAttempts: 2 });
    receiver!.respondWith([500, 500]);
    await hopper(65);
    const letters = await eventually('a dead letter', async () => {
      const { body } = await api(gateway!, '/api/webhooks/dead-letters', { token: TOKENS.viewer });
      return body.count === 1 ? body.deadLetters : undefined;
    });
    expect(letters[0]).toMatchObject({ subscriber: 'platform', attempts: 2 });
    expect(letters[0].lastError).toContain('HTTP 500');
    expect(letters[0].event.type).toBe('alarm.raised');
    expect(
      (await api(gateway!, `/api/webhooks/dead-letters/${letters[0].id}/replay`, { token: TOKENS.operator, method: 'POST' })).status,
    ).toBe(403);
    expect((await api(gateway!, '/api/webhooks/dead-letters/dlq_nope/replay', { token: TOKENS.admin, method: 'POST' })).status).toBe(404);
    const replay = await api(gateway!, `/api/webhooks/dead-letters/${letters[0].id}/replay`, { token: TOKENS.admin, method: 'POST' });
    expect(replay.status).toBe(202);
    await eventually('the replayed delivery', () => (receiver!.received.length === 3 ? true : undefined));
    expect(receiver!.received[2]!.event.id).toBe(letters[0].event.id);
    expect((await api(gateway!, '/api/webhooks/dead-letters', { token: TOKENS.viewer })).body.count).toBe(0);
  });

  it('disables a subscriber that answers 410 Gone, and says so in /readyz', async () => {
    await start({});
    receiver!.respondWith([410]);
    await hopper(65);
    await hopper(75);
    await eventually('the subscriber disabled', async () => {
      const { body } = await api(gateway!, '/api/webhooks', { token: TOKENS.viewer });
      return body.subscribers[0].enabled === false ? true : undefined;
    });
    const ready = await api(gateway!, '/readyz', { token: null });
    expect(ready.body.checks.find((c: { name: string }) => c.name === 'webhooks').reason).toContain('platform');
    const letters = (await api(gateway!, '/api/webhooks/dead-letters', { token: TOKENS.viewer })).body.deadLetters;
    expect(letters.length).toBeGreaterThanOrEqual(1);
    expect(receiver!.received).toHaveLength(1);
  });
});
