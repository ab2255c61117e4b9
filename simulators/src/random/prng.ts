/** A seeded source of randomness: the same seed gives the same sequence, on every platform. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** Normally distributed (Box–Muller), mean 0 and the given standard deviation. */
  gaussian(sd?: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** An independent stream for a named part (a device, a sensor), stable whatever else draws numbers. */
  fork(label: string): Rng;
}

/** cyrb53-style 32-bit string hash, to derive sub-seeds from labels. */
export function hashSeed(seed: number, label: string): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < label.length; i += 1) {
    const ch = label.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  return h1 >>> 0;
}

/** mulberry32: tiny, fast, good enough for plausible noise — not for secrets. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  let spare: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    between: (min, max) => min + (max - min) * next(),
    gaussian(sd = 1) {
      if (spare !== null) {
        const value = spare;
        spare = null;
        return value * sd;
      }
      const u = Math.max(next(), Number.EPSILON);
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v) * sd;
    },
    chance: (p) => next() < p,
    fork: (label) => createRng(hashSeed(seed, label)),
  };
  return rng;
}
