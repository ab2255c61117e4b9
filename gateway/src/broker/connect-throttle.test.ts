import { describe, expect, it } from 'vitest';
import { createConnectThrottle } from './connect-throttle.js';

const LIMITS = { windowMs: 60_000, maxFailuresPerAddress: 4, maxFailuresPerDevice: 2 };

describe('the CONNECT throttle', () => {
  it('lets attempts be judged until a device reaches its failure limit, then blocks that device only', () => {
    const throttle = createConnectThrottle(LIMITS);
    expect(throttle.blocked('10.0.0.1', 'dc-01', 0)).toBeNull();
    throttle.failed('10.0.0.1', 'dc-01', 0);
    expect(throttle.blocked('10.0.0.1', 'dc-01', 1)).toBeNull();
    throttle.failed('10.0.0.1', 'dc-01', 1);
    expect(throttle.blocked('10.0.0.1', 'dc-01', 2)).toBe('device');
    expect(throttle.blocked('10.0.0.2', 'dc-01', 2)).toBe('device');
    expect(throttle.blocked('10.0.0.1', 'dc-02', 2)).toBeNull();
    expect(throttle.blocked('10.0.0.1', null, 2)).toBeNull();
  });

  it('blocks an address at its limit, whatever device it names, unknown devices included', () => {
    const throttle = createConnectThrottle(LIMITS);
    for (let i = 0; i < 3; i += 1) throttle.failed('10.0.0.1', null, i);
    expect(throttle.blocked('10.0.0.1', null, 3)).toBeNull();
    expect(throttle.size).toBe(1);
    throttle.failed('10.0.0.1', null, 3);
    expect(throttle.blocked('10.0.0.1', null, 4)).toBe('address');
    expect(throttle.blocked('10.0.0.1', 'dc-01', 4)).toBe('address');
    expect(throttle.blocked('10.0.0.2', 'dc-01', 4)).toBeNull();
  });

  it('does not hold a device named "null" against logins that name no known device', () => {
    const throttle = createConnectThrottle(LIMITS);
    throttle.failed('10.0.0.1', 'null', 0);
    throttle.failed('10.0.0.1', 'null', 0);
    expect(throttle.blocked('10.0.0.2', 'null', 1)).toBe('device');
    expect(throttle.blocked('10.0.0.2', null, 1)).toBeNull();
  });

  it('names the address when both the address and the device are over their limits', () => {
    const throttle = createConnectThrottle({ windowMs: 1_000, maxFailuresPerAddress: 2, maxFailuresPerDevice: 2 });
    throttle.failed('10.0.0.1', 'dc-01', 0);
    throttle.failed('10.0.0.1', 'dc-01', 0);
    expect(throttle.blocked('10.0.0.1', 'dc-01', 0)).toBe('address');
    expect(throttle.blocked('10.0.0.9', 'dc-01', 0)).toBe('device');
  });

  it('a name no device has (a decommissioned unit still trying) is held back alone: its address stays open to the others', () => {
    const throttle = createConnectThrottle(LIMITS);
    for (let i = 0; i < 61; i += 1) if (throttle.blocked('10.0.0.1', 'dc-99', i) === null) throttle.failed('10.0.0.1', 'dc-99', i);
    expect(throttle.blocked('10.0.0.1', 'dc-99', 100)).toBe('device');
    expect(throttle.blocked('10.0.0.1', 'dc-02', 100)).toBeNull();
    // failures past its own limit (as a caller not asking first would report them) add nothing to the address
    for (let i = 0; i < 10; i += 1) throttle.failed('10.0.0.1', 'dc-99', 100);
    expect(throttle.blocked('10.0.0.1', 'dc-02', 100)).toBeNull();
    // many names from one address still close it
    throttle.failed('10.0.0.1', 'x-1', 100);
    throttle.failed('10.0.0.1', 'x-2', 100);
    expect(throttle.blocked('10.0.0.1', 'dc-02', 100)).toBe('address');
  });

  it('forgets failures when their window ends, counted from the first failure', () => {
    const throttle = createConnectThrottle(LIMITS);
    throttle.failed('10.0.0.1', 'dc-01', 1_000);
    throttle.failed('10.0.0.1', 'dc-01', 30_000);
    expect(throttle.blocked('10.0.0.1', 'dc-01', 60_999)).toBe('device');
    expect(throttle.blocked('10.0.0.1', 'dc-01', 61_000)).toBeNull();
    expect(throttle.size).toBe(0);
    // A new window starts with the next failure: one failure is below the limit again.
    throttle.failed('10.0.0.1', 'dc-01', 61_000);
    expect(throttle.blocked('10.0.0.1', 'dc-01', 61_001)).toBeNull();
    expect(throttle.size).toBe(2);
  });

  it('holds a key per address and per device, and sweeps ended windows once it holds 10,000', () => {
    const throttle = createConnectThrottle(LIMITS);
    for (let i = 0; i < 9_998; i += 1) throttle.failed(`10.0.${i >> 8}.${i & 255}`, null, 0);
    throttle.failed('10.9.9.9', 'dc-01', 10);
    expect(throttle.size).toBe(10_000);
    // The 10,001st key, after the first 9,998 windows ended: they are swept, the two of 10 ms are kept.
    throttle.failed('10.9.9.8', null, 60_000);
    expect(throttle.size).toBe(3);
    expect(throttle.blocked('10.9.9.9', 'dc-01', 60_000)).toBeNull();
  });

  it('does not sweep below 10,000 keys', () => {
    const throttle = createConnectThrottle(LIMITS);
    for (let i = 0; i < 9_999; i += 1) throttle.failed(`10.0.${i >> 8}.${i & 255}`, null, 0);
    throttle.failed('10.9.9.8', null, 60_000);
    expect(throttle.size).toBe(10_000);
  });
});
