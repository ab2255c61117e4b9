import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import type { RuleDefinition } from './kinds/registry.js';
import type { DeviceContext, MetricValue } from './reading.js';
import { createRuleEngine, type EngineSnapshot, type RuleEngine, type VerdictChange } from './rule-engine.js';
import { legacyFingerprintOf } from './rule-set.js';

const MIN = 60_000;

const GAUGES = `
profile: gauge
rules:
  - { id: high, kind: threshold, metric: x, levels: { yellow: { raise: 60, clear: 58 }, red: { raise: 80, clear: 78 } }, source: t }
  - { id: low, kind: threshold, metric: y, direction: below, levels: { orange: { raise: 10, clear: 12 } }, source: t }
  - id: item_alarm
    kind: group
    members: { profiles: [gauge], rules: [high, low] }
    groupBy: item
    levels:
      - { count: 1, atLeast: yellow, severity: yellow }
      - { count: 1, atLeast: orange, severity: orange }
      - { count: 1, atLeast: red, severity: red }
    inhibits: { scope: site, rules: [high] }
    source: group-src
`;
/** Another profile with a rule of the same id: not a member (the group names its profiles). */
const OTHER = `
profile: other
rules:
  - { id: high, kind: threshold, metric: x, levels: { red: { raise: 80, clear: 78 } }, source: t }
`;

const gauge = (device: string, attributes: Record<string, MetricValue>): DeviceContext => ({
  site: 's',
  device,
  profile: 'gauge',
  attributes,
});

function site(...yaml: string[]) {
  const engine = createRuleEngine({ rules: ruleSetFromYaml(...yaml), unitOf: () => 'u' });
  const all: VerdictChange[] = [];
  const read = (ctx: DeviceContext, ts: number, metrics: Record<string, MetricValue>) => {
    const out = engine.onReading({ site: ctx.site, device: ctx.device, profile: ctx.profile, ts, metrics }, ctx).changes;
    all.push(...out);
    return out;
  };
  /** The group verdicts, `key severity|false|pending`. */
  const groups = (changes: VerdictChange[] = all) =>
    changes
      .filter((c) => c.rule === 'item_alarm')
      .map((c) => `${c.key} ${c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status}`);
  return { engine, all, read, groups };
}

describe('group rules in the engine: which devices are points, at what severity', () => {
  it('a point is at the highest severity of its member rules, whichever rule it comes from', () => {
    const s = site(GAUGES);
    const g = gauge('g1', { item: 'a' });
    s.read(g, 0, { x: 90, y: 5 });
    expect(s.groups()).toEqual(['s/a/item_alarm red']);
    // `high` down to yellow, `low` still orange: the point is orange
    s.read(g, 1, { x: 65 });
    expect(s.groups()).toEqual(['s/a/item_alarm red', 's/a/item_alarm orange']);
    s.read(g, 2, { x: 50 });
    expect(s.groups()).toEqual(['s/a/item_alarm red', 's/a/item_alarm orange']);
    s.read(g, 3, { x: 65, y: 20 });
    expect(s.groups()).toEqual(['s/a/item_alarm red', 's/a/item_alarm orange', 's/a/item_alarm yellow']);
  });

  it('the change names the item as its device, the group rule, its profile and source, and what it inhibits', () => {
    const s = site(GAUGES);
    const out = s.read(gauge('g1', { item: 'a' }), 5, { x: 65 });
    expect(out.find((c) => c.rule === 'item_alarm')).toMatchObject({
      key: 's/a/item_alarm',
      site: 's',
      device: 'a',
      profile: 'gauge',
      source: 'group-src',
      at: 5,
      inhibits: { scope: 'site', rules: ['high'] },
      verdict: { status: 'true', severity: 'yellow', value: 1, threshold: 1, unit: 'points' },
    });
  });

  it('a device without the groupBy attribute is no point; a numeric item is named by its number', () => {
    const s = site(GAUGES);
    s.read(gauge('g1', {}), 0, { x: 90 });
    expect(s.groups()).toEqual([]);
    s.read(gauge('g2', { item: 7 }), 1, { x: 90 });
    expect(s.groups()).toEqual(['s/7/item_alarm red']);
  });

  it('a device of another profile with a rule of the same id is no point', () => {
    const s = site(GAUGES, OTHER);
    s.read({ site: 's', device: 'o1', profile: 'other', attributes: { item: 'a' } }, 0, { x: 90 });
    expect(s.engine.verdicts().find((v) => v.key === 's/o1/high')).toMatchObject({ status: 'true', severity: 'red' });
    expect(s.groups()).toEqual([]);
  });

  it('a device moved to another item (a new context from the registry) takes its point along at once', () => {
    const s = site(GAUGES);
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    const out = s.read(gauge('g1', { item: 'b' }), 1, { x: 65 });
    expect(s.groups(out).sort()).toEqual(['s/a/item_alarm false', 's/b/item_alarm yellow']);
    expect(s.engine.verdicts().filter((v) => v.key.endsWith('/item_alarm'))).toEqual([
      { key: 's/b/item_alarm', status: 'true', severity: 'yellow' },
    ]);
  });
});

