import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { formatProblem, parseRuleFile } from '../parse-rule-file.js';

const MIN = 60_000;

describe('range rule details', () => {
  it('wants min below max', () => {
    const problems = (bounds: string) => {
      const parsed = parseRuleFile(`profile: p\nrules:\n  - { id: r, kind: range, metric: x, ${bounds}, source: t }\n`, 'p.yaml');
      return parsed.ok ? [] : parsed.problems.map(formatProblem);
    };
    expect(problems('min: 5, max: 5')).toEqual(['p.yaml:3:43 rules[0].min: min must be below max']);
    expect(problems('min: 6, max: 5')).toEqual(['p.yaml:3:43 rules[0].min: min must be below max']);
    expect(problems('min: 4, max: 5')).toEqual([]);
  });

  it('says which sensor, its value and range, and how many more are out, in English and Chinese', () => {
    const ranges: Record<string, { min: number; max: number }> = { a: { min: -40, max: 600 }, b: { min: 0, max: 10 } };
    const h = harness('\nprofile: p\nrules:\n  - { id: fault, kind: range, source: t }\n', {
      deps: { rangeOf: (_p, m) => ranges[m] ?? null },
    });
    h.read(0, { a: -50 });
    expect(h.last('fault')).toMatchObject({
      severity: 'orange',
      metric: 'a',
      value: -50,
      threshold: -40,
      message: 'Sensor fault: a -50 u outside its physical range -40…600',
      messageZh: '传感器故障：a -50 u 超出物理量程 -40…600',
    });
    // the rule's Chinese name when it has one (a power meter's 电表故障)
    const named = harness('\nprofile: p\nrules:\n  - { id: fault, kind: range, name_zh: 电表故障, source: t }\n', {
      deps: { rangeOf: (_p, m) => ranges[m] ?? null },
    });
    named.read(0, { a: -50 });
    expect(named.last('fault')).toMatchObject({ messageZh: '电表故障：a -50 u 超出物理量程 -40…600' });
    const two = harness('\nprofile: p\nrules:\n  - { id: fault, kind: range, source: t }\n', {
      deps: { rangeOf: (_p, m) => ranges[m] ?? null },
    });
    two.read(0, { b: 11, a: 700 });
    expect(two.last('fault')).toMatchObject({
      metric: 'b',
      value: 11,
      threshold: 10,
      message: 'Sensor fault: b 11 u outside its physical range 0…10 (+1 more)',
      messageZh: '传感器故障：b 11 u 超出物理量程 0…10（另有 1 项）',
    });
  });

  it('takes the bounds the rule gives and the rest from the profile', () => {
    const h = harness('\nprofile: p\nrules:\n  - { id: f, kind: range, metric: x, min: 10, severity: red, source: t }\n', {
      deps: { rangeOf: () => ({ min: 0, max: 100 }) },
    });
    h.read(0, { x: 5 });
    expect(h.last('f')).toMatchObject({ severity: 'red', threshold: 10 });
    h.read(1, { x: 50 });
    expect(h.state('f')).toBe('false');
    h.read(2, { x: 150 });
    expect(h.last('f')).toMatchObject({ threshold: 100, message: 'Sensor fault: x 150 u outside its physical range 10…100' });
  });

  it('ignores metrics without a range, values that are not numbers, and a metric named __proto__', () => {
    const h = harness('\nprofile: p\nrules:\n  - { id: f, kind: range, source: t }\n', { deps: { rangeOf: () => ({ min: 0, max: 1 }) } });
    h.read(0, { s: 'on', flag: true });
    h.read(1, JSON.parse('{"__proto__": 5}'));
    expect(h.changes).toEqual([]);
    const none = harness('\nprofile: p\nrules:\n  - { id: f, kind: range, source: t }\n');
    none.read(0, { x: 1e12 });
    expect(none.changes).toEqual([]);
  });

  it('a fault back in range before its on-delay is never raised; the delay runs from the first fault still out', () => {
    const h = harness('\nprofile: p\nrules:\n  - { id: f, kind: range, min: 0, max: 10, onDelay: 5s, source: t }\n');
    h.read(0, { x: 11 });
    h.read(1000, { y: 12 });
    expect(h.engine.nextDueAt()).toBe(5000);
    h.read(2000, { x: 5 });
    expect(h.engine.nextDueAt()).toBe(6000);
    h.advanceTo(5999);
    expect(h.state('f')).toBe('pending');
    h.advanceTo(6000);
    expect(h.last('f')).toMatchObject({ severity: 'orange', metric: 'y', value: 12 });
    h.read(7000, { y: 5 });
    expect(h.state('f')).toBe('false');
    expect(h.engine.nextDueAt()).toBeNull();
  });
});

