import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from './load-config.js';

const SECRET = `whsec_${Buffer.from('config-test-secret-of-32-bytes!!').toString('base64')}`;

const load = (webhooks: string, env: NodeJS.ProcessEnv = {}) => {
  const file = join(mkdtempSync(join(tmpdir(), 'webhook-kinds-')), 'gateway.yaml');
  writeFileSync(file, `webhooks:\n${webhooks}`);
  return loadConfigFile(file, env);
};
const problemsOf = (webhooks: string): string => {
  try {
    load(webhooks);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('webhooks[].kind: standard, wecom, dingtalk', () => {
  it('refuses two subscribers of one id (a block copied for a second platform, its id unchanged), naming the second', () => {
    const block = (url: string) => ['  - id: regulator', `    url: ${url}`, `    secrets: [${SECRET}]`];
    const problems = problemsOf([...block('https://a.example.org/hooks'), ...block('https://b.example.org/hooks')].join('\n'));
    expect(problems).toMatch(/webhooks\[1\]\.id: duplicate webhook subscriber id "regulator"/);
    expect(problems).not.toMatch(/webhooks\[0\]/);
  });

  it('a subscriber without kind is standard, as before; robots take their url, secret (from ${ENV}), consoleUrl and language', () => {
    const config = load(
      [
        '  - id: platform',
        '    url: https://platform.example.org/hooks',
        `    secrets: [${SECRET}]`,
        '  - id: duty-wecom',
        '    kind: wecom',
        '    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}',
        '    consoleUrl: https://gw.example.cn',
        '    filter: { severities: [red, orange], sites: [site-a] }',
        '  - id: duty-dingtalk',
        '    kind: dingtalk',
        '    url: https://oapi.dingtalk.com/robot/send?access_token=${DINGTALK_TOKEN}',
        '    secret: ${DINGTALK_SECRET}',
        '    language: en',
      ].join('\n'),
      { WECOM_KEY: 'k-123', DINGTALK_TOKEN: 't-456', DINGTALK_SECRET: 'SECabc' },
    );
    expect(config.webhooks.map((w) => [w.id, w.kind, w.language])).toEqual([
      ['platform', 'standard', 'zh'],
      ['duty-wecom', 'wecom', 'zh'],
      ['duty-dingtalk', 'dingtalk', 'en'],
    ]);
    expect(config.webhooks[1]).toMatchObject({
      url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-123',
      consoleUrl: 'https://gw.example.cn',
      filter: { severities: ['red', 'orange'], sites: ['site-a'] },
    });
    expect(config.webhooks[2]).toMatchObject({ url: 'https://oapi.dingtalk.com/robot/send?access_token=t-456', secret: 'SECabc' });
  });

  it('names what a kind needs or cannot take, with its path', () => {
    const problems = problemsOf(
      [
        '  - id: no-secrets',
        '    url: https://platform.example.org/hooks',
        '    consoleUrl: https://gw.example.cn',
        '  - id: wecom-without-key',
        '    kind: wecom',
        '    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send',
        `    secrets: [${SECRET}]`,
        '  - id: dingtalk-without-token',
        '    kind: dingtalk',
        '    url: https://oapi.dingtalk.com/robot/send',
        '  - id: unknown-kind',
        '    kind: feishu',
        '    url: https://open.feishu.cn/hook',
      ].join('\n'),
    );
    expect(problems).toContain('webhooks[0].secrets: required');
    expect(problems).toContain('webhooks[0].consoleUrl: only for kind wecom or dingtalk');
    expect(problems).toContain("webhooks[1].url: a WeCom robot's webhook carries its key");
    expect(problems).toContain('webhooks[1].secrets: only for kind standard');
    expect(problems).toContain("webhooks[2].url: a DingTalk robot's webhook carries its token");
    expect(problems).toContain('webhooks[3].kind');
  });
});
