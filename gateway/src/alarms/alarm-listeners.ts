import type { AlarmEvent } from '../../../rules/src/index.js';
import type { Logger } from '../observability/logger.js';

export type AlarmEventListener = (event: AlarmEvent) => void;

/**
 * Gives an alarm event to every listener; one that throws is logged and the others still get it — unless `fatal`
 * says its error is not the listener's to keep (a store write that failed inside the caller's commit): that is thrown.
 */
export function tellListeners(
  listeners: Iterable<AlarmEventListener>,
  event: AlarmEvent,
  log: Logger,
  fatal?: (error: unknown) => boolean,
): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      if (fatal?.(error)) throw error;
      log.error({ err: error, type: event.type }, 'alarm listener failed');
    }
  }
}
