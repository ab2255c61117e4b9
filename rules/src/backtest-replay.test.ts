import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import { type AlarmEpisode, backtest, compareEpisodes } from './backtest.js';
import type { Reading } from './reading.js';

const MIN = 60_000;
const device = { site: 's', device: 'd', profile: 'p', attributes: {} };
const reading = (at: number, metrics: Reading['metrics'], ts = at): Reading => ({
  site: 's',
  device: 'd',
  profile: 'p',
  ts,
  receivedAt: at,
  metrics,
});
const set = (rules: string) => ruleSetFromYaml(`profile: p\nrules:\n${rules}`);
const threshold = (extra = '') =>
  set(`  - { id: t, kind: threshold, metric: x, levels: { yellow: { raise: 60 }, red: { raise: 90 } }${extra}, source: t }\n`);
const silence = (ladder = '') => set(`  - { id: quiet, kind: silence${ladder}, source: t }\n`);

describe('backtest replay', () => {
  it('replays nothing: no readings, no period, no alarm', () => {
    const result = backtest([], threshold(), threshold(), [device]);
    expect(result).toEqual({ readings: 0, late: 0, from: null, to: null, current: [], candidate: [], differences: [] });
  });

  it('runs from the first arrival to the last plus the tail, readings taken in order of arrival whatever order they came in', () => {
    const xs = [70, 50, 95, 40];
    const records = xs.map((x, i) => reading(60 * MIN + i * MIN, { x })).reverse();
    const result = backtest(records, threshold(), threshold(), [device], { tailMs: 5 * MIN });
    expect(result).toMatchObject({ readings: 4, from: 60 * MIN, to: 63 * MIN + 5 * MIN });
    expect(result.current).toEqual([
      {
        key: 's/d/t',
        rule: 't',
        raisedAt: 60 * MIN,
        clearedAt: 61 * MIN,
        severity: 'yellow',
        maxSeverity: 'yellow',
        message: expect.any(String),
      },
      // a jump to red passes yellow: the episode starts at yellow
      {
        key: 's/d/t',
        rule: 't',
        raisedAt: 62 * MIN,
        clearedAt: 63 * MIN,
        severity: 'yellow',
        maxSeverity: 'red',
        message: expect.any(String),
      },
    ]);
  });

  it('counts readings older than the last one taken as late', () => {
    const x = { x: 10 };
    const records = [reading(0, x), reading(MIN, x), reading(2 * MIN, x, 30_000), reading(3 * MIN, x), reading(4 * MIN, x, 30_000)];
    expect(backtest(records, threshold(), threshold(), [device]).late).toBe(2);
    // one stamped ahead of its arrival counts at its arrival, as in the gateway: the next one is not late
    const ahead = [reading(0, x), reading(MIN, x, 2 * MIN), reading(2 * MIN, x, 90_000)];
    expect(backtest(ahead, threshold(), threshold(), [device]).late).toBe(0);
    expect(backtest(records.slice(0, 1), threshold(), threshold(), [device]).late).toBe(0);
  });

  it('keeps an episode open through an off-delay and records its highest severity', () => {
    const xs = [65, 95, 40, 40, 40, 40];
    const records = xs.map((x, i) => reading(i * MIN, { x }));
    const result = backtest(records, threshold(', offDelay: 2m'), threshold(), [device]);
    expect(result.current).toEqual([expect.objectContaining({ raisedAt: 0, clearedAt: 4 * MIN, severity: 'yellow', maxSeverity: 'red' })]);
    expect(result.candidate).toEqual([
      expect.objectContaining({ raisedAt: 0, clearedAt: 2 * MIN, severity: 'yellow', maxSeverity: 'red' }),
    ]);
    expect(result.differences).toEqual([expect.objectContaining({ type: 'timing', raisedDeltaMs: 0, clearedDeltaMs: -2 * MIN })]);
  });

  it('keeps an episode’s highest severity when it comes down again before it clears', () => {
    const records = [65, 95, 70, 40].map((x, i) => reading(i * MIN, { x }));
    const result = backtest(records, threshold(), threshold(), [device]);
    expect(result.current).toEqual([expect.objectContaining({ raisedAt: 0, clearedAt: 3 * MIN, severity: 'yellow', maxSeverity: 'red' })]);
  });

  it('starts the devices’ silence clocks at the first arrival and runs timers due exactly at the end', () => {
    const records = [reading(60 * MIN, { x: 1 })];
    const result = backtest(records, silence(', ladder: [{ after: 5m, severity: orange }]'), silence(), [device], { tailMs: 5 * MIN });
    expect(result.current).toEqual([expect.objectContaining({ rule: 'quiet', raisedAt: 65 * MIN, clearedAt: null, severity: 'orange' })]);
    // the default ladder: 3 reporting intervals, 1 min without one
    expect(result.candidate).toEqual([expect.objectContaining({ raisedAt: 63 * MIN })]);
  });

  it('passes the profile’s reporting interval, cadence and physical ranges to the engine', () => {
    const records = [reading(0, { x: 150 })];
    const rules = set('  - { id: quiet, kind: silence, source: t }\n  - { id: fault, kind: range, source: t }\n');
    const plain = backtest(records, rules, rules, [device], { tailMs: 120 * MIN });
    expect(plain.current.map((e) => `${e.rule} ${e.raisedAt}`)).toEqual(['quiet 180000']);
    const withInterval = backtest(records, rules, rules, [device], { tailMs: 120 * MIN, reportingIntervalOf: () => 10 * MIN });
    expect(withInterval.current.map((e) => `${e.rule} ${e.raisedAt}`)).toEqual([`quiet ${30 * MIN}`]);
    const withCadence = backtest(records, rules, rules, [device], {
      tailMs: 120 * MIN,
      cadenceOf: () => ({ minMs: 20 * MIN, maxMs: 20 * MIN }),
    });
    expect(withCadence.current.map((e) => `${e.rule} ${e.raisedAt}`)).toEqual([`quiet ${60 * MIN}`]);
    const withRange = backtest(records, rules, rules, [device], { rangeOf: () => ({ min: 0, max: 100 }) });
    expect(withRange.current.map((e) => e.rule)).toEqual(['fault']);
  });

  it('judges a known device with its attributes and an unknown one without', () => {
    const rules = set('  - { id: t, kind: threshold, metric: x, levels: { yellow: { raise: "attr.setpoint" } }, source: t }\n');
    const records = [reading(0, { x: 5 }), { ...reading(0, { x: 5 }), device: 'other' }];
    const result = backtest(records, rules, rules, [{ ...device, attributes: { setpoint: 2 } }]);
    expect(result.current.map((e) => e.key)).toEqual(['s/d/t']);
  });

  it('with attributesOf, judges devices with their attributes as the gateway holds them: defaults filled in, listed or not', () => {
    const rules = set('  - { id: t, kind: threshold, metric: x, levels: { yellow: { raise: "attr.setpoint" } }, source: t }\n');
    const records = [reading(0, { x: 5 }), { ...reading(0, { x: 5 }), device: 'other' }, { ...reading(0, { x: 5 }), device: 'high' }];
    const attributesOf = (_profile: string, given: Readonly<Record<string, unknown>>) => {
      if (given.setpoint !== undefined && typeof given.setpoint !== 'number') throw new Error('setpoint: a number');
      return { setpoint: 2, ...given } as Record<string, number>;
    };
    const result = backtest(
      records,
      rules,
      rules,
      [
        { ...device, attributes: {} },
        { ...device, device: 'high', attributes: { setpoint: 9 } },
      ],
      {
        attributesOf,
      },
    );
    expect(result.current.map((e) => e.key).sort()).toEqual(['s/d/t', 's/other/t']);
    expect(() => backtest(records, rules, rules, [{ ...device, attributes: { setpoint: 'x' } }], { attributesOf })).toThrow(
      'device s/d: setpoint: a number',
    );
    // a profile whose defaults are not valid alone (a required attribute): an unlisted device has none
    const required = () => {
      throw new Error('setpoint: required');
    };
    expect(backtest(records.slice(1, 2), rules, rules, [], { attributesOf: required }).current).toEqual([]);
  });

  it('leaves out timing differences within the tolerance', () => {
    const records = [65, 65, 65, 40].map((x, i) => reading(i * MIN, { x }));
    const late = threshold(', onDelay: 1m');
    expect(backtest(records, threshold(), late, [device]).differences.map((d) => d.type)).toEqual(['timing']);
    expect(backtest(records, threshold(), late, [device], { toleranceMs: MIN }).differences).toEqual([]);
  });
});

