import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import { formatProblem, parseRuleFile } from './parse-rule-file.js';
import { buildRuleSet } from './rule-set.js';
import { metricsReadBy, ruleRefsOf, validateRuleSet } from './validate-rule-set.js';

const metrics: Record<string, string[]> = { p: ['x', 'y'], meter: ['kw'] };
const metricsOf = (profile: string): string[] | null => metrics[profile] ?? null;

describe('load-time checks of a rule set (validateRuleSet)', () => {
  it('a group rule names member rules that exist, and its while condition known profiles and their metrics', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: hot, kind: threshold, metric: x, levels: { red: { raise: 1 } }, source: t }
  - { id: g, kind: group, source: t, members: { rules: [hot, nope] }, require: any, severity: red, while: { profiles: [meter, nowhere], condition: "kw > 1 and running" } }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual([
      'p/g: members.rules: no rule "nope" in any profile',
      'p/g: while.condition: "running" is not a metric of meter',
      'p/g: while.profiles: unknown profile "nowhere"',
    ]);
    // without metricsOf only the member rules can be checked
    expect(validateRuleSet(set)).toEqual(['p/g: members.rules: no rule "nope" in any profile']);
  });

  it('refuses the rules of an unknown profile, and a reference to a group rule', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: g, kind: group, source: t, members: { rules: [e] }, require: any, severity: red }
  - { id: e, kind: expression, condition: "rule.g >= red", severity: red, source: t }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual(['p/e: "rule.g" is a group rule (only rules of the device can be read)']);
    expect(validateRuleSet(set, { metricsOf: () => null })).toEqual(['p/e: unknown profile "p"']);
  });

  it('a derived value reads metrics and the derived values before it; names read by rules must be either', () => {
    const set = ruleSetFromYaml(`
profile: p
derived:
  - { name: a, expression: "x * 2" }
  - { name: b, expression: "a + z" }
  - { name: c, expression: "d + 1" }
  - { name: d, expression: "x" }
rules:
  - { id: r, kind: threshold, metric: b, levels: { red: { raise: 1 } }, source: t }
  - { id: s, kind: expression, condition: "a > y and w > 0", severity: red, source: t }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual([
      'p/s: "w" is neither a metric nor a derived value of p',
      'p derived b: unknown name "z"',
      'p derived c: unknown name "d"',
    ]);
  });

  it('inhibits: listed rules and profiles that exist pass, with or without metricsOf', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: hot, kind: threshold, metric: x, levels: { red: { raise: 1 } }, source: t }
  - { id: quiet, kind: silence, ladder: [{ after: 1m, severity: yellow }], inhibits: { scope: site, rules: [hot], profiles: [p] }, source: t }
`);
    expect(validateRuleSet(set)).toEqual([]);
    expect(validateRuleSet(set, { metricsOf })).toEqual([]);
  });

  it('inhibits without lists, or listing a profile known only from its metrics, passes; an unknown profile does not', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: quiet, kind: silence, inhibits: { scope: device }, source: t }
  - { id: off, kind: expression, condition: "x > 1", severity: red, inhibits: { scope: site, profiles: [meter, nowhere] }, source: t }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual(['p/off: inhibits.profiles: unknown profile "nowhere"']);
  });

  it('a window rule’s transform reads its aggregate as value, and metrics of the profile', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: w, kind: window, metric: x, aggregate: max, window: 1h, transform: "value * y", levels: { red: { raise: 1 } }, source: t }
  - { id: v, kind: window, metric: x, aggregate: max, window: 1h, transform: "value * zz", levels: { red: { raise: 1 } }, source: t }
  - { id: e, kind: expression, condition: "value > 1", severity: red, source: t }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual([
      'p/v: "zz" is neither a metric nor a derived value of p',
      'p/e: "value" is neither a metric nor a derived value of p',
    ]);
  });

  it('a rule may read the verdict of another rule of the device; a group rule reads no metric and no rule of the device', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: hot, kind: threshold, metric: x, levels: { red: { raise: 1 } }, source: t }
  - { id: e, kind: expression, condition: "rule.hot >= red and y > 0", severity: red, source: t }
  - { id: g, kind: group, source: t, members: { rules: [hot] }, require: any, severity: red, while: { profiles: [meter], condition: "kw > 1" } }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual([]);
    const group = set.get('p')?.find((d) => d.id === 'g');
    if (!group) throw new Error('fixture');
    expect([...metricsReadBy(group)]).toEqual([]);
    expect(ruleRefsOf(group)).toEqual([]);
  });

  it('names an override’s site and device where its rule has a problem', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - { id: hot, kind: threshold, metric: x, levels: { red: { raise: 1 } }, source: t }
overrides:
  - { rule: hot, device: d1, set: { metric: zz } }
  - { rule: hot, site: s1, device: d2, set: { metric: zz } }
  - { rule: hot, site: s2, set: { metric: zz } }
`);
    expect(validateRuleSet(set, { metricsOf })).toEqual([
      'p/hot (override */d1): "zz" is neither a metric nor a derived value of p',
      'p/hot (override s1/d2): "zz" is neither a metric nor a derived value of p',
      'p/hot (override s2/*): "zz" is neither a metric nor a derived value of p',
    ]);
  });
});

describe('rule files and sets refused with a message', () => {
  const problems = (text: string) => {
    const parsed = parseRuleFile(text, 'p.yaml');
    return parsed.ok ? [] : parsed.problems.map(formatProblem);
  };

  it('a derived value twice, and an override that changes id or kind', () => {
    expect(problems('profile: p\nderived:\n  - { name: a, expression: "x" }\n  - { name: a, expression: "y" }\n')).toEqual([
      'p.yaml:4:13 derived[1].name: duplicate derived value "a"',
    ]);
    const rule = 'rules:\n  - { id: t, kind: threshold, metric: x, levels: { red: { raise: 1 } }, source: s }\n';
    expect(problems(`profile: p\n${rule}overrides:\n  - { rule: t, set: { kind: silence } }\n`)).toEqual([
      'p.yaml:5:21 overrides[0].set: an override may not change id or kind',
    ]);
    expect(problems(`profile: p\n${rule}overrides:\n  - { rule: t, set: { id: u } }\n`)).toEqual([
      'p.yaml:5:21 overrides[0].set: an override may not change id or kind',
    ]);
  });

  it('a rule defined twice across files of one profile, and an override of a rule the profile does not have', () => {
    const a = parseRuleFile(
      'profile: p\nrules:\n  - { id: t, kind: threshold, metric: x, levels: { red: { raise: 1 } }, source: s }\n',
      'a.yaml',
    );
    const b = parseRuleFile(
      'profile: p\nrules:\n  - { id: t, kind: threshold, metric: y, levels: { red: { raise: 2 } }, source: s }\n',
      'b.yaml',
    );
    const c = parseRuleFile('profile: p\noverrides:\n  - { rule: zz, set: { severity: red } }\n', 'c.yaml');
    if (!a.ok || !b.ok || !c.ok) throw new Error('fixtures must parse');
    expect(buildRuleSet([a.file, b.file, c.file])).toEqual({
      ok: false,
      problems: ['p: rule "t" is defined twice', 'p: overrides[0] (zz): no rule "zz" in profile p'],
    });
  });
});
