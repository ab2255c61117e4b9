import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../../rules/src/index.js';
import type { OutboxDelivery } from '../webhook-outbox.js';
import { WECOM_MAX_CONTENT_BYTES, wecomBody, wecomKind } from './wecom-kind.js';

const event = (messageZh: string, severity: 'red' | 'yellow' = 'red', type: AlarmEvent['type'] = 'alarm.raised'): AlarmEvent =>
  ({
    type,
    id: 'evt_1',
    timestamp: '2026-11-22T08:00:03.120Z',
    data: {
      alarm: {
        id: 'alm_1',
        site: 'site-a',
        device: 'dc-01',
        rule: 'hopper_temp_high',
        severity,
        previousSeverity: null,
        value: 85.2,
        threshold: 80,
        unit: '°C',
        message: 'Hopper temperature high',
        messageZh,
        acknowledgedBy: null,
        resolvedBy: null,
        note: null,
      },
    },
  }) as unknown as AlarmEvent;

const OPTIONS = { language: 'zh' as const, consoleUrl: 'https://gw.example.cn' };
const URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
const contentOf = (body: string): string => (JSON.parse(body) as { markdown: { content: string } }).markdown.content;
const answer = (body: unknown, status = 200) => ({ status, headers: new Headers(), body: JSON.stringify(body) });

describe('WeCom group robot (kind: wecom)', () => {
  it('the body is exactly {"msgtype":"markdown","markdown":{"content":…}}', () => {
    const body = JSON.parse(wecomBody(event('灰斗温度过高'), OPTIONS));
    expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
    expect(body.msgtype).toBe('markdown');
    expect(Object.keys(body.markdown)).toEqual(['content']);
    expect(typeof body.markdown.content).toBe('string');
  });

  it('the content: the severity in its colour, the event, the message, site, device, value, threshold, Shanghai time, link', () => {
    const content = contentOf(wecomBody(event('灰斗温度 85.2 °C，超过限值 80 °C'), OPTIONS));
    expect(content).toBe(
      [
        '## <font color="warning">红色告警</font> 告警产生',
        '**灰斗温度 85.2 °C，超过限值 80 °C**',
        '> 站点：site-a',
        '> 设备：dc-01',
        '> 数值：<font color="warning">85.2 °C</font>',
        '> 阈值：80 °C',
        '> 规则：hopper_temp_high',
        '> 时间：2026-11-22 16:00:03（北京时间）',
        '> 告警编号：alm_1',
        '[查看告警详情](https://gw.example.cn/#/alarms/alm_1)',
      ].join('\n'),
    );
  });

  it('uses only the colours WeCom has: warning for an alert, info (green) for a clear, comment (grey) otherwise', () => {
    expect(contentOf(wecomBody(event('x', 'yellow'), OPTIONS))).toContain('<font color="warning">黄色告警</font>');
    expect(contentOf(wecomBody(event('x', 'red', 'alarm.cleared'), OPTIONS))).toContain('<font color="info">已解除·原红色</font> 告警解除');
    expect(contentOf(wecomBody(event('x', 'red', 'alarm.acknowledged'), OPTIONS))).toContain('<font color="comment">');
    const colours = contentOf(wecomBody(event('x'), OPTIONS)).match(/color="([^"]*)"/g) ?? [];
    for (const colour of colours) expect(['color="warning"', 'color="info"', 'color="comment"']).toContain(colour);
  });

  it('stays within 4096 bytes however long the message, and keeps every field and the link', () => {
    const content = contentOf(wecomBody(event('粉尘浓度超标'.repeat(2_000)), OPTIONS));
    expect(Buffer.byteLength(content, 'utf8')).toBeLessThanOrEqual(WECOM_MAX_CONTENT_BYTES);
    expect(content).toContain('> 设备：dc-01');
    expect(content).toContain('[查看告警详情](https://gw.example.cn/#/alarms/alm_1)');
    expect(content).toMatch(/…\*\*\n/);
  });

  it('posts to the configured url (key and all) as JSON in UTF-8; the same bytes on every attempt', () => {
    const kind = wecomKind(URL, OPTIONS, 60_000);
    const body = kind.render(event('x'));
    expect(kind.render(event('x'))).toBe(body);
    const delivery = { body } as OutboxDelivery;
    expect(kind.request(delivery, 1_000)).toEqual(kind.request(delivery, 9_000_000));
    expect(kind.request(delivery, 1_000)).toMatchObject({ url: URL, headers: { 'content-type': 'application/json; charset=utf-8' } });
  });

  it('reads the answer by errcode: 0 ok; 45009 rate limit retried after the delay, holding the robot; 93000 (no such key) gone; 40058 dead-lettered', () => {
    const kind = wecomKind(URL, OPTIONS, 60_000);
    expect(kind.judge(answer({ errcode: 0, errmsg: 'ok' }), 0)).toEqual({ ok: true });
    expect(kind.judge(answer({ errcode: 45009, errmsg: 'api freq out of limit' }), 0)).toEqual({
      ok: false,
      retryable: true,
      gone: null,
      error: 'WeCom errcode 45009: api freq out of limit',
      retryAfter: 60_000,
      holdSubscriber: true,
    });
    expect(kind.judge(answer({ errcode: 93000, errmsg: 'invalid webhook url, hint: [1]' }), 0)).toMatchObject({
      ok: false,
      retryable: false,
      gone: 'robot is gone: WeCom errcode 93000: invalid webhook url, hint: [1]',
      error: 'WeCom errcode 93000: invalid webhook url, hint: [1]',
    });
    expect(kind.judge(answer({ errcode: 40058, errmsg: 'markdown.content exceed max length 4096' }), 0)).toMatchObject({
      retryable: false,
      gone: null,
    });
  });

  it('an unknown errcode, an answer without one, 5xx, 429 and 404 are retried; a refused body is not', () => {
    const kind = wecomKind(URL, OPTIONS, 60_000);
    expect(kind.judge(answer({ errcode: -1, errmsg: 'system busy' }), 0)).toMatchObject({ retryable: true, holdSubscriber: false });
    expect(kind.judge({ status: 200, headers: new Headers(), body: '<html>proxy</html>' }, 0)).toMatchObject({ retryable: true });
    expect(kind.judge(answer({}, 502), 0)).toMatchObject({ retryable: true, error: 'HTTP 502' });
    expect(kind.judge(answer({}, 404), 0)).toMatchObject({ retryable: true, error: 'HTTP 404' });
    expect(kind.judge(answer({}, 400), 0)).toMatchObject({ retryable: false, error: 'HTTP 400' });
  });
});
