/**
 * Brute-force brake on CONNECT: failed logins are counted per source address and per user name (a device id, or a
 * name no device has) in a fixed window; past the limit, further CONNECTs from that address or with that name are
 * refused without checking a secret until the window ends. Only failures count, so a site of many devices behind
 * one address reconnecting at once is never throttled, and one misconfigured device — or a decommissioned one still
 * trying under its old name — adds at most the per-device limit to its address's count.
 */
export interface ConnectThrottleLimits {
  windowMs: number;
  maxFailuresPerAddress: number;
  maxFailuresPerDevice: number;
}

export type ThrottleScope = 'address' | 'device';

export interface ConnectThrottle {
  /** The scope that is over its limit now, or null when the attempt may be judged. */
  blocked(address: string, name: string | null, now: number): ThrottleScope | null;
  /** A failed attempt with this user name (a bad secret, or a name no device has); null: none given. */
  failed(address: string, name: string | null, now: number): void;
  /** Keys held now (bounded by sweeping ended windows). */
  readonly size: number;
}

interface Window {
  start: number;
  failures: number;
}

/** Above this many keys, ended windows are swept before a new key is added. */
const SWEEP_ABOVE = 10_000;

export function createConnectThrottle(limits: ConnectThrottleLimits): ConnectThrottle {
  // Keys are `a:` + address or `d:` + user name (a device id, or a name no device has: each address adds at most
  // maxFailuresPerAddress of those a window), in a Map: nothing a client sends reaches an object's prototype.
  const windows = new Map<string, Window>();

  const current = (key: string, now: number): Window | undefined => {
    const window = windows.get(key);
    if (window && now - window.start >= limits.windowMs) {
      windows.delete(key);
      return undefined;
    }
    return window;
  };
  const sweep = (now: number): void => {
    for (const [key, window] of windows) if (now - window.start >= limits.windowMs) windows.delete(key);
  };
  /** One more failure of `key`; how many it has now in its window. */
  const count = (key: string, now: number): number => {
    const window = current(key, now);
    if (window) return ++window.failures;
    if (windows.size >= SWEEP_ABOVE) sweep(now);
    windows.set(key, { start: now, failures: 1 });
    return 1;
  };

  return {
    blocked(address, name, now) {
      if ((current(`a:${address}`, now)?.failures ?? 0) >= limits.maxFailuresPerAddress) return 'address';
      if (name !== null && (current(`d:${name}`, now)?.failures ?? 0) >= limits.maxFailuresPerDevice) return 'device';
      return null;
    },
    failed(address, name, now) {
      // a name's failures past its own limit do not count again towards its address
      if (name === null || count(`d:${name}`, now) <= limits.maxFailuresPerDevice) count(`a:${address}`, now);
    },
    get size() {
      return windows.size;
    },
  };
}
