import { describe, expect, it } from 'vitest';
import type { FileProblem } from './problems.js';
import { asTyped, substituteEnv } from './substitute-env.js';

describe('${ENV} in config values', () => {
  it('substitutes variables and defaults, and reports missing ones with their path', () => {
    const problems: FileProblem[] = [];
    const out = substituteEnv({ a: '${X}', b: ['${MISSING}'], c: 'x-${Y:-fallback}', n: 3 }, { X: 'one' }, 'f.yaml', problems);
    expect(out).toEqual({ a: 'one', b: ['${MISSING}'], c: 'x-fallback', n: 3 });
    expect(problems).toEqual([{ file: 'f.yaml', line: null, path: 'b[0]', message: 'environment variable MISSING is not set' }]);
  });
});

describe('${ENV} names that are Object.prototype members', () => {
  it('reads only variables that are set, never a member of the environment object', () => {
    const problems: FileProblem[] = [];
    const out = substituteEnv({ a: '${constructor}', b: '${toString:-plain}', c: '${__proto__}' }, process.env, 'f.yaml', problems);
    expect(out).toEqual({ a: '${constructor}', b: 'plain', c: '${__proto__}' });
    expect(problems.map((p) => p.message)).toEqual([
      'environment variable constructor is not set',
      'environment variable __proto__ is not set',
    ]);
  });
});

describe('${ENV} as a shell reads it, and typed where the schema wants a number or a boolean', () => {
  it('takes the default also for a variable set but empty; $${ is a literal ${', () => {
    const problems: FileProblem[] = [];
    const out = substituteEnv(
      { a: '${EMPTY:-fallback}', b: '${EMPTY}', c: 'pa$${ss}word', d: '$${X}' },
      { EMPTY: '', X: 'no' },
      'f.yaml',
      problems,
    );
    expect(out).toEqual({ a: 'fallback', b: '', c: 'pa${ss}word', d: '${X}' });
    expect(problems).toEqual([]);
  });

  it('reads a value that was one reference alone as a number or boolean where one is wanted, and only that', () => {
    const whole = new Map<string, string>();
    const raw = substituteEnv(
      { mqtt: { tcp: { port: '${PORT:-1883}' } }, lab: { enabled: '${LAB}' }, name: '${PORT}', mixed: 'p${PORT}', bad: '${WORD}' },
      { PORT: '11883', LAB: 'true', WORD: 'many' },
      'f.yaml',
      [],
      [],
      whole,
    );
    const wants = [
      { path: ['mqtt', 'tcp', 'port'], expected: 'number' },
      { path: ['lab', 'enabled'], expected: 'boolean' },
      { path: ['mixed'], expected: 'number' }, // not one reference alone: stays text
      { path: ['bad'], expected: 'number' }, // not a number: stays text, the schema says so
    ];
    expect(asTyped(raw, whole, wants)).toEqual({
      mqtt: { tcp: { port: 11883 } },
      lab: { enabled: true },
      name: '11883',
      mixed: 'p11883',
      bad: 'many',
    });
  });
});
