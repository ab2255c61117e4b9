import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { type RobotReceiver, type RobotRequest, startDingtalkReceiver, startWecomReceiver } from './helpers/robot-receivers.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const STANDARD_SECRET = `whsec_${Buffer.from('im-notifications-secret-32-bytes').toString('base64')}`;
const WECOM_KEY = '693a91f6-7e2c-4bc4-97a0-0ec2sifa5aaa';
const DINGTALK_TOKEN = '566cc69da782ec5f3a0f2b1c';
const DINGTALK_SECRET = 'SECb7c0e8a1d2f34e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0';
const CONSOLE = 'https://gw.example.cn/duty';
const RULE = 'hopper_temp_high';
const RATE_LIMIT_DELAY = 500;

/** The instant on the clock in Asia/Shanghai (UTC+8, no daylight saving), computed here independently. */
const shanghai = (iso: string): string => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');

describe('WeCom and DingTalk group-robot notifications (real gateway, real MQTT, receivers that check like the services)', () => {
  let gateway: TestGateway;
  let platform: WebhookReceiver;
  let wecomAll: RobotReceiver;
  let wecomSiteB: RobotReceiver;
  let dingtalkAll: RobotReceiver;
  let dingtalkRed: RobotReceiver;
  const devices: MqttClient[] = [];
  let clock = Date.now() - 3 * 3_600_000;

  beforeAll(async () => {
    platform = await startWebhookReceiver(STANDARD_SECRET);
    wecomAll = await startWecomReceiver(WECOM_KEY);
    wecomSiteB = await startWecomReceiver(WECOM_KEY);
    dingtalkAll = await startDingtalkReceiver(DINGTALK_TOKEN, DINGTALK_SECRET);
    dingtalkRed = await startDingtalkReceiver(DINGTALK_TOKEN, DINGTALK_SECRET);
    wecomAll.rateLimitNext(1);
    const robot = { retryBaseDelay: 20, rateLimitDelay: RATE_LIMIT_DELAY, consoleUrl: CONSOLE };
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        webhooks: [
          { id: 'platform', url: platform.url, secrets: [STANDARD_SECRET], retryBaseDelay: 20 },
          { id: 'wecom-all', kind: 'wecom', url: `${wecomAll.url}?key=${WECOM_KEY}`, ...robot },
          { id: 'wecom-site-b', kind: 'wecom', url: `${wecomSiteB.url}?key=${WECOM_KEY}`, filter: { sites: ['site-b'] }, ...robot },
          {
            id: 'dingtalk-all',
            kind: 'dingtalk',
            url: `${dingtalkAll.url}?access_token=${DINGTALK_TOKEN}`,
            secret: DINGTALK_SECRET,
            ...robot,
          },
          {
            id: 'dingtalk-red',
            kind: 'dingtalk',
            url: `${dingtalkRed.url}?access_token=${DINGTALK_TOKEN}`,
            secret: DINGTALK_SECRET,
            filter: { severities: ['red'] },
            ...robot,
          },
        ],
      },
    });
    devices.push(await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' }));
    devices.push(await connectDevice(gateway.mqttUrl, { username: 'dc-09', password: 'secret-dc-09', clientId: 'dc-09' }));

    const hopper = async (device: 0 | 1, value: number): Promise<void> => {
      clock += 600_000;
      const [site, id] = device === 0 ? ['site-a', 'dc-01'] : ['site-b', 'dc-09'];
      await publishJson(devices[device]!, telemetryTopicOf(site, id), { ts: clock, metrics: { hopper_temp: value } });
      await gateway.settle(100);
    };
    await hopper(0, 65); // site-a: raised yellow
    await hopper(0, 85); // site-a: escalated orange, escalated red
    await hopper(1, 75); // site-b: raised yellow, escalated orange
    await eventually('the five hopper events at the standard receiver', () => (hopperEvents().length === 5 ? true : undefined));
    await gateway.webhooks.idle(10_000);
  });
  afterAll(async () => {
    for (const device of devices) await device.endAsync();
    await gateway?.close();
    for (const receiver of [platform, wecomAll, wecomSiteB, dingtalkAll, dingtalkRed]) await receiver?.close();
  });

  /** The hopper alarm's events as the Standard Webhooks receiver got them: the reference for every robot. */
  const hopperEvents = (): any[] => platform.received.map((r) => r.event).filter((e) => e.data.alarm.rule === RULE);
  const SEVERITY: Record<string, string> = { blue: '蓝色告警', yellow: '黄色告警', orange: '橙色告警', red: '红色告警' };
  const TYPE: Record<string, string> = { 'alarm.raised': '告警产生', 'alarm.escalated': '告警升级' };
  const wecomContents = (receiver: RobotReceiver): string[] =>
    receiver
      .accepted()
      .map((r) => r.body.markdown.content as string)
      .filter((c) => c.includes(`规则：${RULE}`));
  const dingtalkCards = (receiver: RobotReceiver): Array<{ title: string; text: string }> =>
    receiver
      .accepted()
      .map((r) => r.body.markdown)
      .filter((m) => m.text.includes(`规则：${RULE}`));
  /** The one message about `event` (its alarm, severity and event type); fails if there is none, or more. */
  const messageAbout = <T>(messages: T[], text: (m: T) => string, event: any): T => {
    const { alarm } = event.data;
    const about = (m: T): boolean =>
      text(m).includes(`告警编号：${alarm.id}`) && text(m).includes(`${SEVERITY[alarm.severity]}</font> ${TYPE[event.type]}`);
    const found = messages.filter(about);
    expect(found, `${event.type} ${alarm.severity} ${alarm.site}`).toHaveLength(1);
    return found[0] as T;
  };

  it('every robot message passes the checks the services make (format, size, key, token, timestamp, signature)', () => {
    for (const receiver of [wecomAll, wecomSiteB, dingtalkAll, dingtalkRed])
      expect(receiver.refused().map((r) => `${r.errcode} ${r.errmsg}`)).toEqual([]);
    for (const request of [...wecomAll.requests, ...dingtalkAll.requests]) {
      expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(Object.keys(request.body)).toEqual(['msgtype', 'markdown']);
    }
  });

  it('WeCom gets a markdown card per event: severity, event, the Chinese message, site, device, value, threshold, Shanghai time, link', async () => {
    const events = hopperEvents();
    expect(events.map((e) => [e.type, e.data.alarm.severity, e.data.alarm.site])).toEqual([
      ['alarm.raised', 'yellow', 'site-a'],
      ['alarm.escalated', 'orange', 'site-a'],
      ['alarm.escalated', 'red', 'site-a'],
      ['alarm.raised', 'yellow', 'site-b'],
      ['alarm.escalated', 'orange', 'site-b'],
    ]);
    const contents = wecomContents(wecomAll);
    expect(contents).toHaveLength(events.length);
    const { body: alarms } = await api(gateway, '/api/alarms?state=all');
    for (const event of events) {
      const content = messageAbout(contents, (c) => c, event);
      const { alarm } = event.data;
      expect(alarm.messageZh).toMatch(/灰斗温度/);
      expect(content).toContain(`<font color="warning">${SEVERITY[alarm.severity]}</font> ${TYPE[event.type]}`);
      expect(content).toContain(`**${alarm.messageZh}**`);
      expect(content).toContain(`> 站点：${alarm.site}`);
      expect(content).toContain(`> 设备：${alarm.device}`);
      expect(content).toContain(`> 数值：<font color="warning">${alarm.value} °C</font>`);
      expect(content).toContain(`> 阈值：${alarm.threshold} °C`);
      expect(content).toContain(`> 时间：${shanghai(event.timestamp)}（北京时间）`);
      expect(content).toContain(`[查看告警详情](${CONSOLE}/#/alarms/${alarm.id})`);
      expect(alarms.alarms.map((a: { id: string }) => a.id)).toContain(alarm.id);
    }
    expect(messageAbout(contents, (c) => c, events[0])).toContain('> 数值：<font color="warning">65 °C</font>');
    expect(messageAbout(contents, (c) => c, events[2])).toContain('> 级别变化：橙色 → 红色');
    // One alarm's messages arrive in its seq order.
    const siteA = contents.filter((c) => c.includes('> 站点：site-a')).map((c) => c.match(/告警(产生|升级)/)?.[0]);
    expect(siteA).toEqual(['告警产生', '告警升级', '告警升级']);
  });

  it('a WeCom answer of errcode 45009 (rate limit, HTTP 200) is retried after the wait, with the same bytes, and nothing is lost', () => {
    const [limited, ...rest] = wecomAll.requests as [RobotRequest, ...RobotRequest[]];
    expect(limited.errcode).toBe(45009);
    const retry = rest.find((r) => r.rawBody === limited.rawBody);
    expect(retry?.errcode).toBe(0);
    // The rate limit holds the whole robot: nothing went out during the wait.
    for (const later of rest) expect(later.at - limited.at).toBeGreaterThanOrEqual(RATE_LIMIT_DELAY - 20);
    expect(wecomAll.accepted()).toHaveLength(wecomAll.requests.length - 1);
    expect(new Set(wecomAll.accepted().map((r) => r.rawBody)).size).toBe(wecomAll.accepted().length);
  });

  it('DingTalk gets a signed markdown card per event, its title in the chat list', () => {
    const events = hopperEvents();
    const cards = dingtalkCards(dingtalkAll);
    expect(cards.map((c) => c.title).sort()).toEqual(
      [
        '【黄色告警】site-a dc-01 告警产生',
        '【橙色告警】site-a dc-01 告警升级',
        '【红色告警】site-a dc-01 告警升级',
        '【黄色告警】site-b dc-09 告警产生',
        '【橙色告警】site-b dc-09 告警升级',
      ].sort(),
    );
    for (const event of events) {
      const { alarm } = event.data;
      const text = messageAbout(cards, (c) => c.text, event).text;
      expect(text).toContain(`**${alarm.messageZh}**`);
      expect(text).toContain(`站点：${alarm.site}`);
      expect(text).toContain(`数值：`);
      expect(text).toContain(`时间：${shanghai(event.timestamp)}（北京时间）`);
      expect(text).toContain(`[查看告警详情](${CONSOLE}/#/alarms/${alarm.id})`);
    }
    for (const request of dingtalkAll.requests)
      expect(Math.abs(request.at - Number(request.url.searchParams.get('timestamp')))).toBeLessThan(60_000);
  });

  it('routes by severity and site: the red-only robot gets the red escalation and no yellow or orange; the site-b robot only site-b', () => {
    expect(dingtalkCards(dingtalkRed).map((c) => c.title)).toEqual(['【红色告警】site-a dc-01 告警升级']);
    const siteB = wecomContents(wecomSiteB);
    expect(siteB.map((c) => c.split('\n')[0])).toEqual([
      '## <font color="warning">黄色告警</font> 告警产生',
      '## <font color="warning">橙色告警</font> 告警升级',
    ]);
    for (const content of siteB) expect(content).toContain('> 站点：site-b');
  });

  it("GET /api/webhooks shows each subscriber's kind and never the robot key or token", async () => {
    const { status, body } = await api(gateway, '/api/webhooks');
    expect(status).toBe(200);
    expect(body.subscribers.map((s: { id: string; kind: string }) => [s.id, s.kind])).toEqual([
      ['platform', 'standard'],
      ['wecom-all', 'wecom'],
      ['wecom-site-b', 'wecom'],
      ['dingtalk-all', 'dingtalk'],
      ['dingtalk-red', 'dingtalk'],
    ]);
    const text = JSON.stringify(body);
    expect(text).not.toContain(WECOM_KEY);
    expect(text).not.toContain(DINGTALK_TOKEN);
    expect(body.subscribers[1]).toMatchObject({
      url: `${wecomAll.url}?key=***`,
      failedAttempts: 1,
      lastError: 'WeCom errcode 45009: api freq out of limit',
    });
  });
});

