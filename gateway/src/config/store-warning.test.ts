import { describe, expect, it } from 'vitest';
import { SPOOL_BYTES_PER_POINT, storeWarning, validateConfig } from './load-config.js';

const configWith = (store: Record<string, unknown>) => validateConfig({ influx: { mode: 'off' }, store }, '(test)');

describe('the spool bound against store.maxBytes', () => {
  it('warns when the spool at its bound would take more than half the store: an outage would fill it and stop the gateway', () => {
    expect(storeWarning(configWith({ maxBytes: 100_000_000 }))).toEqual({
      spoolMaxPoints: 5_000_000,
      needsBytes: 5_000_000 * SPOOL_BYTES_PER_POINT,
      maxBytes: 100_000_000,
    });
    expect(storeWarning(configWith({ maxBytes: 100_000_000, spool: { maxPoints: 250_000 } }))).toBeNull();
    expect(storeWarning(configWith({ maxBytes: 100_000_000, spool: { maxPoints: 250_001 } }))).not.toBeNull();
  });

  it('says nothing without a bound of the store, or with the store off', () => {
    expect(storeWarning(configWith({}))).toBeNull();
    expect(storeWarning(configWith({ enabled: false, maxBytes: 1_000_000 }))).toBeNull();
  });
});
