import { describe, expect, it } from 'vitest';
import type { FileProblem } from './problems.js';
import { substituteEnv } from './substitute-env.js';

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
