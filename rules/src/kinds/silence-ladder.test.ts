import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { formatProblem, parseRuleFile } from '../parse-rule-file.js';

const MIN = 60_000;

/** The problems of a one-rule file, as a person reads them. */
const problemsOf = (rule: string): string[] => {
  const parsed = parseRuleFile(`profile: p\nrules:\n  - ${rule}\n`, 'p.yaml');
  return parsed.ok ? [] : parsed.problems.map(formatProblem);
};

describe('silence ladder checks', () => {
  it('wants exactly one of after and intervals per step', () => {
    expect(problemsOf('{ id: s, kind: silence, ladder: [{ after: 1m, intervals: 2, severity: red }], source: t }')).toEqual([
      'p.yaml:3:38 rules[0].ladder[0]: give exactly one of after or intervals',
    ]);
    expect(problemsOf('{ id: s, kind: silence, ladder: [{ severity: red }], source: t }')).toEqual([
      'p.yaml:3:38 rules[0].ladder[0]: give exactly one of after or intervals',
    ]);
    expect(problemsOf('{ id: s, kind: silence, ladder: [{ intervals: 2, severity: red }], source: t }')).toEqual([]);
  });

  it('wants each step more severe than the one before, an equal one too', () => {
    expect(
      problemsOf('{ id: s, kind: silence, ladder: [{ after: 1m, severity: orange }, { after: 2m, severity: orange }], source: t }'),
    ).toEqual(['p.yaml:3:94 rules[0].ladder[1].severity: each step must be more severe than the one before']);
    expect(
      problemsOf('{ id: s, kind: silence, ladder: [{ after: 1m, severity: orange }, { after: 2m, severity: yellow }], source: t }'),
    ).toEqual(['p.yaml:3:94 rules[0].ladder[1].severity: each step must be more severe than the one before']);
  });

  it('wants each step after the one before, not at the same time', () => {
    expect(
      problemsOf('{ id: s, kind: silence, ladder: [{ after: 2m, severity: yellow }, { after: 2m, severity: red }], source: t }'),
    ).toEqual(['p.yaml:3:80 rules[0].ladder[1].after: each step must come later than the one before']);
    expect(
      problemsOf('{ id: s, kind: silence, ladder: [{ after: 2m, severity: yellow }, { after: 3m, severity: red }], source: t }'),
    ).toEqual([]);
  });
});

describe('silence messages', () => {
  it('say whose data is missing and for how long, in English and Chinese', () => {
    const h = harness(`
profile: p
rules:
  - { id: quiet, kind: silence, ladder: [{ after: 15m, severity: yellow }], source: t }
  - { id: no_h2s, kind: silence, metric: h2s, ladder: [{ after: 1h, severity: orange }], source: t }
  - { id: named, kind: silence, name: Gas monitor offline, name_zh: 气体监测离线, ladder: [{ after: 90s, severity: red }], source: t }
`);
    h.read(0, { h2s: 1 });
    h.advanceTo(2 * 60 * MIN);
    expect(h.last('quiet')).toMatchObject({
      severity: 'yellow',
      message: 'No data from d for 15 min or more',
      messageZh: 'd 无数据，已持续 15 分钟以上',
    });
    expect(h.last('no_h2s')).toMatchObject({
      severity: 'orange',
      metric: 'h2s',
      message: 'No h2s from d for 1 h or more',
      messageZh: 'd 无 h2s 数据，已持续 1 小时以上',
    });
    expect(h.last('named')).toMatchObject({
      message: 'Gas monitor offline for 1.5 min or more',
      messageZh: '气体监测离线，已持续 1.5 分钟以上',
    });
    // data again: the clear says so and how long it was missing (not the raise text, which reads as still silent)
    h.read(2 * 60 * MIN, { h2s: 2 });
    expect(h.last('quiet')).toMatchObject({
      status: 'false',
      detail: { message: 'd: data again after 2 h', messageZh: 'd：数据已恢复（中断 2 小时）' },
    });
    expect(h.last('no_h2s')).toMatchObject({
      detail: { message: 'h2s of d: data again after 2 h', messageZh: 'd h2s：数据已恢复（中断 2 小时）' },
    });
    expect(h.last('named')).toMatchObject({
      detail: { message: 'Gas monitor offline: data again after 2 h', messageZh: '气体监测离线：数据已恢复（中断 2 小时）' },
    });
  });
});

describe('silence arming', () => {
  it('a device registered after it has reported keeps counting from its last reading', () => {
    const h = harness(`
profile: p
rules:
  - { id: quiet, kind: silence, ladder: [{ after: 15m, severity: yellow }], source: t }
`);
    h.read(0, { x: 1 });
    h.engine.registerDevice(h.device, 10 * MIN);
    expect(h.engine.nextDueAt()).toBe(15 * MIN);
    h.advanceTo(15 * MIN);
    expect(h.state('quiet')).toBe('yellow');
  });
});
