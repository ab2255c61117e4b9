/** How long a device waits between connection attempts. */
export interface BackoffOptions {
  /** The shortest wait, ms (default 1 s). */
  minMs?: number;
  /** The longest wait, ms (default 60 s). */
  maxMs?: number;
  /** Uniform in [0, 1); default Math.random (the waits are wall-clock, not part of a seeded scenario). */
  random?: () => number;
}

export interface Backoff {
  /** The wait before the next attempt; each call counts one more failed attempt. */
  next(): number;
  /** A connection succeeded: the next failure waits the shortest again. */
  reset(): void;
}

/**
 * Exponential backoff with "equal jitter": the n-th wait is drawn from the upper half of min(max, 2ⁿ × 2·min), so
 * 1–2 s, 2–4 s, … up to 30–60 s. Doubling keeps a fleet from hammering a gateway that is down; the jitter keeps
 * thousands of devices that lost it at one instant from all coming back at one instant when it restarts.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const minMs = options.minMs ?? 1_000;
  const maxMs = Math.max(minMs, options.maxMs ?? 60_000);
  const random = options.random ?? Math.random;
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, 2 * minMs * 2 ** attempt);
      attempt = Math.min(attempt + 1, 30);
      return Math.max(minMs, ceiling / 2 + (random() * ceiling) / 2);
    },
    reset() {
      attempt = 0;
    },
  };
}
