import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import { backtest } from './backtest.js';
import type { Reading } from './reading.js';

const rules = (onDelay: string, raise: number) => `
profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    onDelay: ${onDelay}
    levels: { yellow: { raise: ${raise} }, red: { raise: 90 } }
    source: test
  - id: silent
    kind: silence
    ladder: [{ after: 5m, severity: yellow }]
    source: test
`;

describe('backtest', () => {
  const device = { site: 's', device: 'd', profile: 'p', attributes: {} };
  const xs = [50, 65, 65, 65, 40, 40, 75, 75, 75, 75, 40];
  const records: Reading[] = xs.map((x, i) => ({
    site: 's',
    device: 'd',
    profile: 'p',
    ts: i * 60_000,
    receivedAt: i * 60_000 + 100,
    metrics: { x },
  }));

  it('reports no difference for the same set', () => {
    const set = ruleSetFromYaml(rules('0', 60));
    const result = backtest(records, set, set, [device], { tailMs: 10 * 60_000 });
    expect(result.differences).toEqual([]);
    expect(result.current.length).toBeGreaterThan(0);
  });

  it('lists raised-only, timing and silence-from-the-clock differences in virtual time', () => {
    const result = backtest(records, ruleSetFromYaml(rules('0', 60)), ruleSetFromYaml(rules('2m', 70)), [device], { tailMs: 10 * 60_000 });
    const summary = result.differences.map((d) => `${d.type} ${d.key}`);
    expect(summary).toContain('only_current s/d/t');
    const timing = result.differences.find((d) => d.type === 'timing');
    expect(timing).toMatchObject({ key: 's/d/t', raisedDeltaMs: 120_000 });
    expect(result.current.find((e) => e.rule === 'silent')).toMatchObject({ raisedAt: 10 * 60_000 + 100 + 5 * 60_000 });
  });
});
