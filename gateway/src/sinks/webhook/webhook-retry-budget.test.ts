import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load-config.js';
import { backoffDelay } from '../sink.js';

const MINUTE = 60_000;

/** A standard subscriber with nothing but what it must say: every retry setting is the default. */
const defaults = () => {
  const config = validateConfig(
    {
      webhooks: [
        { id: 'platform', url: 'http://platform.example/hooks', secrets: [`whsec_${Buffer.from('x'.repeat(32)).toString('base64')}`] },
      ],
    },
    '(test)',
  );
  return config.webhooks[0] as NonNullable<(typeof config.webhooks)[number]>;
};

/** The waits between one event's attempts until the last, each drawn at `draw` (0: the shortest, 1: the longest). */
const budget = (draw: number): number => {
  const { maxAttempts, retryBaseDelay, retryMaxDelay } = defaults();
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt += 1) total += backoffDelay(attempt, retryBaseDelay, retryMaxDelay, () => draw);
  return total;
};

describe("a webhook subscriber's default retries", () => {
  it('span 54 to 109 minutes before an event is dead-lettered: a receiver down for most of an hour loses nothing', () => {
    expect(budget(0)).toBeGreaterThanOrEqual(54 * MINUTE);
    expect(budget(1)).toBeLessThanOrEqual(109 * MINUTE);
  });

  it('start a second after the first failure and wait at most 5 minutes between attempts', () => {
    const { retryBaseDelay, retryMaxDelay } = defaults();
    expect(backoffDelay(1, retryBaseDelay, retryMaxDelay, () => 1)).toBe(1_000);
    expect(backoffDelay(29, retryBaseDelay, retryMaxDelay, () => 1)).toBe(5 * MINUTE);
  });
});
