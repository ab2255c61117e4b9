import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { aliasBomb, aliasInsideItself, deeplyNested } from '../../test/support/hostile-yaml.js';
import { formatProblem, parseRuleFile } from './parse-rule-file.js';
import { buildRuleSet } from './rule-set.js';
import { validateRuleSet } from './validate-rule-set.js';

describe('parseRuleFile', () => {
  it('accepts the dust-collector profile rules', () => {
    const text = readFileSync(new URL('../../profiles/dust-collector/rules.yaml', import.meta.url), 'utf8');
    const parsed = parseRuleFile(text, 'profiles/dust-collector/rules.yaml');
    expect(parsed.ok).toBe(true);
  });

  it('reports every problem with file, line and path', () => {
    const parsed = parseRuleFile(
      `profile: p
rules:
  - id: ok
    kind: threshold
    metric: x
    source: s
    levels: { red: { raise: 1 } }
  - id: bad_expr
    kind: expression
    condition: "a and"
    severity: red
    source: s
  - id: no_window
    kind: window
    metric: m
    aggregate: avg
    levels: { red: { raise: 1 } }
    source: s
  - id: ok
    kind: silence
    source: s
overrides:
  - rule: ok
    set: { onDelay: "soon" }
`,
      'rules/p.yaml',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const lines = parsed.problems.map(formatProblem);
    expect(lines).toContain('rules/p.yaml:10:16 rules[1].condition: unexpected end of expression at column 6 of "a and"');
    expect(lines).toContain('rules/p.yaml:13:5 rules[2].window: required');
  });

  it('refuses a misspelt key wherever it is, rather than taking a default in its place (the wrong side of a threshold)', () => {
    const parsed = parseRuleFile(
      `profile: p
rules:
  - id: low_flow
    kind: threshold
    metric: flow
    dirction: below
    onDeley: 10m
    levels:
      oragne: { raise: 5 }
      yellow: { raise: 8, ondelay: 1m }
    source: s
overrides:
  - rule: low_flow
    set: { levels: { yellow: { rasie: 7 } } }
  - rule: low_flow
    sites: [site-a]
    set: {}
profle: q
`,
      'p.yaml',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    // (the overrides' rules carry the rule's misspellings too, reported at each override)
    expect(parsed.problems.map(formatProblem)).toEqual(
      expect.arrayContaining([
        'p.yaml:3:5 rules[0]: Unrecognized keys: "dirction", "onDeley"',
        'p.yaml:9:7 rules[0].levels: Unrecognized key: "oragne"',
        'p.yaml:10:15 rules[0].levels.yellow: Unrecognized key: "ondelay"',
        'p.yaml:15:5 overrides[1]: Unrecognized key: "sites"',
        'p.yaml:1:1 Unrecognized key: "profle"',
        'p.yaml:14:30 overrides[0].set.levels.yellow: Unrecognized keys: "ondelay", "rasie"',
      ]),
    );
    // an override's misspelling is found in the rule it makes
    const fixed = parseRuleFile(
      `profile: p
rules:
  - { id: low_flow, kind: threshold, metric: flow, direction: below, source: s, levels: { yellow: { raise: 8 } } }
overrides:
  - rule: low_flow
    set: { levels: { yellow: { rasie: 7 } } }
`,
      'p.yaml',
    );
    expect(fixed.ok ? [] : fixed.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^p\.yaml:6:\d+ overrides\[0\]\.set\.levels\.yellow: Unrecognized key: "rasie"/),
    ]);
  });

  it('reports override problems at the override, and duplicate ids', () => {
    const parsed = parseRuleFile(
      `profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    source: s
    levels: { red: { raise: 1 } }
  - id: t
    kind: silence
    source: s
overrides:
  - rule: t
    set: { onDelay: "soon" }
  - rule: nope
    set: {}
`,
      'p.yaml',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const lines = parsed.problems.map(formatProblem);
    expect(lines).toContain('p.yaml:8:9 rules[1].id: duplicate rule id "t"');
    expect(lines.some((l) => l.startsWith('p.yaml:13:') && l.includes('overrides[0].set.onDelay'))).toBe(true);
    expect(lines.some((l) => l.startsWith('p.yaml:14:') && l.includes('no rule "nope"'))).toBe(true);
  });

  it('reports YAML errors in one line each, at their line and column, without the YAML source quoted', () => {
    const problems = (text: string) => {
      const parsed = parseRuleFile(text, 'x.yaml');
      return parsed.ok ? [] : parsed.problems.map(formatProblem);
    };
    expect(problems('profile: p\nprofile: q\n')).toEqual(['x.yaml:2:1 Map keys must be unique']);
    expect(problems('profile: p\n\trules: []\n')).toEqual(['x.yaml:2:1 Tabs are not allowed as indentation']);
  });

  it('a problem of the whole file has no path; an empty file no line either', () => {
    const problems = (text: string) => {
      const parsed = parseRuleFile(text, 'x.yaml');
      return parsed.ok ? [] : parsed.problems.map(formatProblem);
    };
    expect(problems('')).toEqual(['x.yaml Invalid input: expected object, received null']);
    expect(problems('[1, 2]\n')).toEqual(['x.yaml:1:1 Invalid input: expected object, received array']);
    expect(problems('profile: p\nrules: 5\n')).toEqual(['x.yaml:2:8 rules: Invalid input: expected array, received number']);
    expect(formatProblem({ file: 'y.yaml', line: 3, column: null, path: 'rules[0]', message: 'm' })).toBe('y.yaml:3 rules[0]: m');
  });

  it('refuses hostile YAML with a problem of the whole file, never a throw: an alias bomb, an alias inside itself, deep nesting', () => {
    const problems = (text: string) => {
      const parsed = parseRuleFile(text, 'x.yaml');
      return parsed.ok ? [] : parsed.problems.map(formatProblem);
    };
    expect(problems(aliasBomb())).toEqual([expect.stringMatching(/^x\.yaml its aliases cannot be expanded: Excessive alias count/)]);
    expect(problems(`profile: p\nrules: []\n${aliasInsideItself}`)).toEqual([
      'x.yaml an alias (*name) stands inside the node it names: a structure without end',
    ]);
    // shared aliases that do not contain themselves are plain YAML (their homes at the top, x-… keys)
    expect(problems('profile: p\nrules: []\nx-a: &x { a: 1 }\nx-b: [*x, *x]\n')).toEqual([]);
    const deep = problems(`profile: p\nrules: ${deeplyNested(20_000)}\n`);
    expect(deep.length).toBeGreaterThan(0);
    for (const problem of deep) expect(problem).toMatch(/^x\.yaml(:\d+)* /);
  });

  it('answers every generated rule file, near-valid or hostile, with a rule set or its problems: nothing is thrown', () => {
    const profiles = ['dust-collector', 'confined-space', 'deep-well-casting', 'mine-slope', 'power', 'tailings-dam'];
    const real = profiles.map(
      (profile) => parse(readFileSync(new URL(`../../profiles/${profile}/rules.yaml`, import.meta.url), 'utf8')) as { rules: object[] },
    );
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(-1, 0, 1e308, -0, '', '5m', 'x > 1 and', 'red', 'true'));
    // a real profile's rules, one field of some rules replaced, removed or added, sometimes with hostile YAML after it
    const ruleFile = fc
      .tuple(
        fc.nat({ max: real.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 12 }), anyValue, fc.boolean()), { maxLength: 4 }),
        fc.constantFrom('', aliasBomb(), aliasInsideItself, 'overrides: [{ rule: x, set: { id: y } }]', '__proto__: { polluted: 1 }'),
      )
      .map(([which, edits, hostile]) => {
        const file = structuredClone(real[which] as { rules: Array<Record<string, unknown>> });
        for (const [index, key, value, remove] of edits) {
          const rule = file.rules[index % file.rules.length] as Record<string, unknown>;
          const field = Object.keys(rule)[index % Object.keys(rule).length] ?? key;
          if (remove) delete rule[field];
          else rule[index % 2 === 0 ? field : key] = value;
        }
        return `${stringify(file)}\n${hostile}`;
      });
    fc.assert(
      fc.property(ruleFile, (text) => {
        const parsed = parseRuleFile(text, 'gen.yaml');
        if (!parsed.ok) return parsed.problems.length > 0 && parsed.problems.every((problem) => problem.message.length > 0);
        const built = buildRuleSet([parsed.file]);
        if (!built.ok) return built.problems.length > 0;
        validateRuleSet(built.set, { metricsOf: () => ['hopper_temp'] });
        return ({} as Record<string, unknown>).polluted === undefined;
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it('reports YAML syntax errors with their line', () => {
    const parsed = parseRuleFile('profile: p\nrules:\n  - id: [unclosed\n', 'x.yaml');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('an overrides-only file refines another file’s profile; unknown metrics are found by metricsOf', () => {
    const a = parseRuleFile(
      `profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    when: "running and attr.on"
    source: s
    levels: { red: { raise: 1 } }
`,
      'a.yaml',
    );
    const b = parseRuleFile(`profile: p\noverrides:\n  - { rule: t, site: s1, set: { levels: { red: { raise: 5 } } } }\n`, 'b.yaml');
    if (!a.ok || !b.ok) throw new Error('fixtures must parse');
    const built = buildRuleSet([a.file, b.file]);
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.set.overrides).toHaveLength(1);
    expect(validateRuleSet(built.set, { metricsOf: () => ['x'] })).toEqual([
      'p/t: "running" is neither a metric nor a derived value of p',
      'p/t (override s1/*): "running" is neither a metric nor a derived value of p',
    ]);
    const broken = parseRuleFile(`profile: p\noverrides:\n  - { rule: t, set: { levels: { red: { raise: "1 +" } } } }\n`, 'c.yaml');
    if (!broken.ok) throw new Error('syntax is fine; the merge is checked when the set is built');
    const result = buildRuleSet([a.file, broken.file]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/overrides\[0\] \(t\): set\.levels\.red\.raise: unexpected end/);
  });
});
