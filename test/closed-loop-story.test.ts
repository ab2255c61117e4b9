import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../simulators/src/index.js';
import { playScaled } from '../simulators/src/run/play-scaled.js';
import { BROWSER_WAIT, launchChromium } from './console/chromium.js';
import { parseCsv } from './helpers/csv.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { type RobotReceiver, startDingtalkReceiver, startWecomReceiver } from './helpers/robot-receivers.js';
import { api, eventually, startTestGateway, type TestDevice, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * Issue 15's story, end to end on one alarm, through the contract and real parts only: a simulator raises a red
 * alarm; the dispatcher assigns it; nobody acknowledges, so the escalation policy chases it (the plant manager's
 * DingTalk robot); the gateway restarts; the operator acknowledges; the same-day deadline passes (the gateway's
 * timers driven to it) and the overdue step notifies the WeCom group; the operator resolves it with a disposal
 * record; it is exported. Each step is checked where a user would see it: the API and the alarm's history, the
 * platform's signed webhook stream, the robots, the audit log and its CSV. A viewer may act on nothing, and a
 * device under maintenance shows its transitions when the window ends. (The console's side of the same story:
 * test/console/.)
 */
const SECRET = `whsec_${Buffer.from('closed-loop-story-secret-32bytes').toString('base64')}`;
const WECOM_KEY = 'story-wecom-key-0001';
const DINGTALK_TOKEN = 'story-dingtalk-token-0001';
const DINGTALK_SECRET = 'SECstory0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
const PASSWORD = 'correct horse battery';
const USERS = [
  { name: 'li.na', role: 'dispatcher' },
  { name: 'wang.li', role: 'operator' },
  { name: 'zhao.min', role: 'viewer' },
] as const;
const DEVICES: TestDevice[] = [
  { id: 'dc-01', site: 'plant-a', profile: 'dust-collector', secret: 'sim-secret-dc-01' },
  { id: 'dc-02', site: 'plant-a', profile: 'dust-collector', secret: 'sim-secret-dc-02' },
];
/** A deadline time twelve hours away in Beijing: only the driven ticks reach it. */
const DEADLINE_AT = new Date(Date.now() + 8 * 3_600_000 + 12 * 3_600_000).toISOString().slice(11, 16);
const DISPOSAL = {
  cause: '磨削线火花进入除尘管道',
  measures: 'spark arrestor cleaned, grinding line guard refitted, ducts inspected',
  responsible: 'wang.li',
  attachment: 'https://wo.example.org/orders/5120',
};

interface Step {
  type: string;
  by?: string | null;
  held?: string;
}

describe('closed-loop handling, the whole story on one alarm (issue 15)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-story-'));
  let gateway: TestGateway;
  let platform: WebhookReceiver;
  let wecom: RobotReceiver;
  let dingtalk: RobotReceiver;
  const tokenOf: Record<string, string> = {};
  let alarmId = '';
  let raisedAt = 0;
  let deadline = 0;
  let maintenanceDevice: MqttClient | null = null;

  const start = async (): Promise<TestGateway> =>
    startTestGateway({
      devices: DEVICES,
      overrides: {
        dataDir,
        influx: { mode: 'off' },
        handling: {
          requireDisposal: true,
          deadline: { enabled: true, timeZone: 'Asia/Shanghai', at: DEADLINE_AT },
          escalation: [
            {
              id: 'red-unacknowledged',
              match: { severities: ['red'] },
              steps: [
                { after: '30m', notify: { subscribers: ['manager-dingtalk'], users: ['li.na'] } },
                { on: 'overdue', notify: { subscribers: ['duty-wecom'] } },
              ],
            },
          ],
        },
        webhooks: [
          { id: 'platform', url: platform.url, secrets: [SECRET], retryBaseDelay: 50, retryMaxDelay: 200 },
          // both robots are filtered to blue: only the chase steps that name them reach them
          {
            id: 'manager-dingtalk',
            kind: 'dingtalk',
            url: `${dingtalk.url}?access_token=${DINGTALK_TOKEN}`,
            secret: DINGTALK_SECRET,
            filter: { severities: ['blue'] },
            consoleUrl: 'https://gateway.example.org',
          },
          { id: 'duty-wecom', kind: 'wecom', url: `${wecom.url}?key=${WECOM_KEY}`, filter: { severities: ['blue'] } },
        ],
      },
    });
  const delivered = (): Array<{ type: string; seq: number }> =>
    platform.received.filter((r) => r.event.data.alarm.id === alarmId).map((r) => ({ type: r.event.type, seq: r.event.data.alarm.seq }));
  const history = async (): Promise<Step[]> => (await api(gateway, `/api/alarms/${alarmId}`, { token: TOKENS.viewer })).body.history;
  const auditOf = async (): Promise<Array<{ action: string; actor: string; outcome: string; detail: { route?: string } | null }>> =>
    (await api(gateway, `/api/audit?target=${alarmId}`, { token: tokenOf['li.na'] })).body.entries.reverse();

  beforeAll(async () => {
    platform = await startWebhookReceiver(SECRET);
    wecom = await startWecomReceiver(WECOM_KEY);
    dingtalk = await startDingtalkReceiver(DINGTALK_TOKEN, DINGTALK_SECRET);
    gateway = await start();
    for (const user of USERS) {
      const created = await api(gateway, '/api/users', { body: { name: user.name, role: user.role, password: PASSWORD } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const login = await fetch(`${gateway.httpUrl}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: user.name, password: PASSWORD }),
      });
      expect(login.status).toBe(200);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const issued = await fetch(`${gateway.httpUrl}/api/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, origin: gateway.httpUrl },
        body: JSON.stringify({ label: 'story' }),
      });
      expect(issued.status).toBe(201);
      tokenOf[user.name] = ((await issued.json()) as { token: string }).token;
    }
  });
  afterAll(async () => {
    await maintenanceDevice?.endAsync();
    await gateway?.close();
    await Promise.all([platform?.close(), wecom?.close(), dingtalk?.close()]);
  });

  it('a simulator raises the red alarm; it reaches the platform, not the robots filtered away from it', async () => {
    const scenario = loadScenario('dust-collector-burst');
    const played = await playScaled({
      url: gateway.mqttUrl,
      scenario,
      secretOf: (id) => `sim-secret-${id}`,
      speed: Number.POSITIVE_INFINITY,
    });
    expect(played.errors).toBe(0);
    await gateway.settle();
    const red = await eventually(
      'the red spark-burst alarm',
      async () => (await api(gateway, '/api/alarms?device=dc-01&severity=red', { token: TOKENS.viewer })).body.alarms[0],
    );
    expect(red).toMatchObject({ site: 'plant-a', device: 'dc-01', rule: 'spark_burst', acknowledged: false });
    alarmId = red.id;
    // the scenario's readings are played at once, from its start: late, so its handling counts from their arrival
    raisedAt = Date.parse(red.reportedAt ?? red.raisedAt);
    deadline = Date.parse(red.deadline);
    expect(deadline).toBeGreaterThan(raisedAt);
    await eventually('the raise at the platform', () => (delivered().some((d) => d.type === 'alarm.raised') ? true : undefined));
    expect(dingtalk.requests).toEqual([]);
    expect(wecom.requests).toEqual([]);
  });

  it('the dispatcher assigns it; an operator may not; a viewer may do nothing', async () => {
    const assign = { to: 'wang.li', note: 'spark arrestor on the grinding line' };
    expect((await api(gateway, `/api/alarms/${alarmId}/assign`, { token: tokenOf['wang.li'], body: assign })).status).toBe(403);
    const assigned = await api(gateway, `/api/alarms/${alarmId}/assign`, { token: tokenOf['li.na'], body: assign });
    expect(assigned.status).toBe(200);
    expect(assigned.body.alarm).toMatchObject({ assignee: 'wang.li' });
    for (const action of ['ack', 'resolve', 'assign', 'shelve'])
      expect(
        (
          await api(gateway, `/api/alarms/${alarmId}/${action}`, {
            token: tokenOf['zhao.min'],
            body: { to: 'x', reason: 'x', disposal: DISPOSAL },
          })
        ).status,
        `a viewer's ${action}`,
      ).toBe(403);
    await eventually('the assignment at the platform', () => (delivered().some((d) => d.type === 'alarm.assigned') ? true : undefined));
  });

  it('nobody acknowledges within 30 minutes: the chase step notifies the manager’s DingTalk robot, once, also across a restart', async () => {
    gateway.tick(raisedAt + 30 * 60_000 - 1);
    await gateway.settle();
    expect(dingtalk.requests).toEqual([]);
    gateway.tick(raisedAt + 30 * 60_000);
    const [card] = await eventually('the chase at the DingTalk robot', () =>
      dingtalk.accepted().length > 0 ? dingtalk.accepted() : undefined,
    );
    expect(card?.body.markdown.text).toContain('催办');
    expect(card?.body.markdown.text).toContain(`https://gateway.example.org/#/alarms/${alarmId}`);
    const chased = (await api(gateway, `/api/alarms/${alarmId}`, { token: TOKENS.viewer })).body;
    expect(chased.alarm.chase).toMatchObject({ policy: 'red-unacknowledged', step: 1, condition: 'not_acknowledged' });
    expect(chased.escalation).toMatchObject({ policy: 'red-unacknowledged', stepsDone: 1 });

    await gateway.close();
    gateway = await start();
    gateway.tick(raisedAt + 45 * 60_000);
    await gateway.settle();
    expect(dingtalk.requests).toHaveLength(1);
    expect((await history()).filter((s) => s.type === 'alarm.chased')).toHaveLength(1);
  });

  it('the operator acknowledges; the deadline passes unresolved: overdue once, and the overdue step notifies the WeCom group', async () => {
    const acked = await api(gateway, `/api/alarms/${alarmId}/ack`, { token: tokenOf['wang.li'], body: { note: 'on my way' } });
    expect(acked.status).toBe(200);
    expect(acked.body.alarm).toMatchObject({ acknowledged: true, acknowledgedBy: 'wang.li' });
    gateway.tick(deadline);
    const [card] = await eventually('the overdue step at the WeCom robot', () =>
      wecom.accepted().length > 0 ? wecom.accepted() : undefined,
    );
    expect(card?.body.markdown.content).toContain('催办');
    gateway.tick(deadline + 60_000);
    await gateway.settle();
    expect(wecom.requests).toHaveLength(1);
    const alarm = (await api(gateway, `/api/alarms/${alarmId}`, { token: TOKENS.viewer })).body.alarm;
    expect(alarm).toMatchObject({ overdue: true, chase: { step: 2, condition: 'overdue' } });
  });

  it('resolving needs the disposal record; with it the alarm closes, and the record is in the event, the export and the audit log', async () => {
    const bare = await api(gateway, `/api/alarms/${alarmId}/resolve`, { token: tokenOf['wang.li'], body: { note: 'done' } });
    expect(bare.status).toBe(422);
    expect(bare.body.error.code).toBe('disposal_required');
    const resolved = await api(gateway, `/api/alarms/${alarmId}/resolve`, { token: tokenOf['wang.li'], body: { disposal: DISPOSAL } });
    expect(resolved.status).toBe(200);
    expect(resolved.body.alarm).toMatchObject({ resolvedBy: 'wang.li', disposal: DISPOSAL, overdue: true });

    // the platform saw every step of the alarm once, in seq order with no gap
    const steps = await eventually('the resolve at the platform', () => {
      const seen = delivered();
      return seen.some((d) => d.type === 'alarm.resolved') ? seen : undefined;
    });
    const unique = [...new Map(steps.map((s) => [s.seq, s])).values()];
    expect(unique.map((s) => s.seq)).toEqual(unique.map((_, i) => i + 1));
    expect(unique.map((s) => s.type)).toEqual((await history()).map((s) => s.type));
    expect(unique.map((s) => s.type)).toEqual(
      expect.arrayContaining(['alarm.raised', 'alarm.assigned', 'alarm.chased', 'alarm.acknowledged', 'alarm.overdue', 'alarm.resolved']),
    );

    const csv = await fetch(`${gateway.httpUrl}/api/alarms.csv?state=resolved&device=dc-01&severity=red`, {
      headers: { authorization: `Bearer ${tokenOf['li.na']}` },
    });
    expect(csv.status).toBe(200);
    const [columns = [], cells = [], ...rest] = parseCsv((await csv.text()).replace(/^\uFEFF/, ''));
    expect(rest).toEqual([]);
    const cellOf = (name: string): string | undefined => cells[columns.indexOf(name)];
    expect([cellOf('id'), cellOf('resolvedBy'), cellOf('assignee'), cellOf('overdue'), cellOf('cause')]).toEqual([
      alarmId,
      'wang.li',
      'wang.li',
      'true',
      DISPOSAL.cause,
    ]);

    const audit = await auditOf();
    expect(audit.map((e) => [e.action, e.actor, e.outcome, e.detail?.route ?? null])).toEqual([
      ['access.forbidden', 'wang.li', 'forbidden', '/api/alarms/:id/assign'],
      ['alarm.assign', 'li.na', 'ok', null],
      ['access.forbidden', 'zhao.min', 'forbidden', '/api/alarms/:id/ack'],
      ['access.forbidden', 'zhao.min', 'forbidden', '/api/alarms/:id/resolve'],
      ['access.forbidden', 'zhao.min', 'forbidden', '/api/alarms/:id/assign'],
      ['access.forbidden', 'zhao.min', 'forbidden', '/api/alarms/:id/shelve'],
      ['alarm.ack', 'wang.li', 'ok', null],
      ['alarm.resolve', 'wang.li', 'disposal_required', null],
      ['alarm.resolve', 'wang.li', 'ok', null],
    ]);
  });

  it('the console tells the same story: the alarm page lists every step in Chinese with the disposal record; a viewer gets no action', async () => {
    const browser = await launchChromium();
    try {
      const pageOf = async (name: string): Promise<Page> => {
        const context = await browser.newContext({ timezoneId: 'Asia/Shanghai', locale: 'zh-CN', viewport: { width: 1366, height: 768 } });
        const page = await context.newPage();
        await page.goto(gateway.httpUrl);
        await page.getByLabel('用户名').fill(name);
        await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
        await page.locator('#login-form').getByRole('button').click();
        await page.locator('#connection[data-state="connected"]').waitFor(BROWSER_WAIT);
        await page.goto(`${gateway.httpUrl}/#/alarms/${alarmId}`);
        await page.locator('#alarm-history li').first().waitFor(BROWSER_WAIT);
        return page;
      };
      const dispatcher = await pageOf('li.na');
      const steps = (await dispatcher.locator('#alarm-history li').allInnerTexts()).join('\n');
      for (const word of ['分派', '催办', '确认', '超期', '处置关闭']) expect(steps, `the history shows ${word}`).toContain(word);
      expect(await dispatcher.locator('body').innerText()).toContain(DISPOSAL.cause);
      expect(await dispatcher.locator('.detail-actions button').count(), 'a resolved alarm offers no action').toBe(0);

      const viewer = await pageOf('zhao.min');
      expect(await viewer.locator('#user-role').textContent()).toBe('查看员');
      expect(await viewer.locator('button', { hasText: /确认|处置|分派|搁置/ }).count()).toBe(0);
    } finally {
      await browser.close();
    }
  });

  it('a device under maintenance: its alarm is held during the window and shows, with its history, when the window ends', async () => {
    const window = await api(gateway, '/api/shelves', {
      token: tokenOf['wang.li'],
      body: { scope: 'device', device: 'dc-02', reason: 'filter bags replaced (WO 5121)', durationMinutes: 60 },
    });
    expect(window.status).toBe(201);
    const shelf = window.body.shelf;
    maintenanceDevice = await connectDevice(gateway.mqttUrl, { clientId: 'dc-02', username: 'dc-02', password: 'sim-secret-dc-02' });
    await publishJson(maintenanceDevice, telemetryTopicOf('plant-a', 'dc-02'), { ts: Date.now(), metrics: { hopper_temp: 75 } });
    // (dc-02 went silent while the ticks ran to the deadline: that alarm, raised before the window, is not held)
    const hopperOf = (r: { event: { data: { alarm: { device: string; rule: string } } } }) =>
      r.event.data.alarm.device === 'dc-02' && r.event.data.alarm.rule === 'hopper_temp_high';
    const held = await eventually('the held alarm', async () =>
      (await api(gateway, '/api/alarms?device=dc-02', { token: TOKENS.viewer })).body.alarms.find(
        (a: { rule: string }) => a.rule === 'hopper_temp_high',
      ),
    );
    await gateway.settle();
    expect(platform.received.filter(hopperOf)).toEqual([]);
    gateway.tick(Date.parse(shelf.until));
    const shown = await eventually('the alarm at the end of the window', () => {
      const types = platform.received.filter((r) => r.event.data.alarm.id === held.id).map((r) => r.event.type);
      return types.includes('alarm.unshelved') && types.includes('alarm.raised') ? types : undefined;
    });
    expect(shown).toEqual(['alarm.unshelved', 'alarm.raised']);
    const steps = (await api(gateway, `/api/alarms/${held.id}`, { token: TOKENS.viewer })).body.history as Step[];
    // 75 °C crosses yellow, then orange: both held; the window's end shows the alarm as it stands
    expect(steps.map((s) => [s.type, s.held ?? null])).toEqual([
      ['alarm.raised', shelf.id],
      ['alarm.escalated', shelf.id],
      ['alarm.unshelved', null],
      ['alarm.raised', null],
    ]);
  });
});
