import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import { createAlarmBook } from './alarm-book.js';
import type { DeviceContext, MetricValue } from './reading.js';
import { createRuleEngine, type VerdictChange } from './rule-engine.js';
import { validateRuleSet } from './validate-rule-set.js';

const MIN = 60_000;

// a safety sub-meter off is no alarm by itself (the fan is off every night); off while a line produces is red
const METERS = `
profile: meter
rules:
  - { id: fan_off, kind: expression, condition: "kw < 5", severity: blue, onDelay: 2m, alarm: false, source: t }
  - { id: line_busy, kind: expression, condition: "kw > 100", severity: blue, alarm: false, source: t }
  - { id: both, kind: expression, condition: "rule.fan_off != none and rule.line_busy != none", severity: orange, source: t }
  - { id: off_while_producing, kind: group, members: { rules: [fan_off] }, require: any, severity: red,
      while: { condition: "kw > 100" }, message: "fan off while producing: {points}", source: t }
`;

const meter = (device: string): DeviceContext => ({ site: 's', device, profile: 'meter', attributes: {} });

function plant(yaml = METERS) {
  const engine = createRuleEngine({ rules: ruleSetFromYaml(yaml), unitOf: () => 'kW' });
  const book = createAlarmBook({
    newAlarmId: (() => {
      let n = 0;
      return () => `alm_${++n}`;
    })(),
    flapping: false,
  });
  const seen: string[] = [];
  const take = (changes: readonly VerdictChange[]) => {
    for (const change of changes) {
      seen.push(`${change.key} ${change.verdict.status}`);
      book.applyAll([change]);
    }
  };
  const read = (ctx: DeviceContext, ts: number, metrics: Record<string, MetricValue>) =>
    take(engine.onReading({ site: ctx.site, device: ctx.device, profile: ctx.profile, ts, metrics }, ctx).changes);
  const tick = (now: number) => take(engine.tick(now));
  const open = () => book.list({ state: 'open' }).map((a) => `${a.key} ${a.severity} ${a.state}`);
  return { engine, book, seen, read, tick, open };
}

describe('words a rule gives that its kind would never say', () => {
  it('clear_message on a kind whose clear does not use it, when_name without a guard or on a kind that does not say it, are refused', () => {
    const problems = validateRuleSet(
      ruleSetFromYaml(`
profile: meter
rules:
  - { id: il, kind: expect, trigger: "kw > 5", expect: ["ok"], within: 1s, clear_message: "back", source: t }
  - { id: hot, kind: threshold, metric: kw, levels: { red: { raise: 9 } }, when_name: the run, source: t }
  - { id: flat, kind: stuck, metric: kw, window: 1h, when: "kw > 1", when_name: load, source: t }
  - { id: fine, kind: expression, condition: "kw > 5", severity: red, when: running, when_name: the run, clear_message: "ok", source: t }
`),
    );
    expect(problems).toEqual([
      "meter/il: clear_message: the expect kind's clear does not use it",
      'meter/hot: when_name: names a when guard the rule does not have',
      "meter/flat: when_name: the stuck kind's clear does not use it",
    ]);
  });

  it('an expression rule whose guard ends says so in its when_name, not its clear_message', () => {
    const h = plant(`
profile: meter
rules:
  - { id: fine, kind: expression, condition: "kw > 5", severity: red, when: running, when_name: the run, when_name_zh: 运行, clear_message: "kw fine", source: t }
`);
    const m = meter('m');
    h.read(m, 0, { kw: 9, running: true });
    h.read(m, MIN, { kw: 9, running: false });
    expect(h.book.list({ state: 'open' })[0]?.message).toBe('fine: no longer judged, the run ended');
  });
});

