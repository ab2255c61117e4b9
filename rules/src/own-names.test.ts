import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';
import { parseRuleFile } from './parse-rule-file.js';
import { renderMessage } from './rule-kind.js';
import { mergeOverride } from './rule-set.js';

/** Names people write in rule files and device attributes never resolve to Object.prototype members. */
describe('names from rule files and attributes are own names only', () => {
  it('leaves a template placeholder that names a prototype member as written', () => {
    expect(renderMessage('{constructor} {toString} at {value} {unit}', { value: 3, unit: '°C' })).toBe('{constructor} {toString} at 3 °C');
  });

  it('refuses a __proto__ key in a rule file with its path and line, and sets no prototype when merging', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "severity": "red"}');
    const merged = mergeOverride({ severity: 'orange' }, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(merged.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const parsed = parseRuleFile(
      [
        'profile: p',
        'rules:',
        '  - id: hot',
        '    kind: threshold',
        '    metric: t',
        '    levels: { orange: { raise: 80 } }',
        '    source: test',
        'overrides:',
        '  - rule: hot',
        '    set:',
        '      __proto__: { severity: red }',
      ].join('\n'),
      'proto.yaml',
    );
    expect(parsed).toEqual({
      ok: false,
      problems: [
        { file: 'proto.yaml', line: 11, column: 18, path: 'overrides[0].set.__proto__', message: '"__proto__" is not a valid key' },
      ],
    });
  });

  it('treats attr.constructor in an expression as a missing attribute, not a function', () => {
    const h = harness(
      `
profile: p
rules:
  - id: odd
    kind: expression
    condition: "x > 0 and attr.constructor == attr.constructor"
    severity: orange
    metric: x
    source: test
`,
    );
    h.read(1_000, { x: 5 });
    h.tick(10_000);
    expect(h.state('odd')).not.toBe('orange');
  });
});
