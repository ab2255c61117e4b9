import { describe, expect, it } from 'vitest';
import { tangentAngle, tangentAngleSeverity } from '../derived/tangent-angle.js';
import type { MetricValue } from '../reading.js';
import { type ExprEnv, evaluate, evaluateNumber, holds } from './evaluate.js';
import { expressionSchema, numberOrExpressionSchema, resolveNumber } from './expression-schema.js';
import { compileExpression, ExpressionError, parseExpression } from './parse-expression.js';

const env = (metrics: Record<string, unknown> = {}, attrs: Record<string, unknown> = {}, clock?: ExprEnv['clock']): ExprEnv => ({
  metric: (n) => metrics[n] as MetricValue | undefined,
  attr: (n) => attrs[n] as MetricValue | undefined,
  ...(clock ? { clock } : {}),
});
const run = (src: string, metrics: Record<string, unknown> = {}, attrs: Record<string, unknown> = {}) =>
  evaluate(parseExpression(src), env(metrics, attrs));
/** The error a source text is refused with: its message and the offset it points at. */
const refusal = (src: string): { message: string; offset: number } => {
  try {
    parseExpression(src);
  } catch (error) {
    if (error instanceof ExpressionError) return { message: error.message, offset: error.offset };
    throw error;
  }
  throw new Error(`"${src}" was accepted`);
};

