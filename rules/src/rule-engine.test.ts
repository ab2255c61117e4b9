import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import type { DeviceContext } from './reading.js';
import { createRuleEngine, type EngineSnapshot, type VerdictChange } from './rule-engine.js';
import { rulesForDevice } from './rule-set.js';
import { compareSeverity, SEVERITIES } from './severity.js';

const base = `
profile: p
rules:
  - id: temp
    kind: threshold
    metric: x
    levels:
      yellow: { raise: 60, clear: 58 }
      orange: { raise: 70, clear: 68 }
      red: { raise: 80, clear: 78 }
    onDelay: 3s
    offDelay: 2s
    source: test
  - id: silent
    kind: silence
    ladder: [{ after: 20s, severity: yellow }, { after: 60s, severity: orange }]
    source: test
  - id: avg
    kind: window
    metric: x
    aggregate: avg
    window: 30s
    buckets: 6
    levels: { orange: { raise: 65, clear: 60 } }
    source: test
  - id: rate
    kind: rate
    metric: x
    direction: rise
    window: 5s
    levels: { red: { raise: 10, clear: 5 } }
    source: test
  - id: flat
    kind: stuck
    metric: x
    window: 20s
    source: test
  - id: expr
    kind: expression
    condition: "x > 75 and attr.armed"
    severity: red
    onDelay: 1s
    source: test
`;
const dev: DeviceContext = { site: 's', device: 'd', profile: 'p', attributes: { armed: true } };
const reading = (ts: number, x: number, receivedAt = ts) => ({ site: 's', device: 'd', profile: 'p', ts, receivedAt, metrics: { x } });

