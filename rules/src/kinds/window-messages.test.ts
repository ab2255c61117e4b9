import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { formatProblem, parseRuleFile } from '../parse-rule-file.js';

const MIN = 60_000;

const problemsOf = (fields: string): string[] => {
  const parsed = parseRuleFile(
    `profile: p\nrules:\n  - { id: w, kind: window, metric: x, aggregate: avg, ${fields}, levels: { red: { raise: 1 } }, source: t }\n`,
    'p.yaml',
  );
  return parsed.ok ? [] : parsed.problems.map((p) => formatProblem({ ...p, line: null }));
};

const one = (fields: string, attributes = {}) =>
  harness(`\nprofile: p\nrules:\n  - { id: w, kind: window, metric: x, source: t, ${fields} }\n`, { attributes });

describe('window rule checks', () => {
  it('wants at least 1 ms per bucket, and minSpan leaving at least one bucket of the window', () => {
    expect(problemsOf('window: 29, buckets: 30')).toEqual(['p.yaml rules[0].window: window must be at least 1 ms per bucket']);
    expect(problemsOf('window: 30, buckets: 30')).toEqual([]);
    expect(problemsOf('window: 10m, buckets: 10, minSpan: 9m')).toEqual([]);
    expect(problemsOf('window: 10m, buckets: 10, minSpan: 540001')).toEqual([
      'p.yaml rules[0].minSpan: minSpan must leave at least one bucket of the window',
    ]);
  });
});

describe('window messages', () => {
  it('name the aggregate, the metric and the window, with ≥ above and ≤ below; the clear says back over which value', () => {
    const h = harness(`
profile: p
rules:
  - { id: hi, kind: window, metric: co, aggregate: avg, window: 15m, buckets: 15, levels: { orange: { raise: 26, clear: 24 } }, source: t }
  - { id: lo, kind: window, metric: co, aggregate: min, window: 15m, buckets: 15, direction: below, levels: { yellow: { raise: 5, clear: 6 } }, source: t }
`);
    h.read(0, { co: 30 });
    expect(h.last('hi')).toMatchObject({
      value: 30,
      threshold: 26,
      unit: 'u',
      message: 'avg of co over 15 min 30 u ≥ 26 u',
      messageZh: 'avg of co over 15 min 30 u ≥ 26 u',
    });
    h.read(MIN, { co: 2 });
    expect(h.last('lo')).toMatchObject({ value: 2, threshold: 5, message: 'min of co over 15 min 2 u ≤ 5 u' });
    // the average of 30 and 2
    expect(h.last('hi')).toMatchObject({
      status: 'false',
      detail: {
        value: 16,
        threshold: 24,
        message: 'co back to normal: 16 u, below 24 u',
        messageZh: 'co：已恢复正常，16 u（解除值 24 u）',
      },
    });
    h.read(2 * MIN, { co: 10 });
    // the 2 leaves the window at 16 min; the 10 is still in it
    h.advanceTo(16 * MIN);
    expect(h.last('lo')).toMatchObject({
      status: 'false',
      detail: { value: 10, threshold: 6, message: 'co back to normal: 10 u, above 6 u', messageZh: 'co：已恢复正常，10 u（解除值 6 u）' },
    });
  });

  it('use the rule’s name when it has one, in both languages; a window left without data says so', () => {
    const h = one('name: Rain, name_zh: 降雨, aggregate: sum, window: 1h, buckets: 4, levels: { red: { raise: 5 } }');
    h.read(0, { x: 6 });
    expect(h.last('w')).toMatchObject({ message: 'Rain 6 u ≥ 5 u', messageZh: '降雨 6 u ≥ 5 u' });
    h.advanceTo(2 * 60 * MIN);
    expect(h.last('w')).toMatchObject({
      status: 'false',
      detail: { value: null, message: 'Rain back to normal: no data over 1 h', messageZh: '降雨：已恢复正常，1 小时内无数据' },
    });
  });

  it('a velocity or an average left without data keeps its alarm (a quiet station is no all-clear) and is judged again when data comes', () => {
    for (const aggregate of ['avg', 'theil_sen', 'slope', 'min', 'max']) {
      const h = one(`aggregate: ${aggregate}, window: 10m, buckets: 10, levels: { red: { raise: 5, clear: 4 } }`);
      for (let m = 0; m <= 3; m += 1) h.read(m * MIN, { x: 10 + 10 * m });
      expect(h.state('w'), aggregate).toBe('red');
      // the station goes quiet: every sample leaves the window, nothing is known — the red stays, nothing is sent
      const sent = h.changes.length;
      h.advanceTo(60 * MIN);
      expect(h.state('w'), aggregate).toBe('red');
      expect(h.changes.length, aggregate).toBe(sent);
      // it reports again, flat and low: judged, and cleared on the value
      for (let m = 60; m <= 64; m += 1) h.read(m * MIN, { x: 0 });
      expect(h.last('w'), aggregate).toMatchObject({ status: 'false', detail: { value: 0 } });
    }
  });

  it('a transform that judges nothing (a tangent angle below its velocity gate) clears saying what it was given', () => {
    const h = one(
      'name: Angle, name_zh: 切线角, aggregate: theil_sen, per: 1m, window: 10m, buckets: 10, transform: "tangent_angle(value, 1, 3)", levels: { yellow: { raise: 60, clear: 55 } }',
    );
    for (let m = 0; m <= 4; m += 1) h.read(m * MIN, { x: 10 * m });
    expect(h.state('w')).toBe('yellow');
    for (let m = 5; m <= 20; m += 1) h.read(m * MIN, { x: 40 });
    expect(h.last('w')).toMatchObject({
      status: 'false',
      detail: {
        value: null,
        message: 'Angle back to normal: theil_sen of x over 10 min 1.67 u/min, where it is not judged',
        messageZh: '切线角：已恢复正常，x 10 分钟变化速率 1.67 u/min，不在判定范围内',
      },
    });
  });

  it.each([
    ['count', 'aggregate: count', null, 1],
    ['a slope per hour by default', 'aggregate: slope', 'u/h', 60],
    ['a slope per day', 'aggregate: slope, per: 1d', 'u/d', 1440],
    ['a slope per 90 s', 'aggregate: slope, per: 90s', 'u/1.5 min', 1.5],
    ['a robust slope per minute', 'aggregate: theil_sen, per: 1m', 'u/min', 1],
    ['a transform', 'aggregate: max, transform: "value * 2"', null, 2],
    ['a unit given', 'aggregate: max, unit: mm', 'mm', 1],
  ])('report %s in its unit (at the first raise)', (_, fields, unit, value) => {
    const h = one(`${fields}, window: 10m, buckets: 10, levels: { red: { raise: 1e-6 } }`);
    for (let m = 0; m <= 2; m += 1) h.read(m * MIN, { x: m });
    expect(h.last('w')).toMatchObject({ status: 'true', unit, value });
  });
});

