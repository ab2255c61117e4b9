import type { Logger } from '../observability/logger.js';
import { type Rejection, reject } from './rejection.js';

/** Distinct faults logged with their stack; later repeats of one are logged at debug (a device may resend it). */
const MAX_DISTINCT_FAULTS = 100;

export interface FaultLog {
  /** The `internal` rejection for an error thrown while judging a payload; logs it once with its stack. */
  rejection(error: unknown, device: string): Rejection;
}

export function createFaultLog(log: Logger): FaultLog {
  const seen = new Set<string>();
  return {
    rejection(error, device) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (!seen.has(message) && seen.size < MAX_DISTINCT_FAULTS) {
        seen.add(message);
        log.error({ err: error, device }, 'payload judgement failed');
      } else {
        log.debug({ err: error, device }, 'payload judgement failed');
      }
      return reject('internal', `the gateway failed while judging this payload (${message}); it is kept here and was not stored`);
    },
  };
}