describe('rule engine', () => {
  it('registerDevice arms silence for a device that never sends anything', () => {
    const engine = createRuleEngine({ rules: ruleSetFromYaml(base), unitOf: () => null });
    engine.registerDevice(dev, 1000);
    expect(engine.tick(21_000).map((c) => c.rule)).toEqual(['silent']);
  });

  it('hot reload keeps the state of unchanged rules, restarts changed ones and clears alarms of removed ones', () => {
    const engine = createRuleEngine({ rules: ruleSetFromYaml(base), unitOf: () => null });
    engine.onReading(reading(0, 90), dev);
    engine.tick(3000);
    expect(engine.verdicts().find((v) => v.key === 's/d/temp')).toMatchObject({ status: 'true', severity: 'red' });
    const changed = base.replace('onDelay: 3s\n    offDelay: 2s', 'onDelay: 4s\n    offDelay: 2s').replace(/ {2}- id: expr[\s\S]*$/, '');
    const changes = engine.replaceRules(ruleSetFromYaml(changed), 5000);
    const byRule = Object.fromEntries(changes.map((c) => [c.rule, c.verdict.status]));
    expect(byRule).toEqual({ temp: 'false', expr: 'false' });
    expect(engine.verdicts().find((v) => v.key === 's/d/avg')).toMatchObject({ status: 'true', severity: 'orange' });
    expect(engine.verdicts().some((v) => v.key === 's/d/expr')).toBe(false);
    engine.onReading(reading(6000, 90), dev);
    engine.tick(10_000);
    expect(engine.verdicts().find((v) => v.key === 's/d/temp')).toMatchObject({ status: 'true', severity: 'red' });
  });

  it('applies the most specific override: device over site over profile; enabled: false removes a rule', () => {
    const rules = ruleSetFromYaml(`${base}
overrides:
  - rule: temp
    site: s
    set: { levels: { red: null, yellow: { raise: 50, clear: 48 } } }
  - rule: temp
    site: s
    device: d2
    set: { onDelay: 0 }
  - rule: flat
    device: d
    set: { enabled: false }
`);
    const forD = rulesForDevice(rules, 'p', 's', 'd');
    const temp = forD.find((r) => r.id === 'temp');
    expect(temp?.kind === 'threshold' && temp.levels.red).toBeUndefined();
    expect(temp?.kind === 'threshold' && temp.levels.yellow?.raise).toBe(50);
    expect(forD.some((r) => r.id === 'flat')).toBe(false);
    const forD2 = rulesForDevice(rules, 'p', 's', 'd2').find((r) => r.id === 'temp');
    expect(forD2?.kind === 'threshold' && forD2.onDelay).toBe(0);
    expect(forD2?.kind === 'threshold' && forD2.levels.yellow?.raise).toBe(60);
    const other = rulesForDevice(rules, 'p', 'other', 'd').find((r) => r.id === 'temp');
    expect(other?.kind === 'threshold' && other.levels.red?.raise).toBe(80);
  });

  const step = fc.record({
    dt: fc.integer({ min: 0, max: 8000 }),
    x: fc.integer({ min: 40, max: 100 }),
    tick: fc.boolean(),
    late: fc.boolean(),
  });

  /** The same snapshot as version 1 wrote it: the level fields (`lv`) at the top of each rule's state. */
  const asVersion1 = (snap: EngineSnapshot): EngineSnapshot => ({
    ...snap,
    version: 1,
    devices: snap.devices.map(({ cadence: _, ...d }) => ({
      ...d,
      rules: d.rules.map((r) => {
        const { lv, ...rest } = r.state as { lv?: object };
        return { ...r, state: lv ? { ...lv, ...rest } : rest };
      }),
    })),
  });

  /** Parsed once: engines share a rule set as the gateway's do (the property runs build hundreds of engines). */
  const baseRules = ruleSetFromYaml(base);
  const run = (steps: Array<{ dt: number; x: number; tick: boolean; late: boolean }>, cut: number | null, version1 = false) => {
    let engine = createRuleEngine({ rules: baseRules, unitOf: () => null });
    const out: VerdictChange[] = [];
    let t = 0;
    engine.registerDevice(dev, 0);
    steps.forEach((s, i) => {
      if (i === cut) {
        const snap = JSON.parse(JSON.stringify(engine.snapshot()));
        engine = createRuleEngine({ rules: baseRules, unitOf: () => null });
        engine.restore(version1 ? JSON.parse(JSON.stringify(asVersion1(snap))) : snap);
        // a version 1 snapshot has no cadence to restore (it matters only with cadenceOf, not given here)
        const cadenceless = (s: EngineSnapshot) => ({ ...s, devices: s.devices.map(({ cadence: _, ...d }) => d) });
        if (version1) expect(cadenceless(engine.snapshot())).toEqual(cadenceless(snap));
        else expect(engine.snapshot()).toEqual(snap);
      }
      t += s.dt;
      if (s.tick) out.push(...engine.tick(t));
      else out.push(...engine.onReading(reading(s.late ? t - 10_000 : t, s.x, t), dev).changes);
    });
    out.push(...engine.tick(t + 120_000));
    return out;
  };

  it('snapshot → JSON → restore is invisible to the outcome (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.nat(), (steps, c) => {
        const cut = c % steps.length;
        expect(run(steps, cut)).toEqual(run(steps, null));
      }),
      { numRuns: 150 },
    );
  });

  it('restores a version 1 snapshot exactly like the version 2 one it corresponds to (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.nat(), (steps, c) => {
        const cut = c % steps.length;
        expect(run(steps, cut, true)).toEqual(run(steps, null));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a snapshot of an unknown version', () => {
    const engine = createRuleEngine({ rules: ruleSetFromYaml(base), unitOf: () => null });
    engine.registerDevice(dev, 0);
    const snap = { ...engine.snapshot(), version: 6 } as unknown as EngineSnapshot;
    expect(() => createRuleEngine({ rules: ruleSetFromYaml(base), unitOf: () => null }).restore(snap)).toThrow(
      /version 6 is not supported/,
    );
  });

  it('severity only moves by defined transitions, and the severity reported is the one the value calls for against the levels (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const last = new Map<string, string>();
        // the levels of `temp`: the severity reported must be the one its value calls for
        const raise = { yellow: 60, orange: 70, red: 80 } as const;
        const clear = { yellow: 58, orange: 68, red: 78 } as const;
        const above = { yellow: 'orange', orange: 'red', red: null } as const;
        let committed: 'yellow' | 'orange' | 'red' | null = null;
        for (const c of run(steps, null)) {
          const now = c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status;
          expect(last.get(c.key)).not.toBe(now);
          if (c.verdict.status === 'true') expect(SEVERITIES).toContain(c.verdict.severity);
          if (c.rule === 'temp' && c.verdict.status === 'true') {
            const severity = c.verdict.severity as 'yellow' | 'orange' | 'red';
            expect(['yellow', 'orange', 'red']).toContain(severity);
            const value = c.verdict.value as number;
            if (compareSeverity(severity, committed) > 0) {
              // raised or escalated: the value reached this level's raise (it still calls for it at the commit)
              expect(value).toBeGreaterThanOrEqual(raise[severity]);
            } else {
              // de-escalated (or a pending move called off): inside this level's band — not cleared, and below the
              // next level's clear (de-escalation) or raise (the same level again)
              expect(value).toBeGreaterThanOrEqual(clear[severity]);
              const next = above[severity];
              if (next !== null) expect(value).toBeLessThan(severity === committed ? raise[next] : clear[next]);
            }
            committed = severity;
          } else if (c.rule === 'temp' && c.verdict.status === 'false' && committed !== null) {
            // cleared: only below the mildest level's clear (inside yellow's band an orange alarm de-escalates),
            // and the event says so with the clearing value
            expect(c.verdict.detail?.value).toBeLessThan(clear.yellow);
            expect(c.verdict.detail?.threshold).toBe(clear.yellow);
            committed = null;
          }
          last.set(c.key, now);
        }
      }),
      { numRuns: 150 },
    );
  });
});
