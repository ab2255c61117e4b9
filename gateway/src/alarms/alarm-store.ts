import type { AlarmBookSnapshot, AlarmTransition, FlapRecord, InhibitionChanges, Shelf } from '../../../rules/src/index.js';

/**
 * The alarm book's record in the local store (port; adapter gateway/src/store/alarm-store-sqlite.ts): every
 * transition with the alarm as it left it, and the flapping bookkeeping, so that a restart goes on with the same
 * alarms, ids and `seq`.
 */
export interface AlarmStore {
  /** Open alarms and the `maxClosed` most recently resolved, with their histories. */
  load(maxClosed: number): AlarmBookSnapshot;
  /** Records transitions (inside the caller's commit) and, per key they touched, its flapping record. */
  record(steps: readonly AlarmTransition[], flapOf: (key: string) => FlapRecord | undefined): void;
  /** Saves the flapping records of `keys` (inside the caller's commit): those a step changed with no transition. */
  saveFlaps(keys: Iterable<string>, flapOf: (key: string) => FlapRecord | undefined): void;
  /** Saves shelves that changed (inside the caller's commit); ended ones beyond the newest `maxEnded` are forgotten. */
  saveShelves(shelves: readonly Shelf[]): void;
  /** Saves what changed in the inhibition state (inside the caller's commit); `load` gives it back as a snapshot. */
  saveInhibition(changes: InhibitionChanges): void;
  /** Forgets alarms resolved before `before` (ms) with their histories; returns how many. */
  prune(before: number): number;
  /** Runs `work` as one commit. */
  commit<T>(work: () => T): T;
  /**
   * Whether `error` is the store's own (a write that failed, such as SQLITE_FULL): thrown by a listener that writes
   * in the commit (the webhook outbox, the spool), it fails the commit instead of being logged as the listener's.
   */
  failedWith(error: unknown): boolean;
}
