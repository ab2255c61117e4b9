import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { formatProblem, parseRuleFile } from '../parse-rule-file.js';
import { RATE_MAX_SAMPLES, type RateRule, rateMagnitude } from './rate.js';

const problemsOf = (fields: string): string[] => {
  const parsed = parseRuleFile(
    `profile: p\nrules:\n  - { id: r, kind: rate, metric: x, direction: rise, ${fields}, levels: { red: { raise: 1 } }, source: t }\n`,
    'p.yaml',
  );
  return parsed.ok ? [] : parsed.problems.map((p) => formatProblem({ ...p, line: null }));
};

describe('rate rule checks', () => {
  it('wants a positive window and per, and minSpan within (0, window]', () => {
    expect(problemsOf('window: 0')).toEqual(['p.yaml rules[0].window: window must be positive']);
    expect(problemsOf('window: 2s, per: 0')).toEqual(['p.yaml rules[0].per: per must be positive']);
    expect(problemsOf('window: 2s, minSpan: 0')).toEqual(['p.yaml rules[0].minSpan: minSpan must be positive and at most the window']);
    expect(problemsOf('window: 2s, minSpan: 2001')).toEqual(['p.yaml rules[0].minSpan: minSpan must be positive and at most the window']);
    expect(problemsOf('window: 2s, minSpan: 2s, per: 1')).toEqual([]);
  });
});

describe('rate messages and units', () => {
  it('say falling or rising, the rate and the limit, in English and Chinese (named by the rule there); the clear says so in its own words', () => {
    const h = harness(`
profile: p
rules:
  - { id: falling, kind: rate, metric: pressure, direction: fall, window: 2s, levels: { red: { raise: 0.03, clear: 0.01 } }, source: t }
  - { id: rising, kind: rate, name: Level, name_zh: 液位, metric: pressure, direction: rise, window: 2s, levels: { red: { raise: 0.03 } }, source: t }
`);
    h.read(0, { pressure: 0.2 });
    h.read(2000, { pressure: 0.1 });
    expect(h.last('falling')).toMatchObject({
      message: 'pressure falling 0.05 u/s (limit 0.03 u/s)',
      messageZh: 'falling：下降速率 0.05 u/s（限值 0.03 u/s）',
    });
    h.read(4000, { pressure: 0.2 });
    expect(h.last('falling')).toMatchObject({
      status: 'false',
      detail: {
        value: 0,
        threshold: 0.01,
        message: 'pressure back to normal: changing 0 u/s, below 0.01 u/s',
        messageZh: 'falling：已恢复正常，变化速率 0 u/s（解除值 0.01 u/s）',
      },
    });
    expect(h.last('rising')).toMatchObject({
      message: 'Level rising 0.05 u/s (limit 0.03 u/s)',
      messageZh: '液位：上升速率 0.05 u/s（限值 0.03 u/s）',
    });
    h.read(6000, { pressure: 0.2 });
    expect(h.last('rising')).toMatchObject({
      status: 'false',
      detail: { message: 'Level back to normal: changing 0 u/s, below 0.03 u/s' },
    });
  });

  it.each([
    ['1s', 'u/s', 1],
    ['1m', 'u/min', 60],
    ['1h', 'u/h', 3600],
    ['1d', 'u/d', 86_400],
    ['90s', 'u/1.5 min', 90],
  ])('gives the rate per %s in %s', (per, unit, seconds) => {
    const h = harness(`
profile: p
rules:
  - { id: r, kind: rate, metric: x, direction: rise, window: 10s, per: ${per}, levels: { red: { raise: 1e-9 } }, source: t }
`);
    h.read(0, { x: 0 });
    h.read(10_000, { x: 1 });
    expect(h.last('r')).toMatchObject({ unit, value: 0.1 * seconds });
  });

  it('relative: the change in % of the value it started from, scaled to one window when the samples span more', () => {
    const rule = `
profile: p
rules:
  - { id: drop, kind: rate, metric: flow, direction: fall, mode: relative, window: 2s, levels: { red: { raise: 0.001 } }, source: t }
`;
    const h = harness(rule);
    h.read(0, { flow: 300 });
    h.read(2000, { flow: 240 });
    expect(h.last('drop')).toMatchObject({ value: 20, unit: '%/2 s', message: 'flow falling 20 %/2 s (limit 0.001 %/2 s)' });
    const sparse = harness(rule);
    sparse.read(0, { flow: 300 });
    sparse.read(4000, { flow: 240 });
    expect(sparse.last('drop')).toMatchObject({ value: 10 });
    const negative = harness(rule);
    negative.read(0, { flow: -300 });
    negative.read(2000, { flow: -360 });
    expect(negative.last('drop')).toMatchObject({ value: 20 });
  });

  it('relative: a change from zero has no percentage, so no verdict', () => {
    const h = harness(`
profile: p
rules:
  - { id: surge, kind: rate, metric: flow, direction: rise, mode: relative, window: 2s, levels: { red: { raise: 1 } }, source: t }
`);
    h.read(0, { flow: 0 });
    h.read(2000, { flow: 50 });
    expect(h.changes).toEqual([]);
  });
});

