import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { formatProblem, parseRuleFile } from '../parse-rule-file.js';

describe('threshold rule details', () => {
  it('says value against level with ≥ above and ≤ below, and the clear back over the clear value, in English and Chinese', () => {
    const h = harness(`
profile: p
rules:
  - { id: hot, kind: threshold, metric: t, levels: { orange: { raise: 80, clear: 70 } }, source: s }
  - { id: low, kind: threshold, metric: t, direction: below, name_zh: 低温, levels: { yellow: { raise: 5, clear: 8 } }, source: s }
`);
    h.read(0, { t: 90 });
    expect(h.last('hot')).toMatchObject({ threshold: 80, message: 't 90 u ≥ 80 u', messageZh: 'hot 90 u ≥ 80 u' });
    h.read(1, { t: 4 });
    expect(h.last('hot')).toMatchObject({
      status: 'false',
      detail: { value: 4, threshold: 70, message: 't back to normal: 4 u, below 70 u', messageZh: 'hot：已恢复正常，4 u（解除值 70 u）' },
    });
    expect(h.last('low')).toMatchObject({ threshold: 5, message: 't 4 u ≤ 5 u', messageZh: '低温 4 u ≤ 5 u' });
    h.read(2, { t: 9 });
    expect(h.last('low')).toMatchObject({
      status: 'false',
      detail: { value: 9, threshold: 8, message: 't back to normal: 9 u, above 8 u', messageZh: '低温：已恢复正常，9 u（解除值 8 u）' },
    });
  });

  it('shows no unit, not a {unit} placeholder, for a metric without one (a derived metric), in English and Chinese', () => {
    const h = harness(
      `
profile: p
derived:
  - { name: dev, expression: "abs(level - 100)" }
rules:
  - { id: off, kind: threshold, metric: dev, name_zh: 液位偏离, levels: { red: { raise: 25, clear: 20 } }, source: s }
`,
      { deps: { unitOf: () => null } },
    );
    h.read(0, { level: 140 });
    expect(h.last('off')).toMatchObject({ unit: null, message: 'dev 40 ≥ 25', messageZh: '液位偏离 40 ≥ 25' });
    h.read(1, { level: 101 });
    expect(h.last('off')).toMatchObject({
      status: 'false',
      detail: { message: 'dev back to normal: 1, below 20', messageZh: '液位偏离：已恢复正常，1（解除值 20）' },
    });
  });

  it('N-of-M counts a sample towards every level up to its own and keeps only the last m', () => {
    const h = harness(`
profile: p
rules:
  - { id: t, kind: threshold, metric: x, samples: { n: 2, m: 3 }, levels: { yellow: { raise: 10 }, red: { raise: 20 } }, source: s }
`);
    h.read(0, { x: 25 });
    expect(h.state('t')).toBe('false');
    // one red and one yellow sample: two at yellow or above, one at red
    h.read(1, { x: 15 });
    expect(h.state('t')).toBe('yellow');
    h.read(2, { x: 25 });
    expect(h.state('t')).toBe('red');
    // the last three: 15, 25, 0 — still two at yellow or above, one at red
    h.read(3, { x: 0 });
    expect(h.state('t')).toBe('yellow');
    h.read(4, { x: 0 });
    expect(h.state('t')).toBe('false');
  });

  it('wants n ≤ m in samples', () => {
    const parsed = parseRuleFile(
      'profile: p\nrules:\n  - { id: t, kind: threshold, metric: x, samples: { n: 4, m: 3 }, levels: { red: { raise: 1 } }, source: s }\n',
      'p.yaml',
    );
    expect(parsed.ok ? [] : parsed.problems.map(formatProblem)).toEqual(['p.yaml:3:56 rules[0].samples.n: n must be ≤ m']);
  });

  it('N-of-M counts samples at the mildest level (blue) too, and takes n equal to m', () => {
    const h = harness(`
profile: p
rules:
  - { id: t, kind: threshold, metric: x, samples: { n: 2, m: 2 }, levels: { blue: { raise: 10 }, red: { raise: 20 } }, source: s }
`);
    h.read(0, { x: 12 });
    expect(h.state('t')).toBe('false');
    h.read(1, { x: 12 });
    expect(h.state('t')).toBe('blue');
  });
});
