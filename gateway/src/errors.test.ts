import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorCodeOf } from './errors.js';
import { REJECTION_REASONS } from './ingest/rejection.js';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('the error catalogue is documented', () => {
  it.each(Object.keys(ERROR_CATALOGUE))('docs/errors.md documents %s', (code) => {
    expect(docs).toContain(`| \`${code}\` |`);
  });

  it.each(Object.keys(REJECTION_REASONS))('docs/errors.md documents the rejection reason %s', (reason) => {
    expect(docs).toContain(`| \`${reason}\` |`);
  });

  it('documents no code that does not exist', () => {
    const documented = [...docs.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    const known = new Set([...Object.keys(ERROR_CATALOGUE), ...Object.keys(REJECTION_REASONS)]);
    expect(documented.filter((code) => !known.has(code as string))).toEqual([]);
  });
});

describe('a code that crossed a thread as text', () => {
  it('stays itself when the catalogue has it, and is internal otherwise (never a prototype key)', () => {
    expect(errorCodeOf('store_unavailable')).toBe('store_unavailable');
    for (const stranger of ['no_such_code', 'constructor', '__proto__', 'toString', undefined])
      expect(errorCodeOf(stranger)).toBe('internal');
  });
});
