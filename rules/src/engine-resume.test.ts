import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../test-support/harness.js';
import { SILENT_AND_HOT_RULES } from '../test-support/silent-and-hot.js';
import { createRuleEngine, type EngineSnapshot } from './rule-engine.js';

const MIN = 60_000;

const rules = SILENT_AND_HOT_RULES;

/** The state a store would have saved: every change taken, rebuilt into one snapshot (as the gateway loads it). */
function savedFrom(changes: ReturnType<ReturnType<typeof harness>['engine']['takeChanged']>[]): EngineSnapshot {
  const devices = new Map<string, unknown>();
  for (const part of changes) for (const { key, state } of part.devices) devices.set(key, JSON.parse(JSON.stringify(state)));
  return { version: 3, devices: [...devices.values()] as EngineSnapshot['devices'], groups: [] };
}

describe('saving what changed and resuming after time down (issue 13)', () => {
  it('takeChanged hands out only the devices that moved since the last call, and then nothing', () => {
    const h = harness(rules);
    const other = { ...h.device, device: 'e' };
    h.engine.registerDevices([h.device, other], 0);
    expect(
      h.engine
        .takeChanged()
        .devices.map((d) => d.key)
        .sort(),
    ).toEqual(['s/d', 's/e']);
    expect(h.engine.takeChanged().devices).toEqual([]);
    h.read(MIN, { t: 20 });
    expect(h.engine.takeChanged().devices.map((d) => d.key)).toEqual(['s/d']);
  });

  it('saves of a device that never reported only the rules registration moved (its silence clock), and restores the same engine', () => {
    const h = harness(rules);
    h.engine.registerDevice(h.device, 0);
    const saved = savedFrom([h.engine.takeChanged()]);
    // the threshold rule is as registration left it: no entry; the silence rule's clock started at registration
    expect(saved.devices[0]?.rules.map((r) => r.id)).toEqual(['silent']);
    const again = createRuleEngine({ rules: ruleSetFromYaml(rules), unitOf: () => 'u' });
    again.restore(saved, 5 * MIN, 0);
    // both rules are there and judge as on the engine that never stopped: silence due 15 min after registration,
    // the threshold pending then raised after its on-delay
    expect(
      again
        .verdicts()
        .map((v) => [v.key, v.status])
        .sort(),
    ).toEqual(
      h.engine
        .verdicts()
        .map((v) => [v.key, v.status])
        .sort(),
    );
    expect(again.nextDueAt()).toBe(15 * MIN);
    // a hot reading at 6 min: pending on both, raised after its 10 min on-delay on both, the same change
    for (const engine of [h.engine, again])
      engine.onReading({ site: 's', device: 'd', profile: 'p', ts: 6 * MIN, metrics: { t: 65 } }, h.device);
    expect(again.nextDueAt()).toBe(16 * MIN);
    const raised = again.tick(16 * MIN);
    expect(raised.map((c) => [c.rule, c.verdict.status, c.verdict.status === 'true' ? c.verdict.severity : null])).toEqual([
      ['hot', 'true', 'yellow'],
    ]);
    expect(raised).toEqual(h.engine.tick(16 * MIN));
  });

  it('saves every rule of a device once it has reported, pristine or not', () => {
    const h = harness(rules);
    h.read(0, { t: 20 }, 0);
    expect(
      savedFrom([h.engine.takeChanged()])
        .devices[0]?.rules.map((r) => r.id)
        .sort(),
    ).toEqual(['hot', 'silent']);
  });

  it('a silence timer goes on from where it was: time before the stop counts, time down does not', () => {
    const h = harness(rules);
    h.engine.registerDevice(h.device, 0);
    h.read(0, { t: 20 }, 0);
    const saved = savedFrom([h.engine.takeChanged()]);
    // stopped at 10 min (5 min of the window left), down for an hour
    const again = createRuleEngine({ rules: ruleSetFromYaml(rules), unitOf: () => 'u' });
    again.restore(saved, 70 * MIN, 60 * MIN);
    expect(again.nextDueAt()).toBe(75 * MIN);
    expect(again.tick(75 * MIN - 1)).toEqual([]);
    expect(again.tick(75 * MIN).map((c) => [c.rule, c.verdict.status])).toEqual([['silent', 'true']]);
  });

  it('an on-delay pending at the stop needs only its rest after the restart', () => {
    const h = harness(rules);
    h.read(0, { t: 65 }, 0);
    h.read(4 * MIN, { t: 65 }, 4 * MIN);
    expect(h.state('hot')).toBe('pending');
    const saved = savedFrom([h.engine.takeChanged()]);
    const again = createRuleEngine({ rules: ruleSetFromYaml(rules), unitOf: () => 'u' });
    again.restore(saved, 34 * MIN, 30 * MIN);
    // 4 of 10 minutes were held before the stop: 6 more after the restart, not 0 (down time) and not 10 (from zero)
    expect(again.nextDueAt()).toBe(40 * MIN);
    const changes = again.tick(40 * MIN);
    expect(changes.map((c) => [c.rule, c.verdict.status])).toContainEqual(['hot', 'true']);
  });

  it('an off-delay pending at the stop needs only its rest after the restart: the alarm does not clear early', () => {
    const cooling = `
profile: p
rules:
  - id: hot
    kind: threshold
    metric: t
    direction: above
    offDelay: 10m
    levels:
      yellow: { raise: 60, clear: 58 }
    source: test
`;
    const h = harness(cooling);
    h.read(0, { t: 65 }, 0);
    h.read(2 * MIN, { t: 50 }, 2 * MIN);
    h.read(4 * MIN, { t: 50 }, 4 * MIN);
    const saved = savedFrom([h.engine.takeChanged()]);
    const again = createRuleEngine({ rules: ruleSetFromYaml(cooling), unitOf: () => 'u' });
    again.restore(saved, 34 * MIN, 30 * MIN);
    // back to normal for 2 of 10 minutes before the stop (at 4 min): it clears 8 minutes after the restart
    expect(again.nextDueAt()).toBe(42 * MIN);
    expect(again.tick(42 * MIN - 1)).toEqual([]);
    expect(again.tick(42 * MIN).map((c) => [c.rule, c.verdict.status])).toEqual([['hot', 'false']]);
  });

  it('state of a rule that changed while down is not restored, and its alarm clears', () => {
    const h = harness(rules);
    h.read(0, { t: 65 }, 0);
    h.read(11 * MIN, { t: 65 }, 11 * MIN);
    expect(h.state('hot')).toBe('yellow');
    const saved = savedFrom([h.engine.takeChanged()]);
    const changed = rules.replace('raise: 60, clear: 58', 'raise: 90, clear: 88');
    const again = createRuleEngine({ rules: ruleSetFromYaml(changed), unitOf: () => 'u' });
    const clears = again.restore(saved, 20 * MIN, 5 * MIN);
    expect(clears.map((c) => [c.key, c.verdict.status])).toEqual([['s/d/hot', 'false']]);
    // unchanged rules keep theirs: nothing to clear for the silence rule, which was not firing
    const same = createRuleEngine({ rules: ruleSetFromYaml(rules), unitOf: () => 'u' });
    expect(same.restore(saved, 20 * MIN, 5 * MIN)).toEqual([]);
    expect(same.verdicts().find((v) => v.key === 's/d/hot')).toMatchObject({ status: 'true', severity: 'yellow' });
  });
});