describe('stuck rule details', () => {
  const rule = (fields = '') => `\nprofile: p\nrules:\n  - { id: st, kind: stuck, metric: dp, window: 30m, source: t${fields} }\n`;

  it('says where and how long the value stuck, in English and Chinese, with ε as the threshold', () => {
    const h = harness(rule(', epsilon: 0.5, name: Filter ΔP, name_zh: 滤袋压差'));
    for (let m = 0; m <= 30; m += 10) h.read(m * MIN, { dp: 1200 });
    expect(h.last('st')).toMatchObject({
      severity: 'yellow',
      value: 1200,
      threshold: 0.5,
      message: 'Filter ΔP stuck at 1200 u for 30 min (sensor stuck)',
      messageZh: '滤袋压差：读数停滞在 1200 u 已 30 分钟（传感器卡死）',
    });
    const plain = harness(rule());
    for (let m = 0; m <= 30; m += 10) plain.read(m * MIN, { dp: 7 });
    expect(plain.last('st')).toMatchObject({
      message: 'dp stuck at 7 u for 30 min (sensor stuck)',
      messageZh: 'st：读数停滞在 7 u 已 30 分钟（传感器卡死）',
    });
    // a rule named for what it finds does not say it twice
    const named = harness(rule(', name: ΔP transmitter stuck'));
    for (let m = 0; m <= 30; m += 10) named.read(m * MIN, { dp: 1150 });
    expect(named.last('st')).toMatchObject({ message: 'ΔP transmitter stuck at 1150 u for 30 min (sensor stuck)' });
  });

  it('needs the whole window and minSamples samples, and ε 0 means exactly constant', () => {
    const two = harness(rule());
    two.read(0, { dp: 1 });
    two.read(30 * MIN, { dp: 1 });
    expect(two.changes).toEqual([]);
    two.read(31 * MIN, { dp: 1 });
    expect(two.state('st')).toBe('yellow');
    const short = harness(rule(', minSamples: 2'));
    short.read(0, { dp: 1 });
    short.read(30 * MIN - 1, { dp: 1 });
    expect(short.changes).toEqual([]);
    short.read(30 * MIN, { dp: 1 });
    expect(short.state('st')).toBe('yellow');
    const moving = harness(rule(', minSamples: 2'));
    moving.read(0, { dp: 1 });
    moving.read(15 * MIN, { dp: 1.001 });
    moving.read(40 * MIN, { dp: 1.001 });
    // the run started again at 15 min
    expect(moving.changes).toEqual([]);
    moving.read(45 * MIN, { dp: 1.001 });
    expect(moving.state('st')).toBe('yellow');
  });

  it('measures the spread of the whole run against ε, not step by step', () => {
    const h = harness(rule(', epsilon: 1, minSamples: 2'));
    h.read(0, { dp: 10 });
    h.read(10 * MIN, { dp: 10.6 });
    h.read(20 * MIN, { dp: 11.2 });
    // 11.2 − 10 > 1: a new run from 20 min
    h.read(40 * MIN, { dp: 11 });
    expect(h.changes).toEqual([]);
    h.read(50 * MIN, { dp: 10.4 });
    expect(h.state('st')).toBe('yellow');
  });

  it('clears when the guard stops holding, and starts over when it holds again', () => {
    const h = harness(rule(', when: fan'));
    for (let m = 0; m <= 30; m += 10) h.read(m * MIN, { dp: 5, fan: true });
    expect(h.state('st')).toBe('yellow');
    h.read(31 * MIN, { fan: false });
    expect(h.state('st')).toBe('false');
    h.read(32 * MIN, { dp: 5, fan: true });
    h.read(50 * MIN, { dp: 5 });
    h.read(61 * MIN, { dp: 5 });
    expect(h.state('st')).toBe('false');
    h.read(62 * MIN, { dp: 5 });
    expect(h.state('st')).toBe('yellow');
  });
});

