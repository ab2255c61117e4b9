import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advance, initialLevelState, type ResolvedLevel, targetLevel } from './leveled.js';

const levels: ResolvedLevel[] = [
  { severity: 'yellow', raise: 60, clear: 55, onDelay: undefined },
  { severity: 'orange', raise: 70, clear: 65, onDelay: undefined },
];

describe('hysteresis (property)', () => {
  it('never both raises and clears while the value stays inside a band', () => {
    fc.assert(
      fc.property(
        // A band and a level the signal can be at when it is inside that band.
        fc.constantFrom<[[number, number], 'yellow' | 'orange' | null]>(
          [[55, 60], null],
          [[55, 60], 'yellow'],
          [[65, 70], 'yellow'],
          [[65, 70], 'orange'],
        ),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }),
        ([band, start], fractions) => {
          const state = initialLevelState();
          state.level = start as typeof state.level;
          const seen = new Set<string | null>();
          fractions.forEach((f, i) => {
            const value = band[0] + (band[1] - band[0]) * f * 0.999999 + 1e-9;
            advance(state, targetLevel(levels, 'above', value, state.level), i, { onDelay: 0, offDelay: 0 });
            seen.add(state.level);
          });
          // Inside a band the level can only stay where it was: no raise, no clear.
          expect([...seen]).toEqual([start]);
        },
      ),
    );
  });

  it('below-direction levels mirror above-direction ones', () => {
    const below: ResolvedLevel[] = [{ severity: 'red', raise: 10, clear: 12, onDelay: undefined }];
    expect(targetLevel(below, 'below', 10, null)).toBe('red');
    expect(targetLevel(below, 'below', 11, 'red')).toBe('red');
    expect(targetLevel(below, 'below', 11, null)).toBeNull();
    expect(targetLevel(below, 'below', 12.1, 'red')).toBeNull();
  });
});
