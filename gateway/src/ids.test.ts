import fc from 'fast-check';
import { decodeTime, isValid } from 'ulid';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIdSource } from './ids.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ids: ULIDs from a pooled CSPRNG', () => {
  it('are valid ULIDs of the current time, increasing and unique', () => {
    const newId = createIdSource();
    const before = Date.now();
    const ids = Array.from({ length: 5_000 }, () => newId());
    const after = Date.now();
    for (const id of ids) {
      expect(isValid(id)).toBe(true);
      expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
      expect(decodeTime(id)).toBeLessThanOrEqual(after);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('ids of different milliseconds have fresh random parts, over many refills of the pool', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 600 }), fc.integer({ min: 0, max: 2 ** 40 }), (count, start) => {
        let at = start;
        vi.spyOn(Date, 'now').mockImplementation(() => at);
        const newId = createIdSource();
        const randomParts: string[] = [];
        for (let i = 0; i < count; i += 1) {
          at += 1;
          const id = newId();
          expect(decodeTime(id)).toBe(at);
          randomParts.push(id.slice(10));
        }
        // a pool read twice (not refilled, or read out of step) repeats a random part; a bad mapping skips characters
        expect(new Set(randomParts).size).toBe(count);
        expect(new Set(randomParts.join('')).size).toBe(32);
        vi.restoreAllMocks();
      }),
      { numRuns: 20 },
    );
  });

  it('two sources give different ids in the same millisecond', () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_764_000_000_000);
    const a = createIdSource();
    const b = createIdSource();
    const ids = new Set(Array.from({ length: 1_000 }, (_, i) => (i % 2 === 0 ? a() : b())));
    expect(ids.size).toBe(1_000);
  });
});
