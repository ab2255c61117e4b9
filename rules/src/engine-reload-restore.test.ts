import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../test-support/harness.js';
import { SILENT_AND_HOT_RULES } from '../test-support/silent-and-hot.js';
import type { RuleDefinition } from './kinds/registry.js';
import { createRuleEngine, type EngineSnapshot } from './rule-engine.js';
import { legacyDigestOf } from './rule-set.js';

const MIN = 60_000;

const HOT_ONLY = `
profile: p
rules:
  - id: hot
    kind: threshold
    metric: t
    direction: above
    onDelay: 10m
    levels:
      yellow: { raise: 60, clear: 58 }
    source: test
`;

/** `hot` without an on-delay, and a rule reading its verdict. */
const FOLLOWING = `
profile: p
rules:
  - { id: hot, kind: threshold, metric: t, levels: { yellow: { raise: 60, clear: 58 } }, source: test }
  - { id: follow, kind: expression, condition: "rule.hot >= yellow", severity: red, source: follow-src }
`;
const HOT_NOW = `
profile: p
rules:
  - { id: hot, kind: threshold, metric: t, levels: { yellow: { raise: 60, clear: 58 } }, source: test }
`;

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value));

const engineOf = (yaml: string) => createRuleEngine({ rules: ruleSetFromYaml(yaml), unitOf: () => 'u' });

describe('a rule set reloaded while the engine runs', () => {
  it('an unchanged silence rule keeps its clock: the reload is not an arrival', () => {
    const h = harness(SILENT_AND_HOT_RULES);
    h.engine.registerDevice(h.device, 0);
    expect(h.engine.replaceRules(ruleSetFromYaml(SILENT_AND_HOT_RULES), 10 * MIN)).toEqual([]);
    expect(h.tick(15 * MIN).map((c) => [c.rule, c.verdict.status])).toEqual([['silent', 'true']]);
  });

  it('a rule removed while normal clears nothing; one removed while raised clears its alarm, saying which', () => {
    const h = harness(SILENT_AND_HOT_RULES);
    h.read(0, { t: 70 });
    h.tick(10 * MIN);
    expect(h.state('hot')).toBe('yellow');
    const withoutSilence = SILENT_AND_HOT_RULES.replace(/ {2}- id: silent[\s\S]*?source: test\n/, '');
    expect(h.engine.replaceRules(ruleSetFromYaml(withoutSilence), 11 * MIN)).toEqual([]);
    expect(h.engine.replaceRules(ruleSetFromYaml(SILENT_AND_HOT_RULES.replace(/ {2}- id: hot[\s\S]*$/, '')), 12 * MIN)).toEqual([
      { key: 's/d/hot', site: 's', device: 'd', profile: 'p', rule: 'hot', source: 'test', verdict: { status: 'false' }, at: 12 * MIN },
    ]);
    // the removed rule's on-delay or timers never fire later
    expect(h.tick(60 * MIN).map((c) => c.rule)).toEqual(['silent']);
  });

  it('a rule whose words alone changed (message, Chinese message, name, source) keeps its state and open alarm; its next transition speaks the new words', () => {
    const h = harness(HOT_NOW);
    h.read(0, { t: 70 });
    expect(h.state('hot')).toBe('yellow');
    const reworded = HOT_NOW.replace(
      'source: test }',
      'source: corrected, name: Hot, name_zh: 热, message_zh: "温度 {value}", clear_message: "cool at {value}" }',
    );
    expect(h.engine.replaceRules(ruleSetFromYaml(reworded), MIN)).toEqual([]);
    expect(h.state('hot')).toBe('yellow');
    h.read(2 * MIN, { t: 50 });
    expect(h.last('hot')).toMatchObject({ status: 'false', detail: { message: 'cool at 50' } });
  });

  it('a rule added that reads a raised rule is judged at the reload, and follows the kept rule from then on', () => {
    const h = harness(HOT_NOW);
    h.read(0, { t: 70 });
    expect(h.state('hot')).toBe('yellow');
    const out = h.engine.replaceRules(ruleSetFromYaml(FOLLOWING), MIN);
    expect(out.map((c) => [c.rule, c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status])).toEqual([['follow', 'red']]);
    expect(out[0]).toMatchObject({ source: 'follow-src', at: MIN });
    // the kept rule clears: what the new rule reads of it follows
    h.read(2 * MIN, { t: 50 });
    expect(h.state('hot')).toBe('false');
    expect(h.state('follow')).toBe('false');
  });

  it("a kept rule's verdict is read by a rule added later even when it was normal at the reload", () => {
    const h = harness(HOT_NOW);
    h.read(0, { t: 50 });
    expect(h.engine.replaceRules(ruleSetFromYaml(FOLLOWING), MIN)).toEqual([]);
    h.read(2 * MIN, { t: 70 });
    expect(h.state('hot')).toBe('yellow');
    expect(h.state('follow')).toBe('red');
  });

  it('derived values follow the reloaded definition', () => {
    const set = (factor: number) => `
profile: p
derived:
  - name: y
    expression: "x * ${factor}"
rules:
  - { id: high_y, kind: threshold, metric: y, levels: { yellow: { raise: 60, clear: 58 } }, source: test }
`;
    const h = harness(set(2));
    h.read(0, { x: 25 });
    expect(h.state('high_y')).toBe('false');
    h.engine.replaceRules(ruleSetFromYaml(set(3)), MIN);
    h.read(2 * MIN, { x: 25 });
    expect(h.state('high_y')).toBe('yellow');
    expect(h.last('high_y')).toMatchObject({ metric: 'y', value: 75 });
  });
});

