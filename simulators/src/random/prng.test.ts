import { describe, expect, it } from 'vitest';
import { createRng } from './prng.js';

describe('createRng', () => {
  it('gives the same sequence for the same seed, and another for another seed', () => {
    const draw = (seed: number, length = 100): number[] => {
      const rng = createRng(seed);
      return Array.from({ length }, () => rng.next());
    };
    expect(draw(42)).toEqual(draw(42));
    // Every seed of a range gives its own stream: no two of 1,000 seeds share their first four draws.
    const heads = new Set(Array.from({ length: 1_000 }, (_, seed) => draw(seed, 4).join(',')));
    expect(heads.size).toBe(1_000);
    // A stream does not repeat itself early: 10,000 draws are (almost) all distinct.
    expect(new Set(draw(1, 10_000)).size).toBeGreaterThan(9_990);
  });

  it('keeps every draw of every helper within its documented range', () => {
    for (const seed of [0, 1, 7, 42, 0xffffffff]) {
      const rng = createRng(seed);
      for (let i = 0; i < 2_000; i += 1) {
        const u = rng.next();
        expect(u >= 0 && u < 1, `next() = ${u}`).toBe(true);
        const b = rng.between(-5, 12);
        expect(b >= -5 && b < 12, `between(-5, 12) = ${b}`).toBe(true);
      }
      expect(Array.from({ length: 100 }, () => rng.chance(0)).some(Boolean)).toBe(false);
      expect(Array.from({ length: 100 }, () => rng.chance(1)).every(Boolean)).toBe(true);
    }
  });

  it('draws uniform values that fill [0, 1) evenly', () => {
    const rng = createRng(11);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i += 1) bins[Math.floor(rng.next() * 10)]! += 1;
    // 2,000 expected per bin; a bad generator (or a constant) falls far outside ±10 %.
    for (const count of bins) expect(Math.abs(count - 2_000)).toBeLessThan(200);
  });

  it('forks independent streams by label', () => {
    const root = createRng(7);
    expect(root.fork('dc-01').next()).toEqual(createRng(7).fork('dc-01').next());
    expect(root.fork('dc-01').next()).not.toEqual(root.fork('dc-02').next());
  });

  it('draws uniform values in [0, 1) and roughly standard normal values', () => {
    const rng = createRng(3);
    const uniform = Array.from({ length: 10_000 }, () => rng.next());
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniform)).toBeLessThan(1);
    const normal = Array.from({ length: 10_000 }, () => rng.gaussian(2));
    const mean = normal.reduce((s, v) => s + v, 0) / normal.length;
    const sd = Math.sqrt(normal.reduce((s, v) => s + (v - mean) ** 2, 0) / normal.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(sd).toBeGreaterThan(1.9);
    expect(sd).toBeLessThan(2.1);
  });
});