describe('expression operators, value by value', () => {
  it.each([
    ['<', [true, false, false]],
    ['<=', [true, true, false]],
    ['>', [false, false, true]],
    ['>=', [false, true, true]],
    ['==', [false, true, false]],
    ['=', [false, true, false]],
    ['!=', [true, false, true]],
  ] as const)('compares numbers with %s below, on and above the other side', (op, expected) => {
    expect([run(`a ${op} 2`, { a: 1 }), run(`a ${op} 2`, { a: 2 }), run(`a ${op} 2`, { a: 3 })]).toEqual(expected);
  });

  it('compares strings and mixed types only for (in)equality: ordering them is unknown', () => {
    expect(run("s == 'on'", { s: 'on' })).toBe(true);
    expect(run("s != 'on'", { s: 'on' })).toBe(false);
    expect(run("s == 'on'", { s: 'off' })).toBe(false);
    expect(run("s != 'on'", { s: 'off' })).toBe(true);
    expect(run("1 == '1'")).toBe(false);
    expect(run("1 != '1'")).toBe(true);
    expect(run("'a' < 'b'")).toBeNull();
    expect(run("'b' >= 'a'")).toBeNull();
    expect(run('true > false')).toBeNull();
    expect(run('missing == 1')).toBeNull();
    expect(run('1 != missing')).toBeNull();
  });

  it('computes each arithmetic operator, left to right', () => {
    expect(run('7 + 2')).toBe(9);
    expect(run('7 - 2')).toBe(5);
    expect(run('7 * 2')).toBe(14);
    expect(run('7 / 2')).toBe(3.5);
    expect(run('7 % 4')).toBe(3);
    expect(run('10 - 4 - 3')).toBe(3);
    expect(run('24 / 4 / 2')).toBe(3);
    expect(run('2 * 3 % 4')).toBe(2);
    expect(run('1 - 2 + 3')).toBe(2);
    expect(run('-a', { a: 2 })).toBe(-2);
    expect(run('- -a', { a: 2 })).toBe(2);
    expect(run('-(1 + 2) * 2')).toBe(-6);
  });

  it('makes arithmetic on anything but numbers, and results that are not finite, unknown', () => {
    expect(run("'a' + 1")).toBeNull();
    expect(run("1 + 'a'")).toBeNull();
    expect(run('true * 2')).toBeNull();
    expect(run('-s', { s: 'x' })).toBeNull();
    expect(run('-flag', { flag: true })).toBeNull();
    expect(run('0 % 0')).toBeNull();
    expect(run('big * big', { big: 1e308 })).toBeNull();
    expect(run('not 1')).toBeNull();
    expect(run("not 'x'")).toBeNull();
  });

  it('is Kleene logic: each operand decides alone when it can, and unknown spreads otherwise', () => {
    expect(run('true and true')).toBe(true);
    expect(run('true and false')).toBe(false);
    expect(run('missing and false')).toBe(false);
    expect(run('missing and true')).toBeNull();
    expect(run('false or false')).toBe(false);
    expect(run('false or true')).toBe(true);
    expect(run('missing or true')).toBe(true);
    expect(run('false or missing')).toBeNull();
    expect(run('missing or false')).toBeNull();
    expect(run('1 and true')).toBeNull();
    expect(run('true and 1')).toBeNull();
    expect(run('0 or false')).toBeNull();
    expect(run('false or 0')).toBeNull();
    expect(run('not false')).toBe(true);
    expect(run('not true')).toBe(false);
  });

  it('reads only numbers, booleans and strings from the device; anything else is unknown', () => {
    expect(run('x', { x: 0 })).toBe(0);
    expect(run('x', { x: false })).toBe(false);
    expect(run('x', { x: '' })).toBe('');
    expect(run('x', { x: null })).toBeNull();
    expect(run('x', { x: { a: 1 } })).toBeNull();
    expect(run('attr.x', {}, { x: 7 })).toBe(7);
    expect(run('attr.x', { x: 7 }, {})).toBeNull();
    expect(run('x', {}, { x: 7 })).toBeNull();
  });

  it('reads the local time from the environment, unknown without one', () => {
    const clock = (name: 'local_hour' | 'weekday') => (name === 'local_hour' ? 22.5 : 7);
    expect(evaluate(parseExpression('local_hour'), env({}, {}, clock))).toBe(22.5);
    expect(evaluate(parseExpression('weekday'), env({}, {}, clock))).toBe(7);
    expect(evaluate(parseExpression('local_hour'), env())).toBeNull();
    expect(
      evaluate(
        parseExpression('local_hour'),
        env({}, {}, () => null),
      ),
    ).toBeNull();
  });

  it('calls functions with number arguments only, and refuses results that are not finite', () => {
    expect(run('min(3, 1, 2)')).toBe(1);
    expect(run('max(3, 1, 2)')).toBe(3);
    expect(run('abs(-3)')).toBe(3);
    expect(run('sqrt(9)')).toBe(3);
    expect(run('sqrt(-1)')).toBeNull();
    expect(run('sqrt(0)')).toBe(0);
    expect(run('round(1.26, 1)')).toBe(1.3);
    expect(run('round(1.5)')).toBe(2);
    expect(run('atan_deg(1)')).toBeCloseTo(45, 12);
    expect(run('tangent_angle(2, 2)')).toBeCloseTo(45, 12);
    expect(run('tangent_angle(-1, 2)')).toBeNull();
    expect(run('tangent_angle(1, 0)')).toBeNull();
    expect(run('hypot(big, big)', { big: 1.5e308 })).toBeNull();
    expect(run("abs('x')")).toBeNull();
    expect(run('min(1, missing)')).toBeNull();
  });

  it('holds only when known to be true; evaluateNumber gives numbers only', () => {
    expect(holds(parseExpression('1 < 2'), env())).toBe(true);
    expect(holds(parseExpression('missing < 2'), env())).toBe(false);
    expect(evaluateNumber(parseExpression('1 + 1'), env())).toBe(2);
    expect(evaluateNumber(parseExpression('1 < 2'), env())).toBeNull();
  });
});

