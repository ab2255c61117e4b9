import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { type RobotReceiver, startDingtalkReceiver, startWecomReceiver } from './helpers/robot-receivers.js';
import { api, eventually, metricValue, startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const STANDARD_SECRET = `whsec_${Buffer.from('escalation-test-secret-32-bytes!').toString('base64')}`;
const WECOM_KEY = '5b1e3f0a-2c4d-4e6f-8a9b-0c1d2e3f4a5b';
const DINGTALK_TOKEN = '9f8e7d6c5b4a39281706f5e4';
const DINGTALK_SECRET = 'SEC0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const MIN = 60_000;
const RED = 'red-unacknowledged';

/**
 * The standard receiver takes escalation steps by its filter of types, like any other event; the plant manager's
 * DingTalk robot only blue alarms, the dispatchers' WeCom robot only a site that does not exist: a step must reach the
 * robots it names whatever their filters say, and only those.
 */
function configWith(receivers: { platform: WebhookReceiver; manager: RobotReceiver; dispatch: RobotReceiver }, handling: object) {
  return {
    influx: { mode: 'off' },
    webhooks: [
      {
        id: 'platform',
        url: receivers.platform.url,
        secrets: [STANDARD_SECRET],
        retryBaseDelay: 20,
        filter: { types: ['alarm.raised', 'alarm.escalated', 'alarm.acknowledged', 'alarm.chased', 'alarm.overdue'] },
      },
      {
        id: 'manager-dingtalk',
        kind: 'dingtalk',
        url: `${receivers.manager.url}?access_token=${DINGTALK_TOKEN}`,
        secret: DINGTALK_SECRET,
        retryBaseDelay: 20,
        filter: { severities: ['blue'] },
      },
      {
        id: 'dispatch-wecom',
        kind: 'wecom',
        url: `${receivers.dispatch.url}?key=${WECOM_KEY}`,
        retryBaseDelay: 20,
        filter: { sites: ['site-nowhere'] },
      },
    ],
    handling,
  };
}

const redPolicy = {
  deadline: { enabled: false },
  escalation: [
    {
      id: RED,
      match: { severities: ['red'] },
      steps: [
        { after: '5m', unless: 'acknowledged', notify: { subscribers: ['manager-dingtalk'], users: ['zhang.wei'] } },
        { after: '15m', unless: 'acknowledged', notify: { subscribers: ['dispatch-wecom'] }, assign: 'li.na' },
      ],
    },
  ],
};

/** A red hopper alarm on `device`, raised now by a real MQTT device; returns it as the API shows it. */
async function redAlarm(gateway: TestGateway, device: 'dc-01' | 'dc-02'): Promise<any> {
  const client = await connectDevice(gateway.mqttUrl, { clientId: device, username: device, password: `secret-${device}` });
  await publishJson(client, telemetryTopicOf('site-a', device), { ts: Date.now(), metrics: { hopper_temp: 85 } });
  await client.endAsync();
  return eventually(`the red alarm of ${device}`, async () =>
    ((await api(gateway, '/api/alarms')).body.alarms as any[]).find((a) => a.device === device && a.severity === 'red'),
  );
}

const historyOf = async (gateway: TestGateway, id: string): Promise<any> => (await api(gateway, `/api/alarms/${id}`)).body;
const chasedAt = (receiver: WebhookReceiver, alarmId: string): any[] =>
  receiver.received.map((r) => r.event).filter((e) => e.type === 'alarm.chased' && e.data.alarm.id === alarmId);
const cardsAbout = (robot: RobotReceiver, alarmId: string): string[] =>
  robot
    .accepted()
    .map((r) => (r.body.markdown.text ?? r.body.markdown.content) as string)
    .filter((text) => text.includes(alarmId));

describe('escalation when nobody acts (handling.escalation, alarm.chased)', () => {
  let platform: WebhookReceiver;
  let manager: RobotReceiver;
  let dispatch: RobotReceiver;
  let gateway: TestGateway | null = null;

  beforeAll(async () => {
    platform = await startWebhookReceiver(STANDARD_SECRET);
    manager = await startDingtalkReceiver(DINGTALK_TOKEN, DINGTALK_SECRET);
    dispatch = await startWecomReceiver(WECOM_KEY);
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = null;
  });
  afterAll(async () => {
    for (const receiver of [platform, manager, dispatch]) await receiver?.close();
  });

  it('a red alarm not acknowledged in 5 min chases the named DingTalk robot (its filter notwithstanding) and the standard stream; at 15 min the WeCom robot', async () => {
    gateway = await startTestGateway({ overrides: configWith({ platform, manager, dispatch }, redPolicy) });
    const running = gateway;
    const alarm = await redAlarm(running, 'dc-01');
    const raisedAt = Date.parse(alarm.raisedAt);

    // before it is due: nothing, and the API says what comes when
    running.tick(raisedAt + 5 * MIN - 1);
    let detail = await historyOf(running, alarm.id);
    expect(detail.history.map((s: any) => s.type)).not.toContain('alarm.chased');
    expect(detail.escalation).toEqual({
      policy: RED,
      stepsDone: 0,
      steps: 2,
      next: { step: 1, condition: 'not_acknowledged', dueAt: new Date(raisedAt + 5 * MIN).toISOString(), waitsFor: 'acknowledged' },
    });

    running.tick(raisedAt + 5 * MIN);
    const [step1] = await eventually('step 1 at the standard receiver', () => {
      const events = chasedAt(platform, alarm.id);
      return events.length > 0 ? events : undefined;
    });
    expect(step1.data.alarm.chase).toEqual({
      policy: RED,
      step: 1,
      condition: 'not_acknowledged',
      dueAt: new Date(raisedAt + 5 * MIN).toISOString(),
      notify: { subscribers: ['manager-dingtalk'], users: ['zhang.wei'] },
    });
    expect(step1.data.alarm).toMatchObject({ id: alarm.id, severity: 'red', acknowledged: false });
    const [card] = await eventually('step 1 at the manager’s DingTalk robot', () => {
      const cards = cardsAbout(manager, alarm.id);
      return cards.length > 0 ? cards : undefined;
    });
    expect(card).toContain('告警催办');
    expect(card).toContain(`催办：第 1 步（${RED}）：无人确认；通知 zhang.wei`);
    expect(cardsAbout(dispatch, alarm.id)).toEqual([]);

    detail = await historyOf(running, alarm.id);
    const chased = detail.history.filter((s: any) => s.type === 'alarm.chased');
    expect(chased).toHaveLength(1);
    expect(chased[0].note).toBe(`step 1 of ${RED}: not acknowledged 5 min after it was raised; notifies manager-dingtalk, zhang.wei`);
    expect(detail.escalation.stepsDone).toBe(1);
    expect(detail.escalation.next).toMatchObject({ step: 2, dueAt: new Date(raisedAt + 15 * MIN).toISOString() });

    // ticks in between fire nothing more
    running.tick(raisedAt + 10 * MIN);
    running.tick(raisedAt + 15 * MIN);
    await eventually('step 2 at the dispatchers’ WeCom robot', () => (cardsAbout(dispatch, alarm.id).length === 1 ? true : undefined));
    expect(cardsAbout(dispatch, alarm.id)[0]).toContain(`第 2 步（${RED}）：无人确认；分派给 li.na`);
    // step 2 assigned the alarm: the alarm says so, the event too
    expect((await historyOf(running, alarm.id)).alarm).toMatchObject({ assignee: 'li.na', chase: { step: 2, assignee: 'li.na' } });
    await running.settle();
    expect(chasedAt(platform, alarm.id).map((e) => e.data.alarm.chase.step)).toEqual([1, 2]);
    // step 2 names only the WeCom robot: the manager's robot got step 1 alone
    expect(cardsAbout(manager, alarm.id)).toHaveLength(1);
    expect((await historyOf(running, alarm.id)).escalation).toMatchObject({ stepsDone: 2, next: null });
    expect(
      metricValue(await running.metricsText(), 'gateway_alarm_chase_steps_total', { policy: RED, condition: 'not_acknowledged' }),
    ).toBe(2);
  });

  it('acknowledged before 5 min: no step for that alarm, while the one nobody acknowledged is chased', async () => {
    gateway = await startTestGateway({ overrides: configWith({ platform, manager, dispatch }, redPolicy) });
    const running = gateway;
    const handled = await redAlarm(running, 'dc-01');
    const ignored = await redAlarm(running, 'dc-02');
    expect((await api(running, `/api/alarms/${handled.id}/ack`, { body: { by: 'Wang Li', note: 'on my way' } })).status).toBe(200);
    expect((await historyOf(running, handled.id)).escalation.next).toBeNull();

    const latest = Math.max(Date.parse(handled.raisedAt), Date.parse(ignored.raisedAt));
    running.tick(latest + 20 * MIN);
    await eventually('the unacknowledged alarm chased twice', () => (chasedAt(platform, ignored.id).length === 2 ? true : undefined));
    await running.settle();
    expect(chasedAt(platform, handled.id)).toEqual([]);
    expect(cardsAbout(manager, handled.id)).toEqual([]);
    expect(cardsAbout(dispatch, handled.id)).toEqual([]);
    expect((await historyOf(running, handled.id)).history.map((s: any) => s.type)).not.toContain('alarm.chased');
  });

  it('a restart between steps repeats none and fires the one that fell due meanwhile', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-escalation-'));
    const overrides = { ...configWith({ platform, manager, dispatch }, redPolicy), dataDir };
    gateway = await startTestGateway({ overrides });
    const alarm = await redAlarm(gateway, 'dc-01');
    const raisedAt = Date.parse(alarm.raisedAt);
    gateway.tick(raisedAt + 6 * MIN);
    const first = gateway;
    await eventually('step 1 delivered', () => (cardsAbout(manager, alarm.id).length === 1 ? true : undefined));
    await first.settle();
    await gateway.close();

    gateway = await startTestGateway({ overrides });
    const restarted = gateway;
    expect((await historyOf(restarted, alarm.id)).escalation).toMatchObject({ stepsDone: 1, next: { step: 2 } });
    restarted.tick(raisedAt + 6 * MIN + 1);
    restarted.tick(raisedAt + 30 * MIN);
    await eventually('step 2 after the restart', () => (cardsAbout(dispatch, alarm.id).length === 1 ? true : undefined));
    await restarted.settle();
    const steps = (await historyOf(restarted, alarm.id)).history.filter((s: any) => s.type === 'alarm.chased');
    expect(steps.map((s: any) => s.note.slice(0, 6))).toEqual(['step 1', 'step 2']);
    expect(chasedAt(platform, alarm.id).map((e) => e.data.alarm.chase.step)).toEqual([1, 2]);
    expect(cardsAbout(manager, alarm.id)).toHaveLength(1);
  });

  it('an alarm overdue at the same-day deadline is chased by the step on overdue, after alarm.overdue', async () => {
    // a deadline twelve hours away in Beijing, so the gateway's own clock never reaches it during the test
    const at = new Date(Date.now() + 20 * 3_600_000).toISOString().slice(11, 16);
    const handling = {
      deadline: { enabled: true, timeZone: 'Asia/Shanghai', at },
      escalation: [{ id: 'late', steps: [{ on: 'overdue', notify: { subscribers: ['dispatch-wecom'], users: ['li.na'] } }] }],
    };
    gateway = await startTestGateway({ overrides: configWith({ platform, manager, dispatch }, handling) });
    const running = gateway;
    const alarm = await redAlarm(running, 'dc-02');
    const deadline = Date.parse(alarm.deadline);
    expect((await historyOf(running, alarm.id)).escalation.next).toEqual({
      step: 1,
      condition: 'overdue',
      dueAt: alarm.deadline,
      waitsFor: 'resolved',
    });
    running.tick(deadline - 1);
    running.tick(deadline);
    const card = await eventually('the overdue step at the WeCom robot', () => cardsAbout(dispatch, alarm.id)[0]);
    expect(card).toContain('告警催办');
    expect(card).toContain('第 1 步（late）：处置超时；通知 li.na');
    const types = (await historyOf(running, alarm.id)).history.map((s: any) => s.type);
    expect(types.slice(-2)).toEqual(['alarm.overdue', 'alarm.chased']);
    await running.settle();
    const [event] = chasedAt(platform, alarm.id);
    expect(event.data.alarm).toMatchObject({ overdue: true, chase: { policy: 'late', step: 1, condition: 'overdue' } });
  });

  it("on the gateway's own clock: a policy for one site chases its alarm after 300 ms, an alarm of another site is not chased", async () => {
    const handling = {
      deadline: { enabled: false },
      escalation: [
        { id: 'site-a-fast', match: { sites: ['site-a'] }, steps: [{ after: '300ms', notify: { subscribers: ['manager-dingtalk'] } }] },
      ],
    };
    gateway = await startTestGateway({ overrides: configWith({ platform, manager, dispatch }, handling) });
    const running = gateway;
    const client = await connectDevice(running.mqttUrl, { clientId: 'dc-09', username: 'dc-09', password: 'secret-dc-09' });
    await publishJson(client, telemetryTopicOf('site-b', 'dc-09'), { ts: Date.now(), metrics: { hopper_temp: 85 } });
    await client.endAsync();
    const other = await eventually('the site-b alarm', async () =>
      ((await api(running, '/api/alarms?site=site-b')).body.alarms as any[]).find((a) => a.severity === 'red'),
    );
    const alarm = await redAlarm(running, 'dc-01');
    // no manual tick: the ticker fires the step
    const [card] = await eventually('the step at the DingTalk robot', () => {
      const cards = cardsAbout(manager, alarm.id);
      return cards.length > 0 ? cards : undefined;
    });
    expect(card).toContain('第 1 步（site-a-fast）：无人确认');
    // the site-b alarm is older than the site-a one and has waited longer than 300 ms: no policy takes it
    await running.settle();
    expect(chasedAt(platform, other.id)).toEqual([]);
    expect((await historyOf(running, other.id)).escalation).toBeUndefined();
    expect(chasedAt(platform, alarm.id)).toHaveLength(1);
  });
});