const episode = (key: string, raisedAt: number, clearedAt: number | null, severity = 'yellow', maxSeverity = severity): AlarmEpisode =>
  ({ key, rule: key, raisedAt, clearedAt, severity, maxSeverity, message: '' }) as AlarmEpisode;
const summary = (current: AlarmEpisode[], candidate: AlarmEpisode[], tolerance = 0) =>
  compareEpisodes(current, candidate, tolerance).map((d) => `${d.type} ${d.key}`);

describe('compareEpisodes', () => {
  it('pairs episodes of the same key that overlap, touching at an end included', () => {
    expect(summary([episode('a', 0, 1000)], [episode('a', 1000, 2000)])).toEqual(['timing a']);
    expect(summary([episode('a', 1000, 2000)], [episode('a', 0, 1000)])).toEqual(['timing a']);
    expect(summary([episode('a', 0, 1000)], [episode('a', 1001, 2000)])).toEqual(['only_current a', 'only_candidate a']);
    expect(summary([episode('a', 1001, 2000)], [episode('a', 0, 1000)])).toEqual(['only_current a', 'only_candidate a']);
    expect(summary([episode('a', 0, 1000)], [episode('b', 0, 1000)])).toEqual(['only_current a', 'only_candidate b']);
  });

  it('pairs each candidate episode once', () => {
    expect(summary([episode('a', 0, null), episode('a', 0, null)], [episode('a', 0, null)])).toEqual(['only_current a']);
  });

  it('reports a different first or highest severity', () => {
    expect(summary([episode('a', 0, 10, 'yellow', 'red')], [episode('a', 0, 10, 'yellow', 'orange')])).toEqual(['severity a']);
    expect(summary([episode('a', 0, 10, 'yellow', 'red')], [episode('a', 0, 10, 'orange', 'red')])).toEqual(['severity a']);
    expect(summary([episode('a', 0, 10, 'yellow', 'red')], [episode('a', 0, 10, 'yellow', 'red')])).toEqual([]);
  });

  it('reports a clear time beyond the tolerance, and one run clearing where the other does not', () => {
    expect(compareEpisodes([episode('a', 0, 1000)], [episode('a', 0, 3000)], 1000)).toEqual([
      expect.objectContaining({ type: 'timing', raisedDeltaMs: 0, clearedDeltaMs: 2000 }),
    ]);
    expect(compareEpisodes([episode('a', 0, 1000)], [episode('a', 0, 2000)], 1000)).toEqual([]);
    expect(compareEpisodes([episode('a', 0, null)], [episode('a', 0, 1000)], 1000)).toEqual([
      expect.objectContaining({ type: 'timing', raisedDeltaMs: 0, clearedDeltaMs: null }),
    ]);
  });

  it('lists the differences by key, a pair’s severity before its timing', () => {
    const current = [episode('c', 0, 10), episode('a', 0, 10, 'red'), episode('b', 0, 10)];
    const candidate = [episode('a', 5, 10), episode('d', 0, 10)];
    expect(summary(current, candidate)).toEqual(['severity a', 'timing a', 'only_current b', 'only_current c', 'only_candidate d']);
    expect(summary([episode('b', 0, 10), episode('a', 0, 10)], [])).toEqual(['only_current a', 'only_current b']);
  });
});