describe('a rule without an alarm (alarm: false)', () => {
  it('raises nothing itself, yet its group sees it: the fan off at night is quiet, off while a line produces is red', () => {
    const p = plant();
    const fan = meter('fan-1');
    const line = meter('line-1');
    p.read(line, 0, { kw: 20 });
    p.read(fan, 0, { kw: 1 });
    p.tick(2 * MIN);
    // night: the fan is off, nothing produces — no alarm at all, though the rule's verdict is kept
    expect(p.open()).toEqual([]);
    expect(p.seen).toEqual([]);
    expect(p.engine.verdicts()).toContainEqual({ key: 's/fan-1/fan_off', status: 'true', severity: 'blue' });
    // the line starts: the group (re-judged on the line's reading) is red and names the fan
    p.read(line, 3 * MIN, { kw: 300 });
    expect(p.open()).toEqual(['s/_site/off_while_producing red active']);
    expect(p.book.list({ state: 'open' })[0]?.message).toBe('fan off while producing: fan-1');
    p.read(fan, 4 * MIN, { kw: 40 });
    expect(p.open()).toEqual(['s/_site/off_while_producing red cleared']);
    expect(p.seen.some((s) => s.startsWith('s/fan-1/fan_off'))).toBe(false);
  });

  it('a change made by the clock alone (its on-delay running out) reaches the group', () => {
    const p = plant();
    p.read(meter('line-1'), 0, { kw: 300 });
    p.read(meter('fan-1'), 0, { kw: 1 });
    expect(p.open()).toEqual([]);
    // no reading: the fan's off-state settles on the clock, and the site's group is judged again
    p.tick(2 * MIN);
    expect(p.open()).toEqual(['s/_site/off_while_producing red active']);
  });

  it('is read by rule.<id> on its device like any rule', () => {
    const p = plant();
    const m = meter('m');
    p.read(m, 0, { kw: 1 });
    expect(p.open()).toEqual([]);
    // one meter cannot be both; its `both` rule sees the two quiet verdicts as they are
    p.read(m, MIN, { kw: 200 });
    expect(p.open()).toEqual([]);
    expect(p.engine.verdicts()).toContainEqual({ key: 's/m/line_busy', status: 'true', severity: 'blue' });
    expect(p.engine.verdicts()).toContainEqual({ key: 's/m/fan_off', status: 'false', severity: null });
  });

  it('an alarm rule turned into one without an alarm by a reload clears its open alarm', () => {
    const loud = METERS.replace('onDelay: 2m, alarm: false,', 'onDelay: 2m,');
    expect(loud).not.toBe(METERS);
    const p = plant(loud);
    const fan = meter('fan-1');
    p.read(fan, 0, { kw: 1 });
    p.tick(2 * MIN);
    expect(p.open()).toEqual(['s/fan-1/fan_off blue active']);
    for (const change of p.engine.replaceRules(ruleSetFromYaml(METERS), 3 * MIN)) p.book.applyAll([change]);
    expect(p.open()).toEqual(['s/fan-1/fan_off blue cleared']);
    p.read(fan, 4 * MIN, { kw: 0 });
    p.tick(6 * MIN);
    expect(p.book.list({ state: 'active' })).toEqual([]);
  });

  it('is refused when nothing reads it, or with inhibits or latch', () => {
    const problems = validateRuleSet(
      ruleSetFromYaml(`
profile: meter
rules:
  - { id: unread, kind: expression, condition: "kw < 5", severity: blue, alarm: false, source: t }
  - { id: loud, kind: range, metric: kw, alarm: false, inhibits: { scope: site }, source: t }
  - { id: latched, kind: threshold, metric: kw, levels: { red: { raise: 9 } }, latch: until_acknowledged, alarm: false, source: t }
  - { id: reads, kind: expression, condition: "rule.latched != none", severity: blue, source: t }
  - { id: g, kind: group, members: { rules: [loud] }, require: any, severity: red, source: t }
`),
    );
    expect(problems).toEqual([
      "meter/unread: alarm: false: no group rule's members and no rule.unread of meter read it, so it does nothing",
      'meter/loud: alarm: false: a rule without an alarm inhibits nothing; drop inhibits',
      'meter/latched: alarm: false: a rule without an alarm has nothing to latch; drop latch',
    ]);
  });
});
