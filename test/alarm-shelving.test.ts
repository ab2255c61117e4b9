import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('shelving-test-secret-32-bytes-ok').toString('base64')}`;
const DISPATCHER = 'test-dispatcher-token-01';
const tokens = [
  ...Object.entries(TOKENS).map(([role, token]) => ({ name: `test-${role}`, role, token })),
  { name: 'test-dispatcher', role: 'dispatcher', token: DISPATCHER },
];

interface Delivered {
  type: string;
  device: string;
  rule: string;
  state: string;
  severity: string;
  seq: number;
  shelved: unknown;
}

describe('shelving and maintenance windows, end to end (issue 15)', () => {
  let gateway: TestGateway | null = null;
  let receiver: WebhookReceiver | null = null;
  const devices: MqttClient[] = [];
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.endAsync();
    await gateway?.close();
    await receiver?.close();
    gateway = null;
    receiver = null;
  });

  const start = async (dataDir: string): Promise<TestGateway> => {
    receiver ??= await startWebhookReceiver(SECRET);
    gateway = await startTestGateway({
      overrides: {
        dataDir,
        influx: { mode: 'off' },
        api: { tokens },
        webhooks: [{ id: 'platform', url: receiver.url, secrets: [SECRET], retryBaseDelay: 30, retryMaxDelay: 200 }],
      },
    });
    return gateway;
  };
  const delivered = (): Delivered[] =>
    (receiver?.received ?? []).map((r) => ({
      type: r.event.type,
      device: r.event.data.alarm.device,
      rule: r.event.data.alarm.rule,
      state: r.event.data.alarm.state,
      severity: r.event.data.alarm.severity,
      seq: r.event.data.alarm.seq,
      shelved: r.event.data.alarm.shelved,
    }));
  const hopper = async (running: TestGateway, device: string, value: number): Promise<void> => {
    let client = devices.find((d) => d.options.clientId === device);
    if (!client) {
      client = await connectDevice(running.mqttUrl, { clientId: device, username: device, password: `secret-${device}` });
      devices.push(client);
    }
    await publishJson(client, telemetryTopicOf('site-a', device), { ts: Date.now(), metrics: { hopper_temp: value } });
  };

  it('a device under maintenance: its transitions go to the history, not the webhook; a restart keeps the window; at its end alarm.unshelved and the current state', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-shelving-'));
    let running = await start(dataDir);
    const declared = await api(running, '/api/shelves', {
      token: TOKENS.operator,
      body: { by: 'Wang Li', scope: 'device', device: 'dc-01', reason: 'filter bags replaced (WO 4711)', durationMinutes: 30 },
    });
    expect(declared.status).toBe(201);
    const shelf = declared.body.shelf;
    expect(shelf).toMatchObject({ scope: 'device', site: 'site-a', device: 'dc-01', by: 'Wang Li', holdsRed: false, endedAt: null });
    expect(Date.parse(shelf.until) - Date.parse(shelf.from)).toBe(30 * 60_000);

    await hopper(running, 'dc-01', 65);
    const alarm = await eventually('the held alarm', async () => (await api(running, '/api/alarms?device=dc-01')).body.alarms[0]);
    await hopper(running, 'dc-01', 75);
    await eventually('escalated', async () =>
      (await api(running, `/api/alarms/${alarm.id}`)).body.alarm.severity === 'orange' ? true : undefined,
    );
    // the other device is not under maintenance: its raise reaches the receiver, and dc-01's did not before it
    await hopper(running, 'dc-02', 65);
    await eventually('dc-02 delivered', () => delivered().find((d) => d.device === 'dc-02'));
    await running.settle();
    expect(delivered().filter((d) => d.device === 'dc-01')).toEqual([]);
    const during = (await api(running, `/api/alarms/${alarm.id}`, { token: TOKENS.viewer })).body;
    expect(during.alarm).toMatchObject({
      state: 'active',
      severity: 'orange',
      shelved: { shelf: shelf.id, scope: 'device', reason: shelf.reason },
    });
    expect(during.history.map((s: { type: string; held?: string }) => [s.type, s.held])).toEqual([
      ['alarm.raised', shelf.id],
      ['alarm.escalated', shelf.id],
    ]);

    // a restart in the middle of the window keeps it, and its expiry still fires
    await running.close();
    running = await start(dataDir);
    expect((await api(running, '/api/shelves', { token: TOKENS.viewer })).body.shelves.map((s: { id: string }) => s.id)).toEqual([
      shelf.id,
    ]);
    running.tick(Date.parse(shelf.until) - 1);
    await running.settle();
    expect(delivered().filter((d) => d.device === 'dc-01')).toEqual([]);
    running.tick(Date.parse(shelf.until));
    const after = await eventually('the end of the window delivered', () => {
      const mine = delivered().filter((d) => d.device === 'dc-01' && d.rule === 'hopper_temp_high');
      return mine.length >= 2 ? mine : undefined;
    });
    expect(after).toEqual([
      { type: 'alarm.unshelved', device: 'dc-01', rule: 'hopper_temp_high', state: 'active', severity: 'orange', seq: 3, shelved: null },
      { type: 'alarm.raised', device: 'dc-01', rule: 'hopper_temp_high', state: 'active', severity: 'orange', seq: 4, shelved: null },
    ]);
    const ended = (await api(running, '/api/shelves?state=all', { token: TOKENS.viewer })).body.shelves[0];
    expect(ended).toMatchObject({ id: shelf.id, endedAt: new Date(Date.parse(shelf.until)).toISOString(), endedBy: null });
    expect((await api(running, '/api/shelves', { token: TOKENS.viewer })).body.count).toBe(0);
    const audit = (await api(running, '/api/audit?action=shelf.create', { token: DISPATCHER })).body.entries;
    expect(audit).toMatchObject([
      {
        action: 'shelf.create',
        actor: 'test-operator',
        by: 'Wang Li',
        note: 'filter bags replaced (WO 4711)',
        outcome: 'ok',
        target: shelf.id,
      },
    ]);
  });

  it('a red alarm is shelved only by a dispatcher; while shelved its clear is held; unshelve shows it cleared', async () => {
    const running = await start(mkdtempSync(join(tmpdir(), 'gateway-shelving-')));
    await hopper(running, 'dc-01', 85);
    const alarm = await eventually('the red alarm', async () => (await api(running, '/api/alarms')).body.alarms[0]);
    expect(alarm.severity).toBe('red');
    // 85 °C crosses yellow and orange on the way: one transition each
    const raisedSeq = alarm.seq as number;
    const body = { by: 'Wang Li', reason: 'thermocouple replaced, reading wrong', durationMinutes: 60 };
    const refused = await api(running, `/api/alarms/${alarm.id}/shelve`, { token: TOKENS.operator, body });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('shelve_requires_dispatcher');
    expect((await api(running, `/api/alarms/${alarm.id}`)).body.alarm.shelved).toBeUndefined();

    const shelved = await api(running, `/api/alarms/${alarm.id}/shelve`, { token: DISPATCHER, body: { ...body, by: 'Li Na' } });
    expect(shelved.status).toBe(200);
    expect(shelved.body.alarm).toMatchObject({ seq: raisedSeq + 1, shelved: { scope: 'alarm', by: 'Li Na', reason: body.reason } });
    await eventually('alarm.shelved delivered', () => delivered().find((d) => d.type === 'alarm.shelved'));

    await hopper(running, 'dc-01', 40);
    await eventually('cleared in the history', async () =>
      (await api(running, `/api/alarms/${alarm.id}`)).body.alarm.state === 'cleared' ? true : undefined,
    );
    await hopper(running, 'dc-02', 65);
    await eventually('dc-02 delivered', () => delivered().find((d) => d.device === 'dc-02'));
    await running.settle();
    const mine = () => delivered().filter((d) => d.device === 'dc-01');
    expect(mine().length).toBe(raisedSeq + 1);
    expect(mine().at(-1)?.type).toBe('alarm.shelved');

    const unshelved = await api(running, `/api/alarms/${alarm.id}/unshelve`, {
      token: TOKENS.operator,
      body: { by: 'Wang Li', note: 'fixed' },
    });
    expect(unshelved.status).toBe(200);
    await eventually('unshelved and cleared delivered', () => (mine().length === raisedSeq + 3 ? true : undefined));
    // the clear (seq raisedSeq + 2) was held: it is in the history, and shows after the shelf as alarm.cleared
    expect(
      mine()
        .slice(-3)
        .map((d) => [d.type, d.state, d.seq]),
    ).toEqual([
      ['alarm.shelved', 'active', raisedSeq + 1],
      ['alarm.unshelved', 'cleared', raisedSeq + 3],
      ['alarm.cleared', 'cleared', raisedSeq + 4],
    ]);
    const history = (await api(running, `/api/alarms/${alarm.id}`)).body.history;
    expect(history.find((step: { seq: number }) => step.seq === raisedSeq + 2)).toMatchObject({
      type: 'alarm.cleared',
      held: expect.stringMatching(/^shf_/),
    });
    const audit = (await api(running, `/api/audit?target=${alarm.id}`, { token: DISPATCHER })).body.entries;
    expect(audit.map((e: { action: string; outcome: string }) => [e.action, e.outcome])).toEqual([
      ['alarm.unshelve', 'ok'],
      ['alarm.shelve', 'ok'],
      ['alarm.shelve', 'shelve_requires_dispatcher'],
    ]);
  });

  it('refuses bad windows with precise codes', async () => {
    const running = await start(mkdtempSync(join(tmpdir(), 'gateway-shelving-')));
    const post = (body: Record<string, unknown>) =>
      api(running, '/api/shelves', { token: TOKENS.operator, body: { by: 'Wang Li', reason: 'r', ...body } });
    const codeOf = async (body: Record<string, unknown>) => {
      const answer = await post(body);
      return [answer.status, answer.body.error?.code];
    };
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(await codeOf({ scope: 'device', device: 'dc-01', until: past })).toEqual([422, 'shelf_window_invalid']);
    expect(await codeOf({ scope: 'device', device: 'dc-01', durationMinutes: 8 * 24 * 60 })).toEqual([422, 'shelf_too_long']);
    expect(await codeOf({ scope: 'device', device: 'dc-77', durationMinutes: 10 })).toEqual([404, 'device_not_found']);
    expect(await codeOf({ scope: 'device', device: 'dc-01', site: 'site-b', durationMinutes: 10 })).toEqual([422, 'shelf_window_invalid']);
    expect(await codeOf({ scope: 'site', site: 'site-z', durationMinutes: 10 })).toEqual([404, 'site_not_found']);
    expect(
      await codeOf({ scope: 'site', site: 'site-a', durationMinutes: 10, until: new Date(Date.now() + 60_000).toISOString() }),
    ).toEqual([400, 'validation_failed']);
    expect(await codeOf({ scope: 'device', durationMinutes: 10 })).toEqual([400, 'validation_failed']);
    expect(await codeOf({ scope: 'site', site: 'site-a', from: new Date(Date.now() + 3_600_000).toISOString(), until: past })).toEqual([
      422,
      'shelf_window_invalid',
    ]);
    expect(
      (await api(running, '/api/alarms/alm_nope/shelve', { token: TOKENS.operator, body: { by: 'x', reason: 'r', durationMinutes: 5 } }))
        .status,
    ).toBe(404);
    // a viewer may not declare one
    expect(
      (
        await api(running, '/api/shelves', {
          token: TOKENS.viewer,
          body: { by: 'x', reason: 'r', scope: 'site', site: 'site-a', durationMinutes: 5 },
        })
      ).status,
    ).toBe(403);

    const ok = await post({ scope: 'site', site: 'site-a', durationMinutes: 10 });
    expect(ok.status).toBe(201);
    const end = () =>
      api(running, `/api/shelves/${ok.body.shelf.id}/end`, { token: TOKENS.operator, body: { by: 'Wang Li', note: 'done' } });
    expect((await end()).status).toBe(200);
    const again = await end();
    expect([again.status, again.body.error.code]).toEqual([409, 'shelf_ended']);
    expect((await api(running, '/api/shelves/shf_nope', { token: TOKENS.viewer })).status).toBe(404);
  });
});
