import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../test-support/harness.js';
import { formatProblem, parseRuleFile } from './parse-rule-file.js';
import { buildRuleSet, fingerprintOf, mergeOverride, type RuleFile, ruleSetOf, rulesForDevice } from './rule-set.js';

const file = (text: string, name = 'p.yaml'): RuleFile => {
  const parsed = parseRuleFile(text, name);
  if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
  return parsed.file;
};

const RULES = `profile: p
rules:
  - { id: hot, kind: threshold, metric: x, onDelay: 1m, levels: { yellow: { raise: 50 }, red: { raise: 90 } }, source: t }
  - { id: cold, kind: threshold, metric: x, direction: below, levels: { red: { raise: 0 } }, source: t }
  - { id: spare, kind: threshold, metric: x, enabled: false, levels: { red: { raise: 10 } }, source: t }
`;

/** One line per rule that applies to the device: id, on-delay, and the raise value of each level. */
const summary = (text: string, site: string, device: string): string[] =>
  rulesForDevice(ruleSetFromYaml(text), 'p', site, device).map((def) => {
    if (def.kind !== 'threshold') return def.id;
    const levels = Object.entries(def.levels).map(([severity, level]) => `${severity} ${level?.raise}`);
    return `${def.id} ${def.onDelay} ${levels.join(' ')}`;
  });

describe('rule set: overrides, disabled rules', () => {
  it('leaves a disabled rule out, whether the set has overrides or not', () => {
    expect(summary(RULES, 's', 'd')).toEqual(['hot 60000 yellow 50 red 90', 'cold 0 red 0']);
    expect(summary(`${RULES}overrides:\n  - { rule: cold, site: far, set: { onDelay: 5m } }\n`, 's', 'd')).toEqual([
      'hot 60000 yellow 50 red 90',
      'cold 0 red 0',
    ]);
    const h = harness(RULES);
    h.read(0, { x: 20 });
    expect(h.changes).toEqual([]);
  });

  it('an override enables a disabled rule where it applies only', () => {
    const text = `${RULES}overrides:\n  - { rule: spare, site: s1, set: { enabled: true } }\n`;
    expect(summary(text, 's1', 'd')).toEqual(['hot 60000 yellow 50 red 90', 'cold 0 red 0', 'spare 0 red 10']);
    expect(summary(text, 's2', 'd')).toEqual(['hot 60000 yellow 50 red 90', 'cold 0 red 0']);
  });

  it('merges objects, replaces scalars and lists, removes a key set to null, and changes only its own rule', () => {
    const text = `${RULES}overrides:\n  - { rule: hot, site: s, set: { onDelay: null, levels: { red: { raise: 80 } } } }\n  - { rule: hot, device: d, set: { levels: { yellow: null } } }\n`;
    expect(summary(text, 's', 'e')).toEqual(['hot 0 yellow 50 red 80', 'cold 0 red 0']);
    expect(summary(text, 's', 'd')).toEqual(['hot 60000 red 90', 'cold 0 red 0']);
    expect(summary(text, 'x', 'e')).toEqual(['hot 60000 yellow 50 red 90', 'cold 0 red 0']);
  });

  it('the most specific override wins: device and site, then device, then site, in whatever order they are listed', () => {
    const overrides = [
      '  - { rule: hot, site: s, set: { levels: { red: { raise: 81 } } } }',
      '  - { rule: hot, device: d, set: { levels: { red: { raise: 82 } } } }',
      '  - { rule: hot, site: s, device: d, set: { levels: { red: { raise: 83 } } } }',
    ];
    const red = (order: number[], site: string, device: string): string | undefined =>
      summary(`${RULES}overrides:\n${order.map((i) => overrides[i]).join('\n')}\n`, site, device)[0]
        ?.split(' ')
        .at(-1);
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
      [0, 2, 1],
    ]) {
      expect(red(order, 's', 'd')).toBe('83');
      expect(red(order, 'other', 'd')).toBe('82');
      expect(red(order, 's', 'e')).toBe('81');
      expect(red(order, 'other', 'e')).toBe('90');
    }
  });

  it('an override of another profile’s rule of the same id changes nothing here', () => {
    const q =
      'profile: q\nrules:\n  - { id: hot, kind: threshold, metric: y, levels: { red: { raise: 5 } }, source: t }\noverrides:\n  - { rule: hot, site: s, set: { levels: { red: { raise: 6 } } } }\n';
    const set = ruleSetFromYaml(RULES, q);
    expect(
      rulesForDevice(set, 'p', 's', 'd').map((def) =>
        def.kind === 'threshold' ? `${def.id} ${def.metric} ${def.levels.red?.raise}` : def.id,
      ),
    ).toEqual(['hot x 90', 'cold x 0']);
    expect(
      rulesForDevice(set, 'q', 's', 'd').map((def) =>
        def.kind === 'threshold' ? `${def.id} ${def.metric} ${def.levels.red?.raise}` : def.id,
      ),
    ).toEqual(['hot y 6']);
  });

  it('of two overrides equally specific, the first listed applies', () => {
    const text = `${RULES}overrides:\n  - { rule: hot, site: s, set: { levels: { red: { raise: 70 } } } }\n  - { rule: hot, site: s, set: { levels: { red: { raise: 75 } } } }\n`;
    expect(summary(text, 's', 'd')[0]).toBe('hot 60000 yellow 50 red 70');
  });

  it('ruleSetOf throws with every problem of the set', () => {
    const a = file(RULES);
    const b = file('profile: p\nrules:\n  - { id: hot, kind: silence, source: t }\n', 'b.yaml');
    const c = file('profile: p\noverrides:\n  - { rule: gone, set: {} }\n', 'c.yaml');
    expect(() => ruleSetOf([a, b, c])).toThrow(
      'invalid rule set:\np: rule "hot" is defined twice\np: overrides[0] (gone): no rule "gone" in profile p',
    );
    expect(buildRuleSet([a]).ok).toBe(true);
  });

  it('names an override of a rule missing from its file', () => {
    const parsed = parseRuleFile(`${RULES}overrides:\n  - { rule: nope, set: {} }\n`, 'p.yaml');
    expect(parsed.ok ? [] : parsed.problems.map(formatProblem)).toEqual(['p.yaml:7:13 overrides[0].rule: no rule "nope" in this file']);
  });
});