describe('rate over more samples than it keeps', () => {
  const rule = `
profile: p
rules:
  - { id: r, kind: rate, metric: x, direction: rise, window: 10m, per: 1m, levels: { red: { raise: 1 } }, source: t }
`;

  it('a 10-minute window at 1 Hz (600 samples, 256 kept) still judges its whole window, with bounded memory', () => {
    const h = harness(rule);
    // 5 per minute, five times the limit: judged once the window is covered, at its slope
    for (let s = 0; s <= 900; s += 1) h.read(s * 1000, { x: s / 12 });
    const raised = h.changes.find((c) => c.verdict.status === 'true');
    expect(raised?.at).toBe(600_000);
    expect(raised?.verdict).toMatchObject({ severity: 'red', value: 5 });
    const state = h.engine.snapshot().devices[0]?.rules[0]?.state as { ts: number[] };
    expect(state.ts.length).toBeLessThanOrEqual(RATE_MAX_SAMPLES);
  });

  it('…and a flat signal with bounded noise stays quiet however long it runs', () => {
    const h = harness(rule);
    for (let s = 0; s <= 3600; s += 1) h.read(s * 1000, { x: 20 + (s % 2 === 0 ? 0.4 : -0.4) });
    expect(h.changes).toEqual([]);
  });
});

describe('rate details', () => {
  it('rateMagnitude measures from the newest sample at least a window old, else from the oldest', () => {
    const parsed = parseRuleFile(
      'profile: p\nrules:\n  - { id: r, kind: rate, metric: x, direction: rise, window: 2s, levels: { red: { raise: 1 } }, source: t }\n',
      'p.yaml',
    );
    if (!parsed.ok) throw new Error('fixture');
    const def = parsed.file.rules?.[0] as RateRule;
    expect(rateMagnitude(def, [0, 1000, 2000, 3000], [0, 1, 2, 10])).toBe(4.5);
    expect(rateMagnitude(def, [0, 500, 2500], [0, 1, 5])).toBe(2);
    expect(rateMagnitude(def, [0, 1999], [0, 5])).toBeNull();
    expect(rateMagnitude(def, [0], [0])).toBeNull();
    expect(rateMagnitude(def, [0, 2000], [5, 1])).toBe(0);
  });

  it('reports the level it is raised at, waits out an on-delay, and a pending that ends is no clear', () => {
    const h = harness(`
profile: p
rules:
  - { id: r, kind: rate, metric: x, direction: rise, window: 1s, onDelay: 2s, levels: { yellow: { raise: 1 }, red: { raise: 10 } }, source: t }
`);
    h.read(0, { x: 0 });
    h.read(1000, { x: 20 });
    expect(h.state('r')).toBe('pending');
    h.read(2000, { x: 20 });
    expect(h.last('r')).toEqual({ status: 'false' });
    h.read(3000, { x: 40 });
    h.advanceTo(5000);
    expect(h.last('r')).toMatchObject({ status: 'true', severity: 'red', threshold: 10, value: 20 });
  });

  it('a metric without a unit reads per time alone; the guard decides on its own readings', () => {
    const h = harness(
      '\nprofile: p\nrules:\n  - { id: r, kind: rate, metric: x, direction: rise, window: 1s, when: running, levels: { red: { raise: 1 } }, source: t }\n',
      { deps: { unitOf: () => null } },
    );
    h.read(0, { x: 0, running: false });
    h.read(1000, { x: 5 });
    expect(h.changes).toEqual([]);
    h.read(1500, { running: true });
    expect(h.last('r')).toMatchObject({ severity: 'red', unit: '/s', value: 5 });
  });
});
