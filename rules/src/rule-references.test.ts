import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../test-support/harness.js';
import { validateRuleSet } from './validate-rule-set.js';

// the expect rule comes first in the file: the engine orders rules after the ones they read
const yaml = `
profile: p
rules:
  - id: interlock
    kind: expect
    trigger: "active and (rule.flow_drop >= red or pressure < 0.5)"
    expect: ["valve == 'closed'"]
    within: 3s
    source: t
  - { id: flow_drop, kind: rate, metric: flow, direction: fall, mode: relative, window: 2s, levels: { red: { raise: 15, clear: 7 } }, source: t }
  - { id: flow_silent, kind: silence, metric: flow, ladder: [{ after: 5s, severity: yellow }], source: t }
  - id: bypass
    kind: expect
    trigger: active
    expect: ["rule.flow_silent == none"]
    within: 0
    source: t
`;

describe("expressions on other rules' verdicts (rule.<id>)", () => {
  it('a rate rule going red starts the interlock check; the valve acting in time satisfies it', () => {
    const h = harness(yaml);
    h.read(0, { active: true, flow: 300, pressure: 1, valve: 'open' });
    h.read(1000, { flow: 300 });
    h.read(2000, { flow: 240 }); // −20 % within the 2-s window
    expect(h.state('flow_drop')).toBe('red');
    expect(h.state('interlock')).toBe('pending');
    h.read(3000, { valve: 'closed' });
    h.advanceTo(10_000);
    expect(h.state('interlock')).toBe('false');
  });

  it('…and raises red at 3 s when it does not act', () => {
    const h = harness(yaml);
    h.read(0, { active: true, flow: 300, pressure: 1, valve: 'open' });
    h.read(1000, { flow: 300 });
    h.read(2000, { flow: 240 });
    h.advanceTo(4999);
    expect(h.state('interlock')).toBe('pending');
    h.advanceTo(5000);
    expect(h.state('interlock')).toBe('red');
    expect(h.last('interlock')).toMatchObject({ message: expect.stringContaining("valve == 'closed'") });
  });

  it('sees verdicts that change on the clock (a stale sensor) when the trigger fires', () => {
    const h = harness(yaml);
    h.read(0, { active: false, flow: 300, valve: 'open' });
    h.advanceTo(6000);
    expect(h.state('flow_silent')).toBe('yellow');
    h.read(7000, { active: true });
    expect(h.state('bypass')).toBe('red');
    h.read(8000, { active: false, flow: 300 });
    expect(h.state('bypass')).toBe('false');
    h.read(9000, { active: true });
    expect(h.state('bypass')).toBe('false');
  });

  it('keeps what other rules read across snapshot and restore', () => {
    const h = harness(yaml);
    h.read(0, { active: false, flow: 300, valve: 'open' });
    h.advanceTo(6000);
    const snap = JSON.parse(JSON.stringify(h.engine.snapshot()));
    const again = harness(yaml);
    again.engine.restore(snap, 6000);
    const out = again.engine.onReading({ site: 's', device: 'd', profile: 'p', ts: 7000, metrics: { active: true } }, again.device).changes;
    expect(out.find((c) => c.rule === 'bypass')?.verdict).toMatchObject({ status: 'true', severity: 'red' });
  });

  it('load-time checks: unknown rules, group rules and circles are refused', () => {
    const bad = ruleSetFromYaml(`
profile: p
rules:
  - { id: a, kind: expression, condition: "rule.b >= red", severity: red, source: t }
  - { id: b, kind: expression, condition: "rule.a >= red", severity: red, source: t }
  - { id: c, kind: expression, condition: "rule.nope > 0", severity: red, source: t }
`);
    const problems = validateRuleSet(bad, { metricsOf: () => [] });
    expect(problems).toContain('p/c: "rule.nope" is not a rule of p');
    expect(problems.some((p) => p.includes('in a circle'))).toBe(true);
    expect(problems.some((p) => p.includes('neither a metric'))).toBe(false);
  });

  it('a rule may read its own verdict (the one it had before this reading): a guard that holds once it is raised', () => {
    const own = `
profile: p
rules:
  - { id: low, kind: threshold, metric: o2, direction: below, when: "o2 >= 1 or rule.low != none", levels: { red: { raise: 18, clear: 18.3 } }, source: t }
`;
    expect(validateRuleSet(ruleSetFromYaml(own))).toEqual([]);
    const h = harness(own);
    h.read(0, { o2: 0.5 }); // straight to ~0: not judged
    expect(h.state('low')).toBe('false');
    h.read(1000, { o2: 17 });
    expect(h.state('low')).toBe('red');
    h.read(2000, { o2: 0.5 }); // on down from red: still judged, still red
    expect(h.state('low')).toBe('red');
    h.read(3000, { o2: 20.9 });
    expect(h.state('low')).toBe('false');
  });
});
