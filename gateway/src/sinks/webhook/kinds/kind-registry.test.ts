import { describe, expect, it } from 'vitest';
import type { WebhookSubscriberConfig } from '../../../config/config-schema.js';
import { DEFAULT_RATE_LIMIT_DELAY, webhookKindOf } from './kind-registry.js';

const config = (extra: Partial<WebhookSubscriberConfig>): WebhookSubscriberConfig => ({
  id: 'duty',
  kind: 'standard',
  language: 'zh',
  url: 'https://hooks.example.org/alarms?key=k1',
  filter: {},
  timeout: 5_000,
  maxAttempts: 5,
  maxQueued: 100,
  retryBaseDelay: 20,
  retryMaxDelay: 50,
  concurrency: 1,
  ...extra,
});
const ok200 = (errcode: number) => ({ status: 200, headers: new Headers(), body: JSON.stringify({ errcode, errmsg: 'limited' }) });
const NOW = Date.parse('2026-11-22T08:00:00Z');

describe('the kind a subscriber config names', () => {
  it('standard: the event as JSON, signed with each secret, no pacing', () => {
    const kind = webhookKindOf(
      config({ secrets: [`whsec_${Buffer.from('a').toString('base64')}`, `whsec_${Buffer.from('b').toString('base64')}`] }),
    );
    expect(kind.defaultMaxPerMinute).toBeNull();
    const { url, headers } = kind.request(
      { id: 1, subscriber: 'duty', event: { id: 'evt_1' } as never, body: '{}', attempts: 0, notBefore: 0, lastError: null },
      NOW + 999,
    );
    expect(url).toBe('https://hooks.example.org/alarms?key=k1');
    expect(headers['webhook-timestamp']).toBe(String(NOW / 1000));
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
  });

  it('standard without secrets signs with none', () => {
    const kind = webhookKindOf(config({}));
    const { headers } = kind.request(
      { id: 1, subscriber: 'duty', event: { id: 'evt_1' } as never, body: '{}', attempts: 0, notBefore: 0, lastError: null },
      NOW,
    );
    expect(headers['webhook-signature']).toBe('');
  });

  it('wecom and dingtalk: markdown robots, paced, waiting their own rate-limit delay unless the config says otherwise', () => {
    for (const [kind, errcode, defaultDelay] of [
      ['wecom', 45009, DEFAULT_RATE_LIMIT_DELAY.wecom],
      ['dingtalk', 130101, DEFAULT_RATE_LIMIT_DELAY.dingtalk],
    ] as const) {
      const robot = webhookKindOf(config({ kind }));
      expect(robot.defaultMaxPerMinute).toBe(20);
      expect(robot.judge(ok200(errcode), NOW)).toMatchObject({ ok: false, retryAfter: defaultDelay, holdSubscriber: true });
      expect(webhookKindOf(config({ kind, rateLimitDelay: 1_234 })).judge(ok200(errcode), NOW)).toMatchObject({ retryAfter: 1_234 });
    }
    expect(DEFAULT_RATE_LIMIT_DELAY).toEqual({ wecom: 60_000, dingtalk: 600_000 });
  });

  it('wecom and dingtalk write in the configured language and link to the console', () => {
    const event = {
      type: 'alarm.raised',
      id: 'evt_1',
      timestamp: '2026-11-22T08:00:03.120Z',
      data: {
        alarm: {
          id: 'alm_1',
          message: 'hot',
          messageZh: '过热',
          site: 's',
          device: 'd',
          severity: 'red',
          rule: 'r',
          value: 1,
          threshold: 0,
          unit: null,
          previousSeverity: null,
        },
      },
    } as never;
    for (const kind of ['wecom', 'dingtalk'] as const) {
      const zh = webhookKindOf(config({ kind, consoleUrl: 'https://console.example.org' })).render(event);
      const en = webhookKindOf(config({ kind, language: 'en' })).render(event);
      expect(zh).toContain('过热');
      expect(zh).toContain('https://console.example.org/#/alarms/alm_1');
      expect(en).toContain('hot');
      expect(en).not.toContain('过热');
    }
  });
});
