import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactedUrl } from './redacted-url.js';

describe('a URL as logs and the API show it', () => {
  it('hides every query value and the userinfo, keeps scheme, host, port and path', () => {
    expect(redactedUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx')).toBe(
      'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***',
    );
    expect(redactedUrl('https://oapi.dingtalk.com/robot/send?access_token=abc&x=1')).toBe(
      'https://oapi.dingtalk.com/robot/send?access_token=***&x=***',
    );
    expect(redactedUrl('https://platform.example.cn:8443/push?token=s3cr3t&appSecret=also')).toBe(
      'https://platform.example.cn:8443/push?token=***&appSecret=***',
    );
    expect(redactedUrl('https://user:pass@platform.example.cn/hooks')).toBe('https://***:***@platform.example.cn/hooks');
    expect(redactedUrl('redis://:hunter2@10.0.0.5:6379/0')).toBe('redis://:***@10.0.0.5:6379/0');
    expect(redactedUrl('https://duty.example.org/hooks/alarms')).toBe('https://duty.example.org/hooks/alarms');
    expect(redactedUrl('not a url?token=abc')).toBe('not a url…');
  });

  it('never shows a secret put in the userinfo or a query value (generated)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/);
    fc.assert(
      fc.property(secret, fc.constantFrom('user', 'password', 'query'), fc.stringMatching(/^[a-z_]{1,10}$/), (value, where, name) => {
        const url =
          where === 'user'
            ? `https://${value}@h.example/p`
            : where === 'password'
              ? `https://u:${value}@h.example/p`
              : `https://h.example/p?a=1&${name}=${value}`;
        expect(redactedUrl(url)).not.toContain(value);
      }),
    );
  });
});