describe('expression syntax', () => {
  it('reads numbers in every written form, strings in either quote, and any whitespace', () => {
    expect(run('.5 + 1.5e1')).toBe(15.5);
    expect(run('2E-1 * 10')).toBe(2);
    expect(run('.25 * 4')).toBe(1);
    expect(run('2e10 / 1e10')).toBe(2);
    expect(run('1. + 1e+1')).toBe(11);
    expect(run('\t1\n+\r\n2 ')).toBe(3);
    expect(run(`"it's"`)).toBe("it's");
    expect(run(`'say "hi"'`)).toBe('say "hi"');
    expect(run('a_1 + _b', { a_1: 1, _b: 2 })).toBe(3);
  });

  it('knows the words true/false and the severities none…red as literals, in either case for booleans', () => {
    expect([run('TRUE'), run('FALSE'), run('true'), run('false')]).toEqual([true, false, true, false]);
    expect([run('none'), run('blue'), run('yellow'), run('orange'), run('red')]).toEqual([0, 1, 2, 3, 4]);
    expect([run('not FALSE'), run('true OR false'), run('true AND false')]).toEqual([true, true, false]);
  });

  it('lists the metrics, other rules and attributes it reads, not the clock, literals or functions', () => {
    const c = compileExpression('-a + abs(b) > 0 and not c or rule.flow >= red and attr.k < local_hour + weekday');
    expect(c.metrics.sort()).toEqual(['a', 'b', 'c', 'rule.flow']);
    expect(c.attrs).toEqual(['k']);
    expect(c.src).toBe('-a + abs(b) > 0 and not c or rule.flow >= red and attr.k < local_hour + weekday');
    expect(compileExpression('a + a > attr.k - attr.k').metrics).toEqual(['a']);
    expect(compileExpression('a + a > attr.k - attr.k').attrs).toEqual(['k']);
    expect(compileExpression('1 < 2').metrics).toEqual([]);
    expect(parseExpression('rule.flow')).toEqual({ k: 'ref', attr: false, name: 'rule.flow' });
    expect(parseExpression('local_hour')).toEqual({ k: 'clock', name: 'local_hour' });
  });

  it.each([
    ['a > > 1', 'unexpected token', 4],
    ['"open', 'unterminated string', 0],
    ["x == 'open", 'unterminated string', 5],
    ['a ; b', 'unexpected character ";"', 2],
    ['(a', 'expected ")"', 2],
    ['abs(1', 'expected ")"', 5],
    ['a b', 'unexpected text after the expression', 2],
    ['1 +', 'unexpected end of expression', 3],
    ['', 'unexpected end of expression', 0],
    ['attr x', 'expected "."', 5],
    ['attr.(x)', 'expected an attribute name after "attr."', 5],
    ['attr.1', 'expected "."', 4],
    ['rule.', 'expected a rule name after "rule."', 5],
    ['a.b', 'only "attr." and "rule." may be followed by "."', 1],
    ['x + foo(1)', 'unknown function "foo" (known: abs, min, max, sqrt, hypot, round, atan_deg, tangent_angle)', 4],
    ['1 + abs(1, 2)', 'abs() takes 1–1 arguments, got 2', 4],
    ['min()', 'min() takes 1–16 arguments, got 0', 0],
    ['tangent_angle(1)', 'tangent_angle() takes 2–3 arguments, got 1', 0],
    ['weekday(1)', 'unknown function "weekday" (known: abs, min, max, sqrt, hypot, round, atan_deg, tangent_angle)', 0],
    ['and', 'unexpected token', 0],
  ])('refuses %j: %s at offset %i', (src, message, offset) => {
    expect(refusal(src)).toEqual({ message, offset });
  });

  it('takes up to 16 arguments where allowed, and no more', () => {
    const args = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(', ');
    expect(run(`max(${args(16)})`)).toBe(16);
    expect(refusal(`max(${args(17)})`).message).toBe('max() takes 1–16 arguments, got 17');
  });

  it('counts depth, not length: many groups side by side are not nesting', () => {
    expect(run(Array.from({ length: 100 }, () => '(1)').join(' + '))).toBe(100);
    expect(run(`max(${Array.from({ length: 16 }, () => '(-(1))').join(', ')})`)).toBe(-1);
  });

  it('accepts 1000 characters and refuses 1001', () => {
    const of = (n: number) => `1${' '.repeat(n - 1)}`;
    expect(run(of(1000))).toBe(1);
    expect(refusal(of(1001))).toEqual({ message: 'expression longer than 1000 characters', offset: 0 });
  });

  it('accepts nesting up to 64 deep and refuses one more, for parentheses, not and unary minus alike', () => {
    expect(run(`${'('.repeat(63)}1${')'.repeat(63)}`)).toBe(1);
    expect(refusal(`${'('.repeat(64)}1${')'.repeat(64)}`)).toEqual({ message: 'expression nested too deeply', offset: 64 });
    expect(run(`${'not '.repeat(63)}true`)).toBe(false);
    expect(refusal(`${'not '.repeat(64)}true`).message).toBe('expression nested too deeply');
    expect(run(`${'-'.repeat(63)}1`)).toBe(-1);
    expect(refusal(`${'-'.repeat(64)}1`).message).toBe('expression nested too deeply');
  });
});

