import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderMessage, roundForMessage } from './rule-kind.js';

/** What renderMessage did before it scanned by hand: the reference it must agree with. */
const byRegex = (template: string, fields: Record<string, string | number | boolean | null>): string =>
  template
    .replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = fields[name];
      return value === undefined || value === null ? whole : typeof value === 'number' ? String(roundForMessage(value)) : String(value);
    })
    .replace(/\s+/g, ' ')
    .trim();

describe('renderMessage', () => {
  it('fills placeholders, keeps unknown ones, collapses white space', () => {
    const fields = { value: 1.23456789, unit: 'MPa', threshold: null, device: 'caster 2' };
    expect(renderMessage('  p {value} {unit}  ≥ {threshold}\t{nope} {device}{ {} {value', fields)).toBe(
      'p 1.23457 MPa ≥ {threshold} {nope} caster 2{ {} {value',
    );
  });

  it('fills names of letters at either end of the alphabet, digits and _, and rounds values for a person', () => {
    const fields = { az: 'a', AZ: 'b', '09': 'c', _: 'd', big: 1234.5678, small: 999.123456789, minus: -1500.256, whole: 12 };
    expect(renderMessage('{az} {AZ} {09} {_} {a`} {@} {[} {:}', fields)).toBe('a b c d {a`} {@} {[} {:}');
    expect(renderMessage('{big} {small} {minus} {whole}', fields)).toBe('1234.57 999.123 -1500.26 12');
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
