import type { AlarmEvent } from '../../../rules/src/index.js';
import type { Logger } from '../observability/logger.js';

export type AlarmEventListener = (event: AlarmEvent) => void;

/** Gives an alarm event to every listener; one that throws is logged and the others still get it. */
export function tellListeners(listeners: Iterable<AlarmEventListener>, event: AlarmEvent, log: Logger): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      log.error({ err: error, type: event.type }, 'alarm listener failed');
    }
  }
}
