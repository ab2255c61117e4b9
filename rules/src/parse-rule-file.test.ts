import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
