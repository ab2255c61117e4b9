import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../test-support/harness.js';
import type { RuleDefinition } from './kinds/registry.js';
import type { DeviceContext } from './reading.js';
import { createRuleEngine, ENGINE_SNAPSHOT_VERSION, type EngineSnapshot, type VerdictChange } from './rule-engine.js';
import { fingerprintDigestOf, fingerprintOf } from './rule-set.js';

const MIN = 60_000;

const shown = (changes: VerdictChange[]) =>
  changes.map((c) => `${c.key} ${c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status}`);

describe("rules reading other rules' verdicts (rule.<id>)", () => {
  const rules = `
profile: p
rules:
  - id: hot
    kind: threshold
    metric: x
    onDelay: 5m
    levels: { yellow: { raise: 60, clear: 58 }, red: { raise: 80, clear: 78 } }
    source: t
  - { id: follow, kind: expression, condition: "rule.hot >= yellow", severity: red, source: t }
  - { id: calm, kind: expression, condition: "rule.hot == none and running", severity: blue, source: t }
  - { id: silent, kind: silence, ladder: [{ after: 15m, severity: yellow }], source: t }
`;

  it('a rule never raised reads as none from the start', () => {
    const h = harness(rules);
    expect(h.read(0, { running: true }).map((c) => c.rule)).toEqual(['calm']);
  });

  it('an escalation waiting for its on-delay leaves what others read at the level shown', () => {
    const h = harness(rules);
    h.read(0, { x: 65 });
    h.tick(5 * MIN);
    expect([h.state('hot'), h.state('follow')]).toEqual(['yellow', 'red']);
    h.read(6 * MIN, { x: 90 });
    expect(h.state('hot')).toBe('pending');
    expect(h.state('follow')).toBe('red');
    h.tick(11 * MIN);
    expect([h.state('hot'), h.state('follow')]).toEqual(['red', 'red']);
  });

  it('a verdict changing on the clock re-judges its readers, but is no arrival for a silence rule', () => {
    const h = harness(rules);
    h.read(0, { x: 65 });
    expect(shown(h.tick(5 * MIN))).toEqual(['s/d/hot yellow', 's/d/follow red']);
    expect(h.engine.nextDueAt()).toBe(15 * MIN);
    expect(shown(h.tick(15 * MIN))).toEqual(['s/d/silent yellow']);
  });

  it("an override's condition may read a rule that the profile's rules do not", () => {
    const h = harness(`
profile: p
rules:
  - { id: hot, kind: threshold, metric: x, levels: { yellow: { raise: 60, clear: 58 } }, source: t }
  - { id: follow, kind: expression, condition: "x > 1000", severity: red, source: t }
overrides:
  - rule: follow
    site: s
    set: { condition: "rule.hot >= yellow" }
`);
    h.read(0, { x: 65 });
    expect(h.state('follow')).toBe('red');
  });
});

describe('group rules judged when a device joins or is replaced', () => {
  const rules = `
profile: gauge
rules:
  - { id: high, kind: threshold, metric: x, levels: { yellow: { raise: 60, clear: 58 } }, source: t }
  - id: all_high
    kind: group
    members: { rules: [high] }
    require: all
    severity: red
    source: t
`;
  const ctx = (device: string, profile = 'gauge'): DeviceContext => ({ site: 's', device, profile, attributes: {} });
  const make = () => createRuleEngine({ rules: ruleSetFromYaml(rules, 'profile: plc\nrules: []\n'), unitOf: () => 'u' });
  const hot = (engine: ReturnType<typeof make>, device: string, ts: number, x = 65) =>
    engine.onReading({ site: 's', device, profile: 'gauge', ts, metrics: { x } }, ctx(device)).changes;

  it('a device of no member rule is no point: the others are all of the site', () => {
    const engine = make();
    engine.registerDevice(ctx('plc', 'plc'), 0);
    expect(shown(hot(engine, 'g1', 1))).toEqual(['s/d/high yellow', 's/_site/all_high red'].map((s) => s.replace('s/d/', 's/g1/')));
  });

  it('a new device, registered or first heard from, is judged with the others at once', () => {
    for (const join of [
      (e: ReturnType<typeof make>) => e.registerDevice(ctx('g2'), 2),
      (e: ReturnType<typeof make>) => e.registerDevices([ctx('g2')], 2),
      (e: ReturnType<typeof make>) => hot(e, 'g2', 2, 20),
    ]) {
      const engine = make();
      hot(engine, 'g1', 1);
      expect(shown(join(engine))).toEqual(['s/_site/all_high false']);
    }
  });

  it('a device held here of a site taken over from another node is replaced, not counted twice', () => {
    const a = make();
    hot(a, 'g1', 0, 20);
    const saved = a.takeChanged();
    const b = make();
    b.registerDevices([ctx('g1')], 0);
    b.adoptSites({ version: ENGINE_SNAPSHOT_VERSION, devices: saved.devices.map((d) => d.state) }, MIN, 0);
    expect(shown(hot(b, 'g1', 2 * MIN))).toEqual(['s/g1/high yellow', 's/_site/all_high red']);
  });
});

