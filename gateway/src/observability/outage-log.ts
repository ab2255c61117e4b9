import type { Logger } from './logger.js';

/**
 * Logs a dependency's outage once, not once per failed attempt: the first failure of each key (a site, or '' for a
 * single one) as a warning, then nothing until an attempt succeeds, which is logged with how many failed and for how
 * long. A Redis away for ten minutes was tens of thousands of warnings (one per write of each site); the metrics
 * still count every attempt.
 */
export interface OutageLog {
  failed(error: unknown, fields?: Record<string, unknown>, key?: string): void;
  succeeded(fields?: Record<string, unknown>, key?: string): void;
  /** The key is no longer this process's to report (a site that moved to another node): its outage ends unsaid. */
  forget(key?: string): void;
}

export function createOutageLog(log: Logger, messages: { failed: string; restored: string }, now: () => number = Date.now): OutageLog {
  const failing = new Map<string, { since: number; failures: number }>();
  return {
    failed(error, fields = {}, key = '') {
      const outage = failing.get(key);
      if (outage) {
        outage.failures += 1;
        return;
      }
      failing.set(key, { since: now(), failures: 1 });
      log.warn({ ...fields, err: error }, messages.failed);
    },
    succeeded(fields = {}, key = '') {
      const outage = failing.get(key);
      if (!outage) return;
      failing.delete(key);
      log.info({ ...fields, failures: outage.failures, forMs: now() - outage.since }, messages.restored);
    },
    forget(key = '') {
      failing.delete(key);
    },
  };
}
