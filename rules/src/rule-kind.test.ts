import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayNumber, renderMessage, roundForMessage } from './rule-kind.js';

/** What renderMessage did before it scanned by hand: the reference it must agree with. */
const byRegex = (template: string, fields: Record<string, string | number | boolean | null>): string =>
  template
    .replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = fields[name];
      return value === undefined || value === null ? whole : typeof value === 'number' ? String(displayNumber(value)) : String(value);
    })
    .replace(/\s+/g, ' ')
    .trim();

describe('renderMessage', () => {
  it('fills placeholders, keeps unknown ones, collapses white space', () => {
    const fields = { value: 1.23456789, unit: 'MPa', threshold: null, device: 'caster 2' };
    expect(renderMessage('  p {value} {unit}  ≥ {threshold}\t{nope} {device}{ {} {value', fields)).toBe(
      'p 1.23 MPa ≥ {threshold} {nope} caster 2{ {} {value',
    );
  });

  it('fills names of letters at either end of the alphabet, digits and _, and rounds values for a person', () => {
    const fields = { az: 'a', AZ: 'b', '09': 'c', _: 'd', big: 1234.5678, small: 999.123456789, minus: -1500.256, whole: 12 };
    expect(renderMessage('{az} {AZ} {09} {_} {a`} {@} {[} {:}', fields)).toBe('a b c d {a`} {@} {[} {:}');
    // read at a glance: a pond at 1234.6 m keeps its decimal, a rate 40.6458 % is 40.6 %, a pressure 0.0812 MPa stays
    expect(renderMessage('{big} {small} {minus} {whole}', fields)).toBe('1234.6 999.1 -1500.3 12');
    expect(renderMessage('{a} {b} {c} {d}', { a: 40.6458, b: 5.79953, c: 0.081234, d: 0.7 * 0.2 })).toBe('40.6 5.8 0.0812 0.14');
    // the event's value keeps six significant digits
    expect(roundForMessage(1000.456)).toBe(1000.46);
    // two decimals however large, not six significant digits
    expect(roundForMessage(12345.678)).toBe(12345.68);
  });

  it('agrees with the regular-expression rendering on any template (property)', () => {
    const piece = fc.constantFrom(
      '{',
      '}',
      'value',
      'unit',
      'x',
      '_',
      '9',
      ' ',
      '  ',
      '\t',
      '\n',
      '\u00a0',
      'é',
      '{value}',
      '{unit}',
      '{gone}',
      '{}',
    );
    const template = fc.array(piece, { maxLength: 30 }).map((parts) => parts.join(''));
    const field = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(template, field, field, (t, value, unit) => {
        const fields = { value, unit, x: 'a  b' };
        expect(renderMessage(t, fields)).toBe(byRegex(t, fields));
      }),
      { numRuns: 2000 },
    );
  });
});
