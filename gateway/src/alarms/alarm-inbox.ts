import type { VerdictChange } from '../../../rules/src/index.js';

/**
 * Where verdict changes wait between the lane's commit and the alarm book's (port; the store's adapter is
 * gateway/src/store/alarm-inbox-sqlite.ts). Without a store there is none: changes go straight across.
 */
export interface AlarmInbox {
  /** Puts changes in (inside the lane's commit); returns the id of the last, to be passed to `taken`. */
  put(changes: readonly VerdictChange[]): number;
  /** Changes put in and not yet taken, oldest first (a start after a crash), or null. */
  waiting(): { changes: VerdictChange[]; upTo: number } | null;
  /** The alarm book recorded everything up to `upTo` (inside its commit). */
  taken(upTo: number): void;
}
