import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../../rules/src/index.js';
import type { OutboxDelivery } from '../webhook-outbox.js';
import { dingtalkBody, dingtalkKind, dingtalkSign, dingtalkSignedUrl } from './dingtalk-kind.js';

const SECRET = 'SEC2f1e7c0c9a4b4d0f8a3e6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4';
const URL = 'https://oapi.dingtalk.com/robot/send?access_token=566cc69da782ec0000000000';
const OPTIONS = { language: 'zh' as const, consoleUrl: 'https://gw.example.cn' };

const event = (severity: 'red' | 'orange' = 'orange', type: AlarmEvent['type'] = 'alarm.raised'): AlarmEvent =>
  ({
    type,
    id: 'evt_1',
    timestamp: '2026-11-22T08:00:03.120Z',
    data: {
      alarm: {
        id: 'alm_1',
        site: 'site-b',
        device: 'dc-09',
        rule: 'hopper_temp_high',
        severity,
        previousSeverity: null,
        value: 75,
        threshold: 70,
        unit: '°C',
        message: 'Hopper temperature high',
        messageZh: '灰斗温度 75 °C，超过限值 70 °C',
        acknowledgedBy: null,
        resolvedBy: null,
        note: null,
      },
    },
  }) as unknown as AlarmEvent;

describe('DingTalk custom robot (kind: dingtalk)', () => {
  it('signs base64(HmacSHA256(key = secret, "{timestamp}\\n{secret}")): a vector computed with Python hmac, and node:crypto here', () => {
    const timestamp = 1763798403120;
    // python3: base64.b64encode(hmac.new(secret, f"{ts}\n{secret}", sha256).digest())
    expect(dingtalkSign(SECRET, timestamp)).toBe('pmV+E+z8AE+fGysEfF0J6M68mDgrkP5/8hBjcT6xQXo=');
    const independent = createHmac('sha256', Buffer.from(SECRET, 'utf8'))
      .update(Buffer.from(`${timestamp}\n${SECRET}`, 'utf8'))
      .digest('base64');
    expect(dingtalkSign(SECRET, timestamp)).toBe(independent);
  });

  it('puts timestamp (ms) and the URL-encoded sign in the url, after the access_token, as DingTalk documents', () => {
    expect(dingtalkSignedUrl(URL, SECRET, 1763798403120)).toBe(
      `${URL}&timestamp=1763798403120&sign=pmV%2BE%2Bz8AE%2BfGysEfF0J6M68mDgrkP5%2F8hBjcT6xQXo%3D`,
    );
  });

  it('signs each attempt at its own time, with the same body', () => {
    const kind = dingtalkKind(URL, SECRET, OPTIONS, 600_000);
    const body = kind.render(event());
    const delivery = { body } as OutboxDelivery;
    const first = new globalThis.URL(kind.request(delivery, 1_763_798_403_120).url);
    const later = new globalThis.URL(kind.request(delivery, 1_763_802_003_120).url);
    expect(first.searchParams.get('access_token')).toBe('566cc69da782ec0000000000');
    expect(first.searchParams.get('timestamp')).toBe('1763798403120');
    expect(later.searchParams.get('timestamp')).toBe('1763802003120');
    expect(later.searchParams.get('sign')).toBe(dingtalkSign(SECRET, 1_763_802_003_120));
    expect(kind.render(event())).toBe(body);
  });

  it('without a secret (keyword or IP security) the url is the configured one', () => {
    const kind = dingtalkKind(URL, undefined, OPTIONS, 600_000);
    expect(kind.request({ body: '{}' } as OutboxDelivery, 1_000).url).toBe(URL);
  });

  it('the body is {"msgtype":"markdown","markdown":{"title":…,"text":…}}: the title for the chat list, the card as text', () => {
    const body = JSON.parse(dingtalkBody(event(), OPTIONS));
    expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('【橙色告警】site-b dc-09 告警产生');
    expect(body.markdown.text).toBe(
      [
        '### <font color="#FA6400">橙色告警</font> 告警产生',
        '**灰斗温度 75 °C，超过限值 70 °C**',
        '站点：site-b',
        '设备：dc-09',
        '数值：<font color="#FA6400">75 °C</font>',
        '阈值：70 °C',
        '规则：hopper_temp_high',
        '时间：2026-11-22 16:00:03（北京时间）',
        '告警编号：alm_1',
        '[查看告警详情](https://gw.example.cn/#/alarms/alm_1)',
      ].join('\n\n'),
    );
  });

  it('colours a red alarm red and a clear green, the clear saying what the alarm was (not "红色告警" in a chat list)', () => {
    expect(JSON.parse(dingtalkBody(event('red'), OPTIONS)).markdown.text).toContain('<font color="#E02020">红色告警</font>');
    expect(JSON.parse(dingtalkBody(event('red', 'alarm.cleared'), OPTIONS)).markdown.text).toContain(
      '<font color="#2E9E44">已解除·原红色</font> 告警解除',
    );
  });

  it('reads the answer by errcode: 130101 rate limit waits the 10-minute penalty; 310000 (sign) is dead-lettered; 300001 (no such token) is gone', () => {
    const kind = dingtalkKind(URL, SECRET, OPTIONS, 600_000);
    const answer = (errcode: number, errmsg: string) => ({
      status: 200,
      headers: new Headers(),
      body: JSON.stringify({ errcode, errmsg }),
    });
    expect(kind.judge(answer(0, 'ok'), 0)).toEqual({ ok: true });
    expect(kind.judge(answer(130101, 'send too fast, exceed 20 times per minute'), 0)).toMatchObject({
      retryable: true,
      retryAfter: 600_000,
      holdSubscriber: true,
      error: 'DingTalk errcode 130101: send too fast, exceed 20 times per minute',
    });
    expect(kind.judge(answer(310000, 'sign not match'), 0)).toMatchObject({
      retryable: false,
      gone: null,
      error: 'DingTalk errcode 310000: sign not match',
    });
    expect(kind.judge(answer(300001, 'token is not exist'), 0)).toMatchObject({
      retryable: false,
      gone: 'robot is gone: DingTalk errcode 300001: token is not exist',
    });
  });
});
