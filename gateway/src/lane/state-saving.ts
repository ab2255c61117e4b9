import {
  type DeviceContext,
  type DeviceHold,
  deviceKey,
  type EngineChanges,
  type Reading,
  type RuleEngine,
  type VerdictChange,
} from '../../../rules/src/index.js';
import type { EngineStateStore, SavedEngineState } from '../store/engine-state-sqlite.js';

/** A device whose readings are journaled but whose state is not saved yet. */
interface Deferred {
  /** When its state was first left unsaved, on the lag's clock (ms). */
  since: number;
  /** The first journal entry its saved state lacks. */
  from: number;
}

export interface StateSavingOptions {
  /** How long a device's state may lag its journaled readings before it is saved (bounds the replay at start). */
  maxLagMs: number;
  /** Devices whose lag ran out saved at most per commit (a large fleet's saves are spread, not one long commit). */
  maxPerCommit: number;
}

export const STATE_SAVING: StateSavingOptions = { maxLagMs: 30_000, maxPerCommit: 64 };

/**
 * When the lane saves each device's rule state, inside the commit that moved it. Saving a device's whole state in
 * every commit that moved it was the lane's largest single cost (a dust collector's state is kilobytes of JSON, written
 * for each reading of a large fleet). A commit of readings instead journals the readings, and a device whose readings
 * raised or cleared nothing is saved later (within `maxLagMs`): at start its saved state and the readings journaled
 * after it give the state it had (`replayJournal`). Saved at once: a device whose readings changed a verdict, one a
 * group rule watches (its readings can move a site's verdicts), and every device another step moved (a tick, an
 * acknowledgement). Holds (`held`, which move a device's silence clock without listing it as moved) are journaled, and
 * their devices saved within the lag as well.
 */
export interface StateSaving {
  /** In a commit of readings: journals them, saves what must be saved now; returns what was saved. */
  afterReadings(readings: readonly Reading[], changes: readonly VerdictChange[], at: number): EngineChanges;
  /** In any other commit: every device that moved is saved; the holds given before its tick are journaled. */
  afterOther(at: number, held?: readonly DeviceHold[]): EngineChanges;
  /**
   * Saves every device left unsaved and those of `also` (a replay moved them), and forgets the whole journal (start, a
   * rule reload, a clean stop).
   */
  saveAll(at: number, also?: Iterable<string>): EngineChanges;
}

export function createStateSaving(
  engine: RuleEngine,
  store: EngineStateStore,
  options: StateSavingOptions = STATE_SAVING,
  /** The clock of the lag: monotonic (a wall clock set back would hold every deferred save by lag for as long). */
  clock: () => number = () => performance.now(),
): StateSaving {
  /** In the order they were first left unsaved: the first has the smallest `from`. */
  const deferred = new Map<string, Deferred>();

  /**
   * Saves `moved`, and the devices whose lag ran out; forgets the entries no saved state needs any more (`full`: a
   * save of every device, all of them at once; else at most once a second).
   */
  const finish = (moved: EngineChanges, at: number, full = false): EngineChanges => {
    for (const { key } of moved.devices) deferred.delete(key);
    const due: string[] = [];
    const dueSince = clock() - options.maxLagMs;
    for (const [key, entry] of deferred) {
      if (due.length >= options.maxPerCommit || entry.since > dueSince) break;
      due.push(key);
    }
    for (const key of due) deferred.delete(key);
    if (due.length > 0) moved.devices.push(...engine.deviceStates(due));
    store.save(moved, at);
    const first = deferred.values().next().value as Deferred | undefined;
    store.forgetJournal(first ? first.from : store.journalPosition() + 1, full ? undefined : at);
    return moved;
  };

  return {
    afterReadings(readings, changes, at) {
      if (readings.length === 0) return finish(engine.takeChanged(), at);
      const id = store.journal({ readings }, at);
      const profiles = new Map<string, string>();
      for (const reading of readings) profiles.set(deviceKey(reading.site, reading.device), reading.profile);
      const changed = new Set<string>();
      for (const change of changes) changed.add(deviceKey(change.site, change.device));
      const moved = engine.takeChanged((key) => {
        const profile = profiles.get(key);
        return profile !== undefined && !changed.has(key) && !engine.groupsWatch(profile);
      });
      const since = clock();
      for (const key of moved.deferred ?? []) if (!deferred.has(key)) deferred.set(key, { since, from: id });
      return finish(moved, at);
    },
    afterOther(at, held = []) {
      if (held.length > 0) {
        // a hold moves a silence clock without listing the device as moved: journaled, the device saved within the lag
        const id = store.journal({ held }, at);
        const since = clock();
        for (const hold of held) {
          const key = deviceKey(hold.site, hold.device);
          if (!deferred.has(key)) deferred.set(key, { since, from: id });
        }
      }
      return finish(engine.takeChanged(), at);
    },
    saveAll(at, also = []) {
      const moved = engine.takeChanged();
      const saved = new Set(moved.devices.map(({ key }) => key));
      const rest = new Set([...deferred.keys(), ...also]);
      moved.devices.push(...engine.deviceStates([...rest].filter((key) => !saved.has(key))));
      deferred.clear();
      return finish(moved, at, true);
    },
  };
}

/** What a replay of the journal did. */
export interface Replay {
  /** Verdict changes of rules changed while the gateway was down (the rest judged these readings before). */
  changes: VerdictChange[];
  readings: number;
  /** Keys of the devices whose state the replay moved (to be saved). */
  devices: Set<string>;
}

/**
 * Brings each restored device from its saved state to the state it had at the stop: the journal's readings and holds
 * after its saved entry (`journalAt`), in order. Devices with no saved state, or no longer registered, are skipped.
 * A reading whose evaluation throws is reported and skipped, as it was when it arrived.
 */
export function replayJournal(
  engine: RuleEngine,
  saved: SavedEngineState,
  contextOf: (device: string) => DeviceContext | undefined,
  failed: (error: unknown, reading: Reading) => void,
): Replay {
  const replay: Replay = { changes: [], readings: 0, devices: new Set() };
  const after = (id: number, key: string): boolean => id > (saved.journalAt.get(key) ?? Number.POSITIVE_INFINITY);
  for (const { id, entry } of saved.journal) {
    if (entry.held) {
      const holds = entry.held.filter((hold) => after(id, deviceKey(hold.site, hold.device)));
      engine.held(holds);
      for (const hold of holds) replay.devices.add(deviceKey(hold.site, hold.device));
    }
    for (const reading of entry.readings ?? []) {
      const key = deviceKey(reading.site, reading.device);
      const context = contextOf(reading.device);
      if (!after(id, key) || !context) continue;
      replay.readings += 1;
      replay.devices.add(key);
      try {
        for (const change of engine.onReading(reading, context).changes) replay.changes.push(change);
      } catch (error) {
        failed(error, reading);
      }
    }
  }
  return replay;
}