describe('a site condition of any profile (while without profiles)', () => {
  const rules = `
profile: gauge
rules:
  - { id: high, kind: threshold, metric: x, levels: { yellow: { raise: 60, clear: 58 } }, source: t }
  - id: item_alarm
    kind: group
    members: { rules: [high] }
    require: any
    severity: red
    while: { condition: "running" }
    source: t
`;
  it('is judged again on a reading of a device of any profile, even one that is no member', () => {
    const s = site(rules, 'profile: plant\nrules: []\n');
    const plant: DeviceContext = { site: 's', device: 'plc', profile: 'plant', attributes: {} };
    s.read(plant, 0, { running: true });
    s.read(gauge('g1', {}), 1, { x: 65 });
    expect(s.groups()).toEqual(['s/_site/item_alarm red']);
    expect(s.groups(s.read(plant, 2, { running: false }))).toEqual(['s/_site/item_alarm false']);
  });
});

describe('group state across reloads, forgetting and restores', () => {
  const delayed = GAUGES.replace('    source: group-src', '    onDelay: 10m\n    offDelay: 30m\n    source: group-src');

  it('a reload keeps an unchanged group alarm; a changed group rule clears it and judges afresh; a removed one clears it', () => {
    const s = site(GAUGES);
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    expect(s.engine.replaceRules(ruleSetFromYaml(GAUGES), MIN)).toEqual([]);
    // its words edited (source, a message): the same rule, its alarm kept
    const reworded = GAUGES.replace('source: group-src', 'message: "{points} in alarm"\n    source: group-v1');
    expect(s.engine.replaceRules(ruleSetFromYaml(reworded), MIN)).toEqual([]);
    const changed = GAUGES.replace('source: group-src', 'offDelay: 1s\n    source: group-v2');
    const out = s.engine.replaceRules(ruleSetFromYaml(changed), 2 * MIN);
    expect(out).toEqual([
      {
        key: 's/a/item_alarm',
        site: 's',
        device: 'a',
        profile: 'gauge',
        rule: 'item_alarm',
        source: 'group-v1',
        verdict: { status: 'false' },
        at: 2 * MIN,
      },
      expect.objectContaining({ key: 's/a/item_alarm', source: 'group-v2', verdict: expect.objectContaining({ severity: 'yellow' }) }),
    ]);
    const removed = GAUGES.replace(/ {2}- id: item_alarm[\s\S]*$/, '');
    expect(s.groups(s.engine.replaceRules(ruleSetFromYaml(removed), 3 * MIN))).toEqual(['s/a/item_alarm false']);
  });

  it("takeChanged hands the store a changed site's group slots", () => {
    const s = site(GAUGES);
    s.engine.takeChanged();
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    expect(s.engine.takeChanged().sites).toEqual([
      {
        site: 's',
        groups: [expect.objectContaining({ key: 's/a/item_alarm', item: 'a', rule: 'item_alarm', status: 'true', severity: 'yellow' })],
      },
    ]);
  });

  it("a forgotten site's group delay never runs out here, and the store is told its group slots are gone", () => {
    const s = site(delayed);
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    expect(s.groups()).toEqual(['s/a/item_alarm pending']);
    s.engine.takeChanged();
    s.engine.forgetSites(['s']);
    expect(s.engine.takeChanged()).toEqual({ devices: [], sites: [{ site: 's', groups: [] }], forgotten: ['s/g1'] });
    expect(s.engine.nextDueAt()).toBeNull();
    expect(s.engine.tick(60 * MIN)).toEqual([]);
  });

  it("a group's on-delay pending at the stop needs only its rest after a restart", () => {
    const s = site(delayed);
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    const again = createRuleEngine({ rules: ruleSetFromYaml(delayed), unitOf: () => 'u' });
    again.restore(JSON.parse(JSON.stringify(s.engine.snapshot())), 34 * MIN, 30 * MIN);
    expect(again.nextDueAt()).toBe(40 * MIN);
    expect(again.tick(40 * MIN).map((c) => `${c.key} ${c.verdict.status}`)).toEqual(['s/a/item_alarm true']);
  });

  it('an older snapshot without the group level state: the alarm shown is the level, and its off-delay holds', () => {
    const s = site(delayed);
    const g = gauge('g1', { item: 'a' });
    s.read(g, 0, { x: 65 });
    s.engine.tick(10 * MIN);
    const snap = JSON.parse(JSON.stringify(s.engine.snapshot())) as EngineSnapshot;
    expect(snap.groups).toMatchObject([{ key: 's/a/item_alarm', status: 'true', severity: 'yellow' }]);
    for (const group of snap.groups ?? []) {
      delete group.lv;
      delete group.latest;
    }
    const again = createRuleEngine({ rules: ruleSetFromYaml(delayed), unitOf: () => 'u' });
    again.restore(snap, 11 * MIN);
    const cool = again.onReading({ site: 's', device: 'g1', profile: 'gauge', ts: 11 * MIN, metrics: { x: 20 } }, g).changes;
    expect(cool.filter((c) => c.rule === 'item_alarm').map((c) => c.verdict.status)).toEqual(['pending']);
    expect(again.tick(41 * MIN - 1).filter((c) => c.rule === 'item_alarm')).toEqual([]);
    expect(again.tick(41 * MIN).map((c) => `${c.key} ${c.verdict.status}`)).toEqual(['s/a/item_alarm false']);
  });

  it('a group alarm saved when fingerprints held the rule’s words is restored, not cleared (an upgrade keeps site alarms)', () => {
    const s = site(GAUGES);
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    const snap = JSON.parse(JSON.stringify(s.engine.snapshot())) as EngineSnapshot;
    const def = ruleSetFromYaml(GAUGES)
      .get('gauge')
      ?.find((d) => d.id === 'item_alarm');
    // what a gateway of before saved: the whole definition's canonical text, its source included
    const whole = legacyFingerprintOf(def as RuleDefinition);
    for (const g of snap.groups ?? []) g.fp = whole;
    const e = createRuleEngine({ rules: ruleSetFromYaml(GAUGES), unitOf: () => 'u' });
    expect(e.restore(snap, MIN)).toEqual([]);
    expect(e.verdicts().filter((v) => v.key.endsWith('/item_alarm'))).toEqual([
      { key: 's/a/item_alarm', status: 'true', severity: 'yellow' },
    ]);
  });

  it('a group rule changed or removed while down: its alarm clears, named by its item and profile', () => {
    const s = site(GAUGES);
    s.read(gauge('g1', { item: 'a' }), 0, { x: 65 });
    const snap = JSON.parse(JSON.stringify(s.engine.snapshot())) as EngineSnapshot;
    const restoreWith = (yaml: string): RuleEngine => {
      const e = createRuleEngine({ rules: ruleSetFromYaml(yaml), unitOf: () => 'u' });
      all = e.restore(snap, 5 * MIN);
      return e;
    };
    let all: VerdictChange[] = [];
    const clear = (profile: string, source: string) => ({
      key: 's/a/item_alarm',
      site: 's',
      device: 'a',
      profile,
      rule: 'item_alarm',
      source,
      verdict: { status: 'false' },
      at: 5 * MIN,
    });
    const changed = restoreWith(GAUGES.replace('source: group-src', 'offDelay: 1s\n    source: group-v2'));
    expect(all).toEqual([clear('gauge', 'group-v2')]);
    expect(changed.verdicts().filter((v) => v.key.endsWith('/item_alarm'))).toEqual([]);
    restoreWith(GAUGES.replace(/ {2}- id: item_alarm[\s\S]*$/, ''));
    expect(all).toEqual([clear('', 'rules')]);
    const same = restoreWith(GAUGES);
    expect(all).toEqual([]);
    expect(same.verdicts().filter((v) => v.key.endsWith('/item_alarm'))).toEqual([
      { key: 's/a/item_alarm', status: 'true', severity: 'yellow' },
    ]);
  });
});