describe('expression fields of a rule file', () => {
  it('reports a syntax error with its column and the text', () => {
    const bad = expressionSchema.safeParse('a > > 1');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.message)).toEqual(['unexpected token at column 5 of "a > > 1"']);
    expect(expressionSchema.parse('a > 1').metrics).toEqual(['a']);
  });

  it('takes a number, a number written as text, or an expression resolved per device', () => {
    expect(numberOrExpressionSchema.parse(5)).toBe(5);
    expect(numberOrExpressionSchema.parse(' 5.5 ')).toBe(5.5);
    expect(numberOrExpressionSchema.parse('1e3')).toBe(1000);
    const expr = numberOrExpressionSchema.parse('0.85 * attr.setpoint');
    expect(resolveNumber(expr, env({}, { setpoint: 2 }))).toBeCloseTo(1.7, 12);
    expect(resolveNumber(expr, env())).toBeNull();
    expect(resolveNumber(3, env())).toBe(3);
    const blank = numberOrExpressionSchema.safeParse(' ');
    expect(blank.error?.issues.map((i) => i.message)).toEqual(['unexpected end of expression at column 2 of " "']);
    expect(numberOrExpressionSchema.safeParse('attr.').error?.issues.map((i) => i.message)).toEqual([
      'expected an attribute name after "attr." at column 6 of "attr."',
    ]);
    expect(numberOrExpressionSchema.safeParse(undefined).error?.issues.map((i) => i.message)).toEqual(['required']);
    expect(numberOrExpressionSchema.safeParse(true).error?.issues.map((i) => i.message)).toEqual([
      'expected a number or an expression such as "0.85 * attr.setpoint"',
    ]);
  });
});

describe('tangent angle (improved method)', () => {
  it('is arctan(v / v0) in degrees from the gate velocity up, and undefined for inputs that are not finite or v0 ≤ 0', () => {
    expect(tangentAngle(1, 1)).toBeCloseTo(45, 12);
    expect(tangentAngle(0.5, 1, 0.5)).toBeCloseTo(26.565051177, 8);
    expect(tangentAngle(0.49, 1, 0.5)).toBeNull();
    expect(tangentAngle(Number.NaN, 1)).toBeNull();
    expect(tangentAngle(Number.POSITIVE_INFINITY, 1)).toBeNull();
    expect(tangentAngle(1, Number.NaN)).toBeNull();
    expect(tangentAngle(1, Number.POSITIVE_INFINITY)).toBeNull();
    expect(tangentAngle(1, 0)).toBeNull();
    expect(tangentAngle(1, -1)).toBeNull();
  });
});

describe('tangent-angle warning level (improved method)', () => {
  it('is none up to 45°, yellow above it, orange from 80°, red from 85°', () => {
    expect([null, 30, 45, 45.01, 79.99, 80, 84.99, 85, 89].map(tangentAngleSeverity)).toEqual([
      null,
      null,
      null,
      'yellow',
      'yellow',
      'orange',
      'orange',
      'red',
      'red',
    ]);
  });
});
