import { describe, expect, it } from 'vitest';
import { createRng } from './prng.js';

describe('createRng', () => {
  it('gives the same sequence for the same seed, and another for another seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, createRng(seed).next);
    const a = createRng(42);
    const b = createRng(42);
    expect(Array.from({ length: 100 }, () => a.next())).toEqual(Array.from({ length: 100 }, () => b.next()));
    expect(createRng(42).next()).not.toEqual(createRng(43).next());
    expect(draw(1)).toHaveLength(5);
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
