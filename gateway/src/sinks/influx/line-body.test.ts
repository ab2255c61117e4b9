import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineBody } from './line-body.js';

describe('the body of an InfluxDB write', () => {
  it('is the pieces joined by newlines, whether each came as text or as UTF-8 bytes', () => {
    // any text (Chinese site names, escapes, newlines inside a string field), each piece as text or as bytes
    const piece = fc.record({ text: fc.string({ unit: 'grapheme', maxLength: 40 }), asBytes: fc.boolean() });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const chunks = pieces.map(({ text, asBytes }) => (asBytes ? Buffer.from(text) : text));
        const body = lineBody(chunks);
        const text = pieces.map(({ text }) => text).join('\n');
        expect(body.toString()).toBe(text);
        // text stays text when nothing came as bytes: no encoding for the memory queue's lines
        expect(typeof body === 'string').toBe(pieces.every(({ asBytes }) => !asBytes));
      }),
    );
  });

  it('of no pieces is empty', () => {
    expect(lineBody([])).toBe('');
  });
});