describe('window aggregates', () => {
  it('sum and count over the buckets still inside the window', () => {
    const h = harness(`
profile: p
rules:
  - { id: s, kind: window, metric: x, aggregate: sum, window: 10m, buckets: 10, levels: { red: { raise: 100 } }, source: t }
  - { id: c, kind: window, metric: x, aggregate: count, window: 10m, buckets: 10, levels: { red: { raise: 100 } }, source: t }
`);
    for (let m = 0; m < 15; m += 1) h.read(m * MIN, { x: m });
    const states = h.engine.snapshot().devices[0]?.rules.map((r) => (r.state as { value: number }).value);
    // minutes 5…14 are inside the 10-min window at 14 min
    expect(states).toEqual([95, 10]);
  });

  it('gives no verdict before minSamples samples', () => {
    const h = one('aggregate: avg, window: 10m, buckets: 10, minSamples: 3, levels: { red: { raise: 5 } }');
    h.read(0, { x: 9 });
    h.read(MIN, { x: 9 });
    expect(h.changes).toEqual([]);
    h.read(2 * MIN, { x: 9 });
    expect(h.state('w')).toBe('red');
  });

  it('gives no slope from samples that do not spread in time', () => {
    const h = one('aggregate: slope, window: 10m, buckets: 10, levels: { red: { raise: 1e-6 } }');
    h.read(0, { x: 1 });
    expect(h.changes).toEqual([]);
    h.read(MIN, { x: 5 });
    expect(h.state('w')).toBe('red');
  });
});