describe('an engine restored from a snapshot', () => {
  it('holds only what the snapshot holds: devices and timers of before the restore are gone, and nothing is reported changed', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.read(0, { t: 20 });
    const snap = json(a.engine.snapshot());
    const b = harness(SILENT_AND_HOT_RULES);
    b.engine.registerDevice({ ...b.device, device: 'gone' }, 0);
    b.engine.restore(snap, MIN);
    expect(b.engine.verdicts().map((v) => v.key)).toEqual(['s/d/silent', 's/d/hot']);
    expect(b.engine.takeChanged()).toEqual({ devices: [], sites: [] });
    expect(b.engine.tick(60 * MIN).map((c) => c.key)).toEqual(['s/d/silent']);
  });

  it('a device registered but never heard from is saved without a last reading time, and any reading counts after the restore', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.engine.registerDevice(a.device, 5 * MIN);
    const snap = a.engine.snapshot();
    expect(snap.devices[0]?.lastTs).toBeNull();
    const b = engineOf(SILENT_AND_HOT_RULES);
    b.restore(json(snap), 6 * MIN);
    const out = b.onReading({ site: 's', device: 'd', profile: 'p', ts: -10 * MIN, receivedAt: 6 * MIN, metrics: { t: 70 } }, a.device);
    expect(out.late).toBe(false);
    expect(out.changes.map((c) => c.verdict.status)).toEqual(['pending']);
  });

  it('a reading older than the last one before the snapshot is late after the restore', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.read(10 * MIN, { t: 20 });
    const b = engineOf(SILENT_AND_HOT_RULES);
    b.restore(json(a.engine.snapshot()), 11 * MIN);
    const out = b.onReading({ site: 's', device: 'd', profile: 'p', ts: 5 * MIN, receivedAt: 11 * MIN, metrics: { t: 70 } }, a.device);
    expect(out).toEqual({ changes: [], late: true });
    expect(b.verdicts().find((v) => v.key === 's/d/hot')?.status).toBe('false');
  });

  it('a rule added since the snapshot is armed at the restore time when given, and not otherwise', () => {
    const a = harness(HOT_ONLY);
    a.read(0, { t: 20 });
    const snap = json(a.engine.snapshot());
    const armed = engineOf(SILENT_AND_HOT_RULES);
    armed.restore(snap, 5 * MIN);
    expect(armed.nextDueAt()).toBe(20 * MIN);
    const unarmed = engineOf(SILENT_AND_HOT_RULES);
    unarmed.restore(snap);
    expect(unarmed.nextDueAt()).toBeNull();
  });

  it('the alarm of a rule removed while down clears from the source "rules"; of a changed rule, from its new source', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.read(0, { t: 70 });
    a.tick(15 * MIN);
    expect([a.state('hot'), a.state('silent')]).toEqual(['yellow', 'yellow']);
    const snap = json(a.engine.snapshot());
    const changed = SILENT_AND_HOT_RULES.replace(/ {2}- id: hot[\s\S]*$/, '')
      .replace('after: 15m', 'after: 20m')
      .replace('source: test', 'source: new');
    const clear = (rule: string, source: string, at: number) => ({
      key: `s/d/${rule}`,
      site: 's',
      device: 'd',
      profile: 'p',
      rule,
      source,
      verdict: { status: 'false' },
      at,
    });
    expect(engineOf(changed).restore(snap, 30 * MIN)).toEqual([clear('silent', 'new', 30 * MIN), clear('hot', 'rules', 30 * MIN)]);
    expect(engineOf(changed).restore(snap)).toEqual([clear('silent', 'new', 0), clear('hot', 'rules', 0)]);
  });

  it('a snapshot saved when fingerprints held the words too still matches its unchanged rules (an upgrade keeps the alarms)', () => {
    const a = harness(HOT_NOW);
    a.read(0, { t: 70 });
    const snap = json(a.engine.snapshot());
    const def = ruleSetFromYaml(HOT_NOW).get('p')?.[0] as RuleDefinition;
    for (const device of snap.devices) {
      for (const rule of device.rules) {
        // what a version of the gateway before this one saved: a digest of the whole definition, source included
        rule.fp = legacyDigestOf(def);
      }
    }
    const b = engineOf(HOT_NOW);
    expect(b.restore(snap, MIN)).toEqual([]);
    expect(b.verdicts()).toContainEqual({ key: 's/d/hot', status: 'true', severity: 'yellow' });
  });

  it('an older snapshot without the committed severity: a raised rule shows and is read at its severity, a pending one at none', () => {
    const a = harness(FOLLOWING);
    a.read(0, { t: 70 });
    const snap = json(a.engine.snapshot()) as EngineSnapshot;
    for (const r of snap.devices[0]?.rules ?? []) delete r.committed;
    const b = harness(FOLLOWING);
    b.engine.restore(json(snap), MIN);
    expect(b.engine.snapshot().devices[0]?.rules.map((r) => [r.id, r.committed])).toEqual([
      ['hot', 'yellow'],
      ['follow', 'red'],
    ]);
    const pending = json(snap);
    for (const r of pending.devices[0]?.rules ?? []) {
      r.status = 'pending';
      r.severity = null;
    }
    b.engine.restore(pending, MIN);
    expect(b.engine.snapshot().devices[0]?.rules.map((r) => [r.id, r.committed])).toEqual([
      ['hot', null],
      ['follow', null],
    ]);
  });

  it('restores version 2 snapshots (no cadence) and refuses others', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.read(0, { t: 70 });
    const { cadence: _, ...device } = json(a.engine.snapshot()).devices[0] as EngineSnapshot['devices'][number];
    const v2: EngineSnapshot = { version: 2, devices: [device] };
    const b = engineOf(SILENT_AND_HOT_RULES);
    expect(b.restore(v2, MIN)).toEqual([]);
    expect(b.tick(10 * MIN).map((c) => [c.rule, c.verdict.status])).toEqual([['hot', 'true']]);
    expect(() => b.restore({ ...v2, version: 0 as 2 })).toThrow('engine snapshot version 0 is not supported (1 to 5)');
  });
});

describe('snapshots are copies', () => {
  it('a snapshot taken does not move with the engine, and one snapshot restored into two engines leaves them apart', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.read(0, { t: 20 });
    const snap = a.engine.snapshot();
    a.read(MIN, { t: 70 });
    expect(snap.devices[0]?.latest).toEqual({ t: 20 });
    expect(snap.devices[0]?.lastTs).toBe(0);
    const b = engineOf(SILENT_AND_HOT_RULES);
    const c = engineOf(SILENT_AND_HOT_RULES);
    b.restore(snap, MIN);
    c.restore(snap, MIN);
    b.onReading({ site: 's', device: 'd', profile: 'p', ts: 2 * MIN, metrics: { t: 70 } }, a.device);
    expect(snap.devices[0]?.latest).toEqual({ t: 20 });
    expect(c.snapshot().devices[0]?.latest).toEqual({ t: 20 });
    expect(c.nextDueAt()).toBe(15 * MIN);
  });
});
