import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from './load-config.js';

const SECRET = `whsec_${Buffer.from('config-test-secret-of-32-bytes!!').toString('base64')}`;
const WEBHOOKS = [
  'webhooks:',
  '  - id: platform',
  '    url: https://platform.example.org/hooks',
  `    secrets: [${SECRET}]`,
  '  - id: manager-dingtalk',
  '    kind: dingtalk',
  '    url: https://oapi.dingtalk.com/robot/send?access_token=abc',
  '    secret: SECabc',
].join('\n');

const load = (handling: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'escalation-config-')), 'gateway.yaml');
  writeFileSync(file, `${WEBHOOKS}\nhandling:\n${handling}`);
  return loadConfigFile(file, {});
};
const problemsOf = (handling: string): string => {
  try {
    load(handling);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('handling.escalation', () => {
  it('is empty by default; a policy takes durations, defaults unless to acknowledged (resolved for overdue steps)', () => {
    expect(load('  requireDisposal: false').handling.escalation).toEqual([]);
    const [policy] = load(
      [
        '  escalation:',
        '    - id: red-unacknowledged',
        '      match: { severities: [red] }',
        '      steps:',
        '        - { after: 5m, notify: { subscribers: [manager-dingtalk] } }',
        '        - { after: 15m, unless: assigned, assign: zhang.wei }',
        '        - { on: overdue, notify: { subscribers: [platform], users: [王丽] } }',
      ].join('\n'),
    ).handling.escalation;
    expect(policy).toEqual({
      id: 'red-unacknowledged',
      match: { severities: ['red'] },
      steps: [
        { on: 'raised', after: 300_000, unless: 'acknowledged', notify: { subscribers: ['manager-dingtalk'], users: [] } },
        { on: 'raised', after: 900_000, unless: 'assigned', notify: { subscribers: [], users: [] }, assign: 'zhang.wei' },
        { on: 'overdue', after: 0, unless: 'resolved', notify: { subscribers: ['platform'], users: ['王丽'] } },
      ],
    });
  });

  it('refuses a policy that cannot work, naming the path of each problem', () => {
    const problems = problemsOf(
      [
        '  escalation:',
        '    - id: red',
        '      match: { severities: [purple] }',
        '      steps:',
        '        - { notify: { users: [zhang.wei] } }',
        '        - { on: overdue, notify: {} }',
        '    - id: red',
        '      steps: []',
      ].join('\n'),
    );
    expect(problems).toMatch(/handling\.escalation\[0\]\.match\.severities\[0\]/);
    expect(problems).toMatch(/handling\.escalation\[0\]\.steps\[0\]\.after: required for a step on raised/);
    expect(problems).toMatch(
      /handling\.escalation\[0\]\.steps\[1\]\.notify: name at least one subscriber or user to notify, or a user to assign/,
    );
    expect(problems).toMatch(/handling\.escalation\[1\]\.steps: a policy has at least one step/);
  });

  it('refuses an unknown subscriber and steps out of order, naming the path', () => {
    const problems = problemsOf(
      [
        '  escalation:',
        '    - id: red',
        '      steps:',
        '        - { after: 15m, notify: { subscribers: [platform, plant-manager] } }',
        '        - { after: 5m, notify: { subscribers: [platform] } }',
        '        - { on: overdue, notify: { users: [zhang.wei] } }',
        '        - { after: 20m, notify: { users: [zhang.wei] } }',
      ].join('\n'),
    );
    expect(problems).toContain(
      'handling.escalation[0].steps[0].notify.subscribers[1]: unknown webhook subscriber "plant-manager" (webhooks: platform, manager-dingtalk)',
    );
    expect(problems).toMatch(
      /handling\.escalation\[0\]\.steps\[1\]\.after: steps fire in order: after must not be shorter than steps\[0\]'s/,
    );
    expect(problems).toMatch(
      /handling\.escalation\[0\]\.steps\[3\]\.on: steps fire in order: a step on raised cannot follow the step on overdue/,
    );
  });

  it('a step on overdue needs deadlines; policy ids are unique', () => {
    const problems = problemsOf(
      [
        '  deadline: { enabled: false }',
        '  escalation:',
        '    - { id: late, steps: [{ on: overdue, notify: { subscribers: [platform] } }] }',
        '    - { id: late, steps: [{ after: 1m, notify: { subscribers: [platform] } }] }',
      ].join('\n'),
    );
    expect(problems).toMatch(/handling\.escalation\[0\]\.steps\[0\]\.on.*never fires: handling\.deadline\.enabled is false/);
    expect(problems).toMatch(/handling\.escalation\[1\]\.id.*duplicate escalation policy "late"/);
  });
});