describe('mergeOverride', () => {
  it('merges objects key by key; lists, scalars and null replace or remove; the result is a plain object', () => {
    const base = { a: 1, list: [1, 2], nested: { b: 2, c: 3 }, gone: 4, scalar: 5, none: null };
    const merged = mergeOverride(base, { list: [3], nested: { c: 30, d: 40 }, gone: null, scalar: { e: 6 }, none: { f: 7 }, g: 8 });
    expect(merged).toEqual({ a: 1, list: [3], nested: { b: 2, c: 30, d: 40 }, scalar: { e: 6 }, none: { f: 7 }, g: 8 });
    expect(Object.keys(merged as object)).toEqual(['a', 'list', 'nested', 'scalar', 'none', 'g']);
    expect(JSON.stringify(merged)).toBe('{"a":1,"list":[3],"nested":{"b":2,"c":30,"d":40},"scalar":{"e":6},"none":{"f":7},"g":8}');
    expect(mergeOverride([1, 2], { a: 1 })).toEqual({ a: 1 });
    expect(mergeOverride({ a: 1 }, [1])).toEqual([1]);
    expect(mergeOverride({ a: 1 }, 'x')).toBe('x');
    expect(mergeOverride({ a: 1 }, null)).toBeUndefined();
    expect(base).toEqual({ a: 1, list: [1, 2], nested: { b: 2, c: 3 }, gone: 4, scalar: 5, none: null });
  });
});

describe('fingerprintOf', () => {
  it('is the same whatever order the keys were in, and keeps lists as lists', () => {
    const def = (text: string) => file(text).rules[0] as Parameters<typeof fingerprintOf>[0];
    const a = def(
      'profile: p\nrules:\n  - { id: q, kind: silence, ladder: [{ after: 1m, severity: yellow }, { after: 2m, severity: red }], source: t }\n',
    );
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
    expect(fingerprintOf(reordered)).toBe(fingerprintOf(a));
    expect(fingerprintOf(a)).toContain('"ladder":[{"after":60000,"severity":"yellow"},{"after":120000,"severity":"red"}]');
    expect(fingerprintOf(a).indexOf('"id"')).toBeLessThan(fingerprintOf(a).indexOf('"kind"'));
  });
});
