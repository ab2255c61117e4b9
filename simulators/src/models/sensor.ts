/** Rounds to the sensor's resolution (0.1 °C, 1 Pa, 0.2 mm tipping bucket) without float dust. */
export function quantise(value: number, step: number): number {
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  return Number((Math.round(value / step) * step).toFixed(decimals));
}

export const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

/** 0 → 1 smoothly between a and b (cubic smoothstep). */
export function smoothstep(a: number, b: number, x: number): number {
  if (x <= a) return 0;
  if (x >= b) return 1;
  const u = (x - a) / (b - a);
  return u * u * (3 - 2 * u);
}

/** First-order lag: moves `value` toward `target` over `dtMs` with time constant `tauMs`. */
export function lag(value: number, target: number, dtMs: number, tauMs: number): number {
  if (dtMs <= 0) return value;
  return target + (value - target) * Math.exp(-dtMs / tauMs);
}

/** A Poisson draw with mean `lambda` (Knuth; small lambdas only). */
export function poisson(next: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  const limit = Math.exp(-Math.min(lambda, 50));
  let k = 0;
  let p = 1;
  do {
    k += 1;
    p *= next();
  } while (p > limit);
  return k - 1;
}
