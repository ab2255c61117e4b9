import type { AuditLog } from './audit-log.js';

const EVERY_MS = 3_600_000;

/** Removes audit entries older than `retentionMs`; called on every tick, it runs at most once an hour. */
export function createAuditRetention(audit: AuditLog, retentionMs: number): (now: number) => number {
  let last = Number.NEGATIVE_INFINITY;
  return (now) => {
    if (now - last < EVERY_MS) return 0;
    last = now;
    return audit.prune(now - retentionMs);
  };
}