describe('group alarms as shown', () => {
  const rules = `
profile: gauge
rules:
  - { id: high, kind: threshold, metric: x, levels: { yellow: { raise: 60, clear: 58 }, red: { raise: 80, clear: 78 } }, source: t }
  - id: item
    kind: group
    members: { rules: [high] }
    levels: [{ count: 1, atLeast: yellow, severity: yellow }, { count: 1, atLeast: red, severity: red }]
    onDelay: 10m
    source: t
`;
  it('a restore drops the group alarms held before it', () => {
    const engine = createRuleEngine({ rules: ruleSetFromYaml(rules), unitOf: () => 'u' });
    const g: DeviceContext = { site: 's', device: 'g1', profile: 'gauge', attributes: {} };
    engine.onReading({ site: 's', device: 'g1', profile: 'gauge', ts: 0, metrics: { x: 65 } }, g);
    engine.tick(10 * MIN);
    expect(engine.verdicts().map((v) => v.key)).toContain('s/_site/item');
    engine.restore({ version: ENGINE_SNAPSHOT_VERSION, devices: [], groups: [] }, 11 * MIN);
    expect(engine.verdicts()).toEqual([]);
  });
});

describe('restoring rule state by definition', () => {
  const rules = `
profile: p
rules:
  - { id: hot, kind: threshold, metric: x, levels: { yellow: { raise: 60, clear: 58 } }, source: t }
  - { id: cold, kind: threshold, metric: x, direction: below, levels: { yellow: { raise: 10, clear: 12 } }, source: t }
`;
  const saved = () => {
    const h = harness(rules);
    h.read(0, { x: 65 });
    return JSON.parse(JSON.stringify(h.engine.snapshot())) as EngineSnapshot;
  };
  const engineOf = (yaml: string) => createRuleEngine({ rules: ruleSetFromYaml(yaml), unitOf: () => 'u' });

  it('a rule changed since starts afresh; one normal at the stop clears nothing', () => {
    const changed = rules.replace('raise: 60, clear: 58', 'raise: 70, clear: 68').replace('raise: 10, clear: 12', 'raise: 5, clear: 7');
    const e = engineOf(changed);
    expect(shown(e.restore(saved(), MIN))).toEqual(['s/d/hot false']);
    expect(e.verdicts()).toEqual([
      { key: 's/d/hot', status: 'false', severity: null },
      { key: 's/d/cold', status: 'false', severity: null },
    ]);
    // afresh: 65 is under the new level, and nothing is held from before
    expect(
      e.onReading({ site: 's', device: 'd', profile: 'p', ts: 2 * MIN, metrics: { x: 65 } }, saved().devices[0]!.context).changes,
    ).toEqual([]);
  });

  it('saves a short digest per rule, and still reads the whole-text fingerprints of older snapshots', () => {
    const current = saved();
    const fps = (current.devices[0]?.rules ?? []).map((r) => r.fp);
    // the definition's text (about 600 bytes a rule) is not repeated in every device's state
    expect(fps.map((fp) => fp?.length)).toEqual([22, 22]);
    const [hot, cold] = ruleSetFromYaml(rules).get('p') ?? [];
    expect(fps).toEqual([fingerprintDigestOf(hot as RuleDefinition), fingerprintDigestOf(cold as RuleDefinition)]);
    const older = saved();
    for (const r of older.devices[0]?.rules ?? [])
      r.fp = fingerprintOf(r.id === 'hot' ? (hot as RuleDefinition) : (cold as RuleDefinition));
    const e = engineOf(rules);
    expect(e.restore(older, MIN)).toEqual([]);
    expect(e.verdicts().find((v) => v.key === 's/d/hot')).toEqual({ key: 's/d/hot', status: 'true', severity: 'yellow' });
    // and a rule changed since is told by either form
    const changed = engineOf(rules.replace('raise: 60, clear: 58', 'raise: 70, clear: 68'));
    expect(shown(changed.restore(older, MIN))).toEqual(['s/d/hot false']);
    expect(shown(engineOf(rules.replace('raise: 60, clear: 58', 'raise: 70, clear: 68')).restore(saved(), MIN))).toEqual(['s/d/hot false']);
  });

  it('a snapshot of before fingerprints (no fp) restores every rule of the same id', () => {
    const old = saved();
    for (const r of old.devices[0]?.rules ?? []) delete r.fp;
    const e = engineOf(rules);
    expect(e.restore(old, MIN)).toEqual([]);
    expect(e.verdicts().find((v) => v.key === 's/d/hot')).toEqual({ key: 's/d/hot', status: 'true', severity: 'yellow' });
  });
});
