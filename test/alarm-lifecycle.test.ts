import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmEventSchema } from '../rules/src/index.js';
import { queryInflux } from './helpers/influx-query.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { listenToAlarmStream, type SseListener } from './helpers/sse-listener.js';
import { api, eventually, LANE_THREADS, metricValue, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-long!!').toString('base64')}`;

describe.each(LANE_THREADS)('a threshold crossing, end to end (contract §4–§7) — lane.thread: %s', (thread) => {
  let gateway: TestGateway;
  let receiver: WebhookReceiver;
  let sse: SseListener;
  let device: MqttClient;
  let seq = 0;
  let clock = Date.parse('2026-11-22T08:00:00Z');

  const send = async (hopperTemp: number): Promise<void> => {
    seq += 1;
    clock += 600_000; // ten minutes apart: slow enough not to trip the hopper's rate-of-rise rule
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, seq, metrics: { hopper_temp: hopperTemp } });
    await gateway.settle();
  };
  // Only this rule's alarm: the profile has other rules (rate of rise, silence …) tested elsewhere.
  const RULE = 'hopper_temp_high';
  /**
   * Deliveries of this rule's events, one per `webhook-id`: under load an attempt can time out after the receiver
   * took it, and the retry is the same event (contract §5: at least once, receivers deduplicate by id). A repeated
   * id with a different body would be a second event under an old id: that fails here.
   */
  const hooks = () => {
    const first = new Map<string, (typeof receiver.received)[number]>();
    for (const r of receiver.received) {
      if (r.event.data.alarm.rule !== RULE) continue;
      const id = String(r.headers['webhook-id']);
      const seen = first.get(id);
      if (seen && seen.body !== r.body) throw new Error(`webhook-id ${id} delivered with two different bodies`);
      if (!seen) first.set(id, r);
    }
    return [...first.values()];
  };
  const streamed = () => sse.events.filter((e) => e.data.data.alarm.rule === RULE);
  const types = (): string[] => hooks().map((r) => r.event.type);

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
    gateway = await startTestGateway({
      thread,
      overrides: {
        webhooks: [{ id: 'regulator', url: receiver.url, secrets: [SECRET], retryBaseDelay: 20, filter: { sites: ['site-a'] } }],
      },
    });
    sse = listenToAlarmStream(gateway.httpUrl, TOKENS.viewer);
    await sse.ready;
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
  });
  afterAll(async () => {
    sse?.close();
    await device?.endAsync();
    await gateway?.close();
    await receiver?.close();
  });

  it('raises, escalates, holds in the hysteresis band, de-escalates and clears', async () => {
    await send(40);
    expect(types()).toEqual([]);

    const sentAt = Date.now();
    await send(61.2);
    await eventually('alarm.raised webhook', () => (hooks().length === 1 ? true : undefined));
    const waited = Date.now() - sentAt;
    // the gateway's own part of that wait, timed from the reading's arrival (not from its `ts`, days ago)
    const exposed = (await api(gateway, '/metrics')).body as string;
    expect(metricValue(exposed, 'gateway_alarm_decision_seconds_count')).toBe(1);
    expect(1000 * metricValue(exposed, 'gateway_alarm_decision_seconds_sum')).toBeLessThanOrEqual(waited);
    const raised = hooks()[0]!;
    expect(raised.verified).toBe(true);
    expect(raised.headers['webhook-id']).toBe(raised.event.id);
    expect(raised.headers['content-type']).toBe('application/json');
    expect(alarmEventSchema.safeParse(raised.event).success).toBe(true);
    expect(raised.event).toMatchObject({
      type: 'alarm.raised',
      data: {
        alarm: {
          key: 'site-a/dc-01/hopper_temp_high',
          seq: 1,
          site: 'site-a',
          device: 'dc-01',
          profile: 'dust-collector',
          rule: 'hopper_temp_high',
          severity: 'yellow',
          previousSeverity: null,
          state: 'active',
          acknowledged: false,
          metric: 'hopper_temp',
          value: 61.2,
          threshold: 60,
          unit: '°C',
          message: 'Hopper temperature 61.2 °C ≥ 60 °C',
          clearedAt: null,
        },
      },
    });

    await send(71);
    await send(69); // inside orange's band (clear 68): no change
    // 59 is below orange's clear and below yellow's raise (60) but above yellow's clear (58): the orange alarm
    // must drop to yellow, not clear — a value above yellow's raise would not tell the two apart.
    await send(59);
    await send(58.5); // still inside yellow's band: no change
    await eventually('three events', () => (hooks().length >= 3 ? true : undefined));
    expect(types()).toEqual(['alarm.raised', 'alarm.escalated', 'alarm.deescalated']);
    expect(hooks()[2]!.event.data.alarm).toMatchObject({ severity: 'yellow', previousSeverity: 'orange', value: 59, state: 'active' });
    await send(57.5);
    await eventually('alarm.cleared webhook', () => (hooks().length === 4 ? true : undefined));
    expect(types()).toEqual(['alarm.raised', 'alarm.escalated', 'alarm.deescalated', 'alarm.cleared']);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(receiver.received.length).toBeGreaterThanOrEqual(4);
    expect(hooks().map((r) => r.event.data.alarm.seq)).toEqual([1, 2, 3, 4]);
    expect(hooks().map((r) => r.event.data.alarm.severity)).toEqual(['yellow', 'orange', 'yellow', 'yellow']);
    expect(new Set(hooks().map((r) => r.event.data.alarm.id)).size).toBe(1);

    // The same events on the SSE stream, in order, with increasing cursors.
    await eventually('four SSE events', () => (streamed().length === 4 ? true : undefined));
    expect(streamed().map((e) => e.data.type)).toEqual(types());
    expect(streamed().map((e) => e.data.id)).toEqual(hooks().map((r) => r.event.id));
    const cursors = sse.events.map((e) => Number(e.id));
    expect(sse.events.map((e) => e.data.id)).toEqual(receiver.received.map((r) => r.event.id));
    expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
    expect(new Set(cursors).size).toBe(cursors.length);

    // In InfluxDB.
    const rows = await eventually('four alarm_events rows', async () => {
      const found = await queryInflux(gateway.database, `SELECT * FROM alarm_events WHERE "rule" = '${RULE}'`);
      return found.length === 4 ? found : undefined;
    });
    expect(rows.map((r) => [r.type, r.severity, r.seq, r.rule, r.site, r.device, r.profile])).toEqual([
      ['alarm.raised', 'yellow', 1, 'hopper_temp_high', 'site-a', 'dc-01', 'dust-collector'],
      ['alarm.escalated', 'orange', 2, 'hopper_temp_high', 'site-a', 'dc-01', 'dust-collector'],
      ['alarm.deescalated', 'yellow', 3, 'hopper_temp_high', 'site-a', 'dc-01', 'dust-collector'],
      ['alarm.cleared', 'yellow', 4, 'hopper_temp_high', 'site-a', 'dc-01', 'dust-collector'],
    ]);
    expect(rows[0].alarm_id).toBe(raised.event.data.alarm.id);
    expect(rows[0].value).toBe(61.2);
    expect(rows[0].threshold).toBe(60);
    expect(rows[0].message).toBe('Hopper temperature 61.2 °C ≥ 60 °C');

    // In the API.
    const open = await api(gateway, `/api/alarms?device=dc-01`, { token: TOKENS.viewer });
    expect(open.body.alarms.filter((a: { rule: string }) => a.rule === RULE)).toHaveLength(1);
    expect(open.body.alarms.length).toBe(new Set(receiver.received.map((r) => r.event.data.alarm.id)).size);
    expect(open.body.alarms.find((a: { rule: string }) => a.rule === RULE)).toMatchObject({ state: 'cleared', severity: 'yellow', seq: 4 });
    const active = (await api(gateway, '/api/alarms?state=active', { token: TOKENS.viewer })).body.alarms;
    expect(active.filter((a: { rule: string }) => a.rule === RULE)).toHaveLength(0);
  });

  it('acknowledges and resolves over the API with roles enforced, emitting events', async () => {
    const alarm = (await api(gateway, '/api/alarms?state=open', { token: TOKENS.viewer })).body.alarms.find(
      (a: { rule: string }) => a.rule === RULE,
    );
    expect((await api(gateway, `/api/alarms/${alarm.id}/ack`, { token: null, body: { by: 'x' } })).status).toBe(401);
    const forbidden = await api(gateway, `/api/alarms/${alarm.id}/ack`, { token: TOKENS.viewer, body: { by: 'viewer' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
    const invalid = await api(gateway, `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { note: 'no by' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
    expect(invalid.body.error.message).toContain('by');

    const ack = await api(gateway, `/api/alarms/${alarm.id}/ack`, {
      token: TOKENS.operator,
      body: { by: 'Wang Li (duty officer)', note: 'checking on site' },
    });
    expect(ack.status).toBe(200);
    expect(ack.body.alarm).toMatchObject({ acknowledged: true, acknowledgedBy: 'Wang Li (duty officer)', seq: 5 });
    expect((await api(gateway, `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { by: 'again' } })).body.error.code).toBe(
      'alarm_already_acknowledged',
    );

    const resolved = await api(gateway, `/api/alarms/${alarm.id}/resolve`, {
      token: TOKENS.operator,
      body: { by: 'Wang Li', note: 'cleaned hopper, restarted fan' },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.alarm).toMatchObject({ resolved: true, resolvedBy: 'Wang Li', seq: 6 });
    expect((await api(gateway, `/api/alarms/${alarm.id}/resolve`, { token: TOKENS.operator, body: { by: 'x' } })).status).toBe(409);

    await eventually('ack and resolve webhooks', () => (hooks().length === 6 ? true : undefined));
    expect(types().slice(4)).toEqual(['alarm.acknowledged', 'alarm.resolved']);
    await eventually('ack and resolve on SSE', () => (streamed().length === 6 ? true : undefined));
    expect(
      streamed()
        .slice(4)
        .map((e) => e.data.type),
    ).toEqual(['alarm.acknowledged', 'alarm.resolved']);

    const stillOpen = (await api(gateway, '/api/alarms', { token: TOKENS.viewer })).body.alarms;
    expect(stillOpen.some((a: { id: string }) => a.id === alarm.id)).toBe(false);
    const detail = await api(gateway, `/api/alarms/${alarm.id}`, { token: TOKENS.viewer });
    expect(detail.body.history.map((h: { type: string }) => h.type)).toEqual([
      'alarm.raised',
      'alarm.escalated',
      'alarm.deescalated',
      'alarm.cleared',
      'alarm.acknowledged',
      'alarm.resolved',
    ]);
    expect((await api(gateway, '/api/alarms/alm_nope', { token: TOKENS.viewer })).status).toBe(404);
  });

  it('refuses to resolve an alarm whose condition is still active', async () => {
    await send(75);
    const [active] = await eventually('a new active alarm', async () => {
      const { body } = await api(gateway, '/api/alarms?state=active', { token: TOKENS.viewer });
      const mine = body.alarms.filter((a: { rule: string }) => a.rule === RULE);
      return mine.length === 1 ? mine : undefined;
    });
    const refused = await api(gateway, `/api/alarms/${active.id}/resolve`, { token: TOKENS.operator, body: { by: 'Wang Li' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('alarm_still_active');
  });

  it('replays missed events to an SSE client that resumes with Last-Event-ID', async () => {
    const cleared = sse.events.find((e) => e.data.type === 'alarm.cleared' && e.data.data.alarm.rule === RULE)!;
    const late = listenToAlarmStream(gateway.httpUrl, TOKENS.viewer, cleared.id);
    await late.ready;
    const expected = sse.events.slice(sse.events.indexOf(cleared) + 1);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    await eventually('replayed events', () => (late.events.length >= expected.length ? true : undefined));
    expect(late.events.map((e) => [e.id, e.data.id])).toEqual(expected.map((e) => [e.id, e.data.id]));
    // The new alarm at 75 °C may come as raised alone or raised then escalated (one event per level crossed).
    const replayedTypes = late.events.filter((e) => e.data.data.alarm.rule === RULE).map((e) => e.data.type);
    expect(replayedTypes.slice(0, 3)).toEqual(['alarm.acknowledged', 'alarm.resolved', 'alarm.raised']);
    expect(replayedTypes.slice(3).every((type) => type === 'alarm.escalated')).toBe(true);
    late.close();
  });
});

describe('the live feed for a client that has received nothing yet', () => {
  it('hands out a resumable cursor at once, so a reconnect misses nothing', async () => {
    const gateway = await startTestGateway({ overrides: { influx: { mode: 'off' } } });
    try {
      const response = await fetch(`${gateway.httpUrl}/api/alarms/stream`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      const first = new TextDecoder().decode(value);
      const cursor = /^id: (\d+)$/m.exec(first)?.[1];
      expect(cursor).toBeDefined();
      await reader.cancel();

      const device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hopper_temp: 85 } });
      await gateway.settle();
      await device.endAsync();

      const resumed = listenToAlarmStream(gateway.httpUrl, TOKENS.viewer, cursor);
      await resumed.ready;
      await eventually('the missed raise', () =>
        resumed.events.some((e) => e.data.data.alarm.rule === 'hopper_temp_high') ? true : undefined,
      );
      resumed.close();
    } finally {
      await gateway.close();
    }
  });
});
