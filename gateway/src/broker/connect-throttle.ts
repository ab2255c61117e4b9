/**
 * Brute-force brake on CONNECT: failed logins are counted per source address and per device id in a fixed
 * window; past the limit, further CONNECTs from that address or for that device are refused without
 * checking a secret until the window ends. Only failures count, so a site of many devices behind one
 * address reconnecting at once is never throttled, and one misconfigured device adds at most the
 * per-device limit to its address's count.
 */
export interface ConnectThrottleLimits {
  windowMs: number;
  maxFailuresPerAddress: number;
  maxFailuresPerDevice: number;
}

export type ThrottleScope = 'address' | 'device';

export interface ConnectThrottle {
  /** The scope that is over its limit now, or null when the attempt may be judged. */
  blocked(address: string, device: string | null, now: number): ThrottleScope | null;
  /** A failed attempt: bad secret (`device` known) or unknown device (`device` null). */
  failed(address: string, device: string | null, now: number): void;
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
  // Keys are `a:` + address or `d:` + device id, in a Map: nothing a client sends reaches an object's prototype.
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
  const count = (key: string, now: number): void => {
    const window = current(key, now);
    if (window) {
      window.failures += 1;
      return;
    }
    if (windows.size >= SWEEP_ABOVE) sweep(now);
    windows.set(key, { start: now, failures: 1 });
  };

  return {
    blocked(address, device, now) {
      if ((current(`a:${address}`, now)?.failures ?? 0) >= limits.maxFailuresPerAddress) return 'address';
      if (device !== null && (current(`d:${device}`, now)?.failures ?? 0) >= limits.maxFailuresPerDevice) return 'device';
      return null;
    },
    failed(address, device, now) {
      count(`a:${address}`, now);
      if (device !== null) count(`d:${device}`, now);
    },
    get size() {
      return windows.size;
    },
  };
}
