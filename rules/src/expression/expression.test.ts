import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../reading.js';
import { evaluate } from './evaluate.js';
import { compileExpression, ExpressionError, parseExpression } from './parse-expression.js';

const env = (metrics: Record<string, MetricValue>, attrs: Record<string, MetricValue> = {}) => ({
  metric: (n: string) => metrics[n],
  attr: (n: string) => attrs[n],
});
const run = (src: string, metrics: Record<string, MetricValue> = {}, attrs: Record<string, MetricValue> = {}) =>
  evaluate(parseExpression(src), env(metrics, attrs));

describe('expressions', () => {
  it('combines comparisons with and/or/not in every spelling', () => {
    const m = { process_running: true, fan_running: false, p: 5 };
    expect(run('process_running and not fan_running', m)).toBe(true);
    expect(run('process_running AND NOT fan_running', m)).toBe(true);
    expect(run('process_running && !fan_running', m)).toBe(true);
    expect(run('fan_running or p > 4', m)).toBe(true);
    expect(run('fan_running OR p >= 6', m)).toBe(false);
  });

  it('respects precedence: and binds tighter than or, arithmetic before comparison', () => {
    expect(run('true or false and false')).toBe(true);
    expect(run('(true or false) and false')).toBe(false);
    expect(run('1 + 2 * 3 == 7')).toBe(true);
    expect(run('-2 * -3 = 6')).toBe(true);
    expect(run('10 % 4 == 2')).toBe(true);
  });

  it('reads attributes and compares enums', () => {
    expect(run('cooling_pressure < 0.85 * attr.setpoint', { cooling_pressure: 0.16 }, { setpoint: 0.2 })).toBe(true);
    expect(run("quick_shutoff == 'closed'", { quick_shutoff: 'closed' })).toBe(true);
    expect(run('rotary_valve != "running"', { rotary_valve: 'fault' })).toBe(true);
  });

  it('is three-valued: unknown spreads unless and/or decide without it', () => {
    expect(run('missing > 1')).toBeNull();
    expect(run('false and missing')).toBe(false);
    expect(run('true or missing')).toBe(true);
    expect(run('true and missing')).toBeNull();
    expect(run('not missing')).toBeNull();
    expect(run("'a' < 1")).toBeNull();
    expect(run('1 / 0')).toBeNull();
  });

  it('known(x) asks whether a value is there: true or false, never unknown — for guards that must fail safe', () => {
    expect(run('known(lel)', { lel: 0 })).toBe(true);
    expect(run('known(lel)')).toBe(false);
    expect(run('known(lel < attr.max)', { lel: 3 })).toBe(false);
    expect(run('known(lel < attr.max)', { lel: 3 }, { max: 5 })).toBe(true);
    expect(run('o2 >= 1 or not known(lel) or lel >= 5', { o2: 0.5 })).toBe(true);
    expect(run('o2 >= 1 or not known(lel) or lel >= 5', { o2: 0.5, lel: 0 })).toBe(false);
    expect(compileExpression('known(lel) and attr.x > 1').metrics).toEqual(['lel']);
    expect(() => parseExpression('known(lel')).toThrow(ExpressionError);
    // a metric named known is still a metric
    expect(run('known > 1', { known: 2 })).toBe(true);
  });

  it('calls derived-value functions', () => {
    expect(run('hypot(disp_east, disp_north)', { disp_east: 3, disp_north: 4 })).toBe(5);
    expect(run('tangent_angle(v, 1, 0.5)', { v: 1 })).toBeCloseTo(45);
    expect(run('tangent_angle(v, 1, 0.5)', { v: 0.1 })).toBeNull();
    expect(run('abs(min(-3, 2))')).toBe(3);
  });

  it('lists the names it reads', () => {
    const c = compileExpression('a > attr.x and f(b) > 1'.replace('f(b)', 'abs(b)'));
    expect(c.metrics.sort()).toEqual(['a', 'b']);
    expect(c.attrs).toEqual(['x']);
  });

  it.each([
    ['1 +', /unexpected end/],
    ['a > > 1', /unexpected token/],
    ['foo(1)', /unknown function "foo"/],
    ['abs(1, 2)', /takes 1–1 arguments/],
    ['a.b', /only "attr\." and "rule\." may be followed/],
    ['constructor.prototype', /only "attr\."/],
    ['toString(1)', /unknown function "toString"/],
    ['__proto__(1)', /unknown function/],
    ['"open', /unterminated string/],
    ['a ; b', /unexpected character/],
    ['(a', /expected "\)"/],
    ['a b', /unexpected text/],
  ])('refuses %s', (src, message) => {
    expect(() => parseExpression(src)).toThrow(ExpressionError);
    expect(() => parseExpression(src)).toThrow(message);
  });

  it('refuses pathological nesting instead of overflowing the stack', () => {
    expect(() => parseExpression(`${'('.repeat(200)}1${')'.repeat(200)}`)).toThrow(/nested too deeply/);
    expect(() => parseExpression(`${'not '.repeat(200)}true`)).toThrow(/nested too deeply/);
  });

  it('never reaches JavaScript globals', () => {
    expect(run('process')).toBeNull();
    expect(run('globalThis')).toBeNull();
    expect(run('attr.__proto__')).toBeNull();
    expect(run('constructor')).toBeNull();
    expect(run('hasOwnProperty')).toBeNull();
  });
});