describe('a DingTalk message waits in the durable outbox across a restart', () => {
  it('queued while DingTalk answered errors, it is sent by the next gateway: the same body, signed afresh', async () => {
    const robot = await startDingtalkReceiver(DINGTALK_TOKEN, DINGTALK_SECRET);
    robot.answerNext(Array.from({ length: 100 }, () => ({ errcode: -1, errmsg: '系统繁忙' })));
    const overrides = {
      influx: { mode: 'off' },
      dataDir: mkdtempSync(join(tmpdir(), 'im-restart-')),
      webhooks: [
        {
          id: 'dingtalk-duty',
          kind: 'dingtalk',
          url: `${robot.url}?access_token=${DINGTALK_TOKEN}`,
          secret: DINGTALK_SECRET,
          retryBaseDelay: 1_000,
          retryMaxDelay: 1_000,
          maxAttempts: 50, // never exhausted while the first gateway runs, however long it takes to close
        },
      ],
    };
    try {
      const first = await startTestGateway({ overrides });
      const device = await connectDevice(first.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: Date.now() - 60_000, metrics: { hopper_temp: 65 } });
      await eventually('a first attempt, answered errcode -1', () => (robot.requests.length > 0 ? true : undefined));
      await device.endAsync();
      await first.close(); // the message is still waiting: its row stays in the store
      const refusedBefore = robot.requests.length;
      expect(robot.accepted()).toEqual([]);
      expect(first.webhooks.subscribers()[0]).toMatchObject({ delivered: 0, lastError: 'DingTalk errcode -1: 系统繁忙' });

      robot.answerNext([]);
      const second = await startTestGateway({ overrides });
      try {
        await eventually('the message, sent by the restarted gateway', () => (robot.accepted().length > 0 ? true : undefined));
        const [sent] = robot.accepted() as [RobotRequest];
        const [firstAttempt] = robot.requests as [RobotRequest];
        expect(robot.requests.length).toBe(refusedBefore + 1);
        expect(sent.rawBody).toBe(firstAttempt.rawBody);
        expect(sent.body.markdown.title).toBe('【黄色告警】site-a dc-01 告警产生');
        expect(Number(sent.url.searchParams.get('timestamp'))).toBeGreaterThan(Number(firstAttempt.url.searchParams.get('timestamp')));
        expect(sent.url.searchParams.get('sign')).not.toBe(firstAttempt.url.searchParams.get('sign'));
        expect(robot.refused()).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      await robot.close();
    }
  });
});
