import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lastNamesMemo } from './metric-names-memo.js';

describe('the last list of metric names, found again without its key', () => {
  it('answers as find does for any run of lists (the same, reordered, longer, shorter, empty), calling it only for a new list', () => {
    const names = fc.array(fc.constantFrom('a', 'b', 'ab', ''), { maxLength: 3 });
    fc.assert(
      fc.property(fc.array(names, { minLength: 1, maxLength: 30 }), (lists) => {
        const calls: string[][] = [];
        const memo = lastNamesMemo((list) => {
          calls.push(list);
          return JSON.stringify(list);
        });
        let previous: string[] | null = null;
        for (const list of lists) {
          const before = calls.length;
          expect(memo([...list])).toBe(JSON.stringify(list));
          const same = previous !== null && JSON.stringify(previous) === JSON.stringify(list);
          expect(calls.length - before).toBe(same ? 0 : 1);
          previous = list;
        }
      }),
    );
  });
});