describe('range and stuck rule details, more', () => {
  const range = (fields: string, rangeOf?: () => { min: number; max: number }) =>
    harness(`\nprofile: p\nrules:\n  - { id: f, kind: range, metric: x, source: t${fields} }\n`, rangeOf ? { deps: { rangeOf } } : {});

  it('a rule with one bound: the other from the profile, or none; a value on a bound is in range', () => {
    const maxOnly = range(', max: 100', () => ({ min: 0, max: 1000 }));
    maxOnly.read(0, { x: -1 });
    expect(maxOnly.last('f')).toMatchObject({ status: 'true', threshold: 0 });
    const minOnly = range(', min: 0');
    minOnly.read(0, { x: 0 });
    expect(minOnly.changes).toEqual([]);
    minOnly.read(1, { x: -1 });
    expect(minOnly.last('f')).toMatchObject({
      status: 'true',
      value: -1,
      threshold: 0,
      message: 'Sensor fault: x -1 u below its physical minimum 0',
      messageZh: '传感器故障：x -1 u 低于物理量程下限 0',
    });
    const onlyMax = range(', max: 100');
    onlyMax.read(0, { x: 100 });
    expect(onlyMax.changes).toEqual([]);
    onlyMax.read(1, { x: 101 });
    expect(onlyMax.last('f')).toMatchObject({
      status: 'true',
      value: 101,
      threshold: 100,
      message: 'Sensor fault: x 101 u above its physical maximum 100',
      messageZh: '传感器故障：x 101 u 高于物理量程上限 100',
    });
    // a bound from the profile that is not a finite number is no bound
    const infinite = range('', () => ({ min: Number.NEGATIVE_INFINITY, max: 5 }));
    infinite.read(0, { x: 6 });
    expect(infinite.last('f')).toMatchObject({ threshold: 5, message: 'Sensor fault: x 6 u above its physical maximum 5' });
  });

  it('the on-delay runs from the fault, and again for a fault after a clear', () => {
    const h = range(', min: 0, max: 10, onDelay: 5s');
    h.read(3000, { x: 11 });
    expect(h.last('f')).toEqual({ status: 'pending', dueAt: 8000 });
    h.advanceTo(8000);
    expect(h.state('f')).toBe('orange');
    h.read(9000, { x: 5 });
    expect(h.state('f')).toBe('false');
    h.read(10_000, { x: 12 });
    expect(h.last('f')).toEqual({ status: 'pending', dueAt: 15_000 });
  });

  const stuck = (fields = '') =>
    harness(`\nprofile: p\nrules:\n  - { id: st, kind: stuck, metric: dp, window: 30m, source: t${fields} }\n`);

  it('a sensor stuck at 0 is flagged, and the message counts from the start of the run', () => {
    const h = stuck();
    for (let m = 10; m <= 40; m += 10) h.read(m * MIN, { dp: 0 });
    expect(h.last('st')).toMatchObject({
      status: 'true',
      value: 0,
      message: 'dp stuck at 0 u for 30 min (sensor stuck)',
      messageZh: 'st：读数停滞在 0 u 已 30 分钟（传感器卡死）',
    });
  });

  it('up and then down by more than ε in all starts a new run', () => {
    const h = stuck(', epsilon: 0.6, minSamples: 2');
    h.read(0, { dp: 0 });
    h.read(10 * MIN, { dp: 0.5 });
    // 0.5 − (−0.3) > 0.6: a new run from 20 min
    h.read(20 * MIN, { dp: -0.3 });
    h.read(30 * MIN, { dp: -0.3 });
    expect(h.changes).toEqual([]);
  });

  it('decided on data only: readings without its metric raise nothing, with a guard or without', () => {
    const plain = stuck(', minSamples: 2');
    plain.read(0, { dp: 5 });
    plain.read(10 * MIN, { dp: 5 });
    plain.read(40 * MIN, { other: 1 });
    expect(plain.changes).toEqual([]);
    const guarded = stuck(', minSamples: 2, when: fan');
    guarded.read(0, { dp: 5, fan: true });
    guarded.read(10 * MIN, { dp: 5 });
    guarded.read(40 * MIN, { other: 1 });
    expect(guarded.changes).toEqual([]);
  });
});
