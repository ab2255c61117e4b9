import { describe, expect, it } from 'vitest';
import type { ExprEnv } from '../expression/evaluate.js';
import { formatProblem, parseRuleFile } from '../parse-rule-file.js';
import type { Severity } from '../severity.js';
import { evaluateGroup, type GroupRule } from './group.js';

const groupOf = (fields: string): GroupRule => {
  const parsed = parseRuleFile(`profile: p\nrules:\n  - { id: g, kind: group, source: t, members: { rules: [r] }, ${fields} }\n`, 'p.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
  return parsed.file.rules?.[0] as GroupRule;
};
const problemsOf = (fields: string): string[] => {
  const parsed = parseRuleFile(`profile: p\nrules:\n  - { id: g, kind: group, source: t, members: { rules: [r] }, ${fields} }\n`, 'p.yaml');
  return parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`);
};
const points = (...severities: (Severity | null)[]) => severities.map((severity, i) => ({ device: `d${i + 1}`, severity }));
const env = (metrics: Record<string, boolean>): ExprEnv => ({ metric: (n) => metrics[n], attr: () => undefined });

describe('group rule checks', () => {
  it('wants exactly one of levels and require, and a severity with require', () => {
    expect(problemsOf('atLeast: red')).toEqual(['rules[0].levels: give either levels (count mode) or require: all|any']);
    expect(problemsOf('require: any, severity: red, levels: [{ count: 1, atLeast: red, severity: red }]')).toEqual([
      'rules[0].levels: give either levels (count mode) or require: all|any',
    ]);
    expect(problemsOf('require: any')).toEqual(['rules[0].severity: severity is required with require']);
    expect(problemsOf('require: all, severity: red')).toEqual([]);
  });
});

describe('evaluateGroup, count mode', () => {
  const def = groupOf(
    'levels: [{ count: 2, atLeast: orange, severity: red }, { count: 3, atLeast: blue, severity: yellow }, { count: 3, atLeast: yellow, severity: orange }]',
  );

  it('takes the most severe level met, whatever its place in the list, and names the points', () => {
    expect(evaluateGroup(def, 'slope-a', points('yellow', 'yellow', 'blue', null), [], 'site-a')).toEqual({
      status: 'true',
      severity: 'yellow',
      metric: null,
      value: 3,
      threshold: 3,
      unit: 'points',
      message: '3 points of item slope-a at blue or above (d1, d2, d3)',
      messageZh: 'g：监测项 slope-a 3 个测点蓝色及以上（d1、d2、d3）',
    });
    expect(evaluateGroup(def, null, points('yellow', 'orange', 'yellow', null), [], 'site-a')).toMatchObject({
      severity: 'orange',
      value: 3,
      threshold: 3,
      message: '3 points of the site at yellow or above (d1, d2, d3)',
    });
    expect(evaluateGroup(def, null, points('red', 'orange', 'blue'), [], 'site-a')).toMatchObject({
      severity: 'red',
      value: 2,
      threshold: 2,
      message: '2 points of the site at orange or above (d1, d2)',
    });
  });

  it('is normal below every count, and without points', () => {
    expect(evaluateGroup(def, null, points('orange', 'blue', null), [], 'site-a')).toEqual({ status: 'false' });
    expect(evaluateGroup(def, null, [], [], 'site-a')).toEqual({ status: 'false' });
  });
});

describe('evaluateGroup, quantifier mode', () => {
  it('all: every point at atLeast or above, at least one point', () => {
    const def = groupOf('require: all, atLeast: yellow, severity: orange, name: All silent');
    expect(evaluateGroup(def, 'i', points('yellow', 'red'), [], 'site-a')).toEqual({
      status: 'true',
      severity: 'orange',
      metric: null,
      value: 2,
      threshold: 2,
      unit: 'points',
      message: 'All silent: 2 of 2 points of item i in alarm (d1, d2)',
      messageZh: 'All silent：监测项 i 2 个测点中 2 个报警（d1、d2）',
    });
    expect(evaluateGroup(def, 'i', points('yellow', 'blue'), [], 'site-a')).toEqual({ status: 'false' });
  });

  it('any: one point is enough; atLeast defaults to blue, and no alarm is not an alarm', () => {
    const def = groupOf('require: any, severity: red');
    expect(evaluateGroup(def, null, points(null, 'blue', null), [], 'site-a')).toMatchObject({
      severity: 'red',
      value: 1,
      threshold: 1,
      message: 'g: 1 of 3 points of the site in alarm (d2)',
    });
    expect(evaluateGroup(def, null, points(null, null), [], 'site-a')).toEqual({ status: 'false' });
  });

  it('while: only when a device of the named profiles satisfies the condition', () => {
    const def = groupOf('require: any, severity: red, while: { profiles: [meter], condition: producing }');
    const hits = points('red');
    expect(evaluateGroup(def, null, hits, [{ profile: 'meter', env: env({ producing: true }) }], 'site-a')).toMatchObject({
      status: 'true',
    });
    expect(evaluateGroup(def, null, hits, [{ profile: 'meter', env: env({ producing: false }) }], 'site-a')).toEqual({ status: 'false' });
    expect(evaluateGroup(def, null, hits, [{ profile: 'other', env: env({ producing: true }) }], 'site-a')).toEqual({ status: 'false' });
    expect(evaluateGroup(def, null, hits, [], 'site-a')).toEqual({ status: 'false' });
    const anyProfile = groupOf('require: any, severity: red, while: { condition: producing }');
    expect(evaluateGroup(anyProfile, null, hits, [{ profile: 'other', env: env({ producing: true }) }], 'site-a')).toMatchObject({
      status: 'true',
    });
  });
});

describe('evaluateGroup, texts', () => {
  // a duty officer reading a site alarm on WeCom needs it in Chinese, and which devices to go to
  it('renders the Chinese name and wording, never the English message, when the rule has no message_zh', () => {
    const def = groupOf('require: any, severity: red, name_zh: 生产时安全设备停运, message: "Fan off while producing: {points}"');
    expect(evaluateGroup(def, null, points(null, 'blue'), [], 'site-a')).toMatchObject({
      message: 'Fan off while producing: d2',
      messageZh: '生产时安全设备停运：厂区 2 个测点中 1 个报警（d2）',
    });
  });

  it('renders {points}, {item}, {site}, {value} and {threshold} in message and message_zh', () => {
    const def = groupOf(
      'require: all, atLeast: yellow, severity: orange, groupBy: line, message: "{site} {item}: {value}/{threshold} silent ({points})", message_zh: "{item}：{points} 无数据"',
    );
    expect(evaluateGroup(def, 'line-2', points('yellow', 'red'), [], 'site-a')).toMatchObject({
      message: 'site-a line-2: 2/2 silent (d1, d2)',
      messageZh: 'line-2：d1、d2 无数据',
    });
    const perSite = groupOf('require: any, severity: red, message: "{item}"');
    expect(evaluateGroup(perSite, null, points('red'), [], 'site-a')).toMatchObject({ message: 'site-a' });
  });

  it('names eight points and counts the rest', () => {
    const def = groupOf('require: all, severity: orange, name_zh: 虚假离线');
    const many = points(...Array.from({ length: 12 }, () => 'yellow' as const));
    expect(evaluateGroup(def, null, many, [], 'site-a')).toMatchObject({
      message: 'g: 12 of 12 points of the site in alarm (d1, d2, d3, d4, d5, d6, d7, d8 and 4 more)',
      messageZh: '虚假离线：厂区 12 个测点中 12 个报警（d1、d2、d3、d4、d5、d6、d7、d8 等 12 个）',
    });
  });
});

describe('evaluateGroup, edge cases', () => {
  it('all without any point is normal', () => {
    expect(evaluateGroup(groupOf('require: all, severity: orange'), null, [], [], 'site-a')).toEqual({ status: 'false' });
  });

  it('of two levels met at the same severity, the first in the list is named', () => {
    const def = groupOf('levels: [{ count: 2, atLeast: orange, severity: red }, { count: 3, atLeast: yellow, severity: red }]');
    expect(evaluateGroup(def, null, points('red', 'orange', 'yellow'), [], 'site-a')).toMatchObject({
      severity: 'red',
      value: 2,
      threshold: 2,
      message: '2 points of the site at orange or above (d1, d2)',
    });
  });
});
