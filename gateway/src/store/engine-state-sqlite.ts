import type { DeviceHold, DeviceSnapshot, EngineChanges, EngineSnapshot, GroupSnapshot, Reading } from '../../../rules/src/index.js';
import { ENGINE_SNAPSHOT_VERSION } from '../../../rules/src/index.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

/** What moved the engine in one commit whose devices were not all saved: replayed, in order, at start. */
export interface JournalEntry {
  /** Readings the engine took, in order. */
  readings?: readonly Reading[];
  /** Holds the engine was given (`held`), before that commit's tick. */
  held?: readonly DeviceHold[];
}

/** The rule engine's state as the store last saved it, and when the gateway last committed anything. */
export interface SavedEngineState {
  snapshot: EngineSnapshot;
  /** The last commit before the stop (ms): `now - aliveAt` is the time spent down. */
  aliveAt: number;
  /** Journal entries not yet in every device's saved state, oldest first. */
  journal: Array<{ id: number; entry: JournalEntry }>;
  /** Per device key, the last journal entry its saved state includes (entries after it are to replay for it). */
  journalAt: ReadonlyMap<string, number>;
}

/** The rule engine's state in the local store: saved device by device and site by site, in the caller's commit. */
export interface EngineStateStore {
  /**
   * Saves what changed and that the gateway was alive at `at`. Call inside the commit of what changed it. The devices
   * saved include every journal entry written so far.
   */
  save(changes: EngineChanges, at: number): void;
  /** Appends an entry (in the caller's commit); returns its id. */
  journal(entry: JournalEntry): number;
  /** The id of the last entry written (0: none yet). */
  journalPosition(): number;
  /**
   * Deletes the entries before `id` (every device's saved state includes them). With `at` (the commit's time), at
   * most once a second: the delete touches the journal's first pages, one more page for SQLite's log in each commit
   * of a plant's steady trickle; the entries it leaves a little longer are older than every saved state, so a start
   * replays none of them.
   */
  forgetJournal(before: number, at?: number): void;
  /** The saved state, or null when nothing was ever saved (a new store). */
  load(): SavedEngineState | null;
}

/** Journal entries no saved state needs are deleted at most this often, but at a full save. */
const FORGET_EVERY_MS = 1_000;

/** `later`: the lane's write buffer (the state is serialised at once, written in the lane's commit); default: written at once. */
export function createSqliteEngineState(db: StoreDatabase, later: WriteBuffer = createWriteBuffer()): EngineStateStore {
  const putDevice = db.prepare('INSERT OR REPLACE INTO engine_device (key, state, journal_at) VALUES (?, ?, ?)');
  const putSite = db.prepare('INSERT OR REPLACE INTO engine_site (site, groups) VALUES (?, ?)');
  const dropSite = db.prepare('DELETE FROM engine_site WHERE site = ?');
  const dropDevice = db.prepare('DELETE FROM engine_device WHERE key = ?');
  const putMeta = db.prepare('INSERT OR REPLACE INTO engine_meta (name, value) VALUES (?, ?)');
  const putEntry = db.prepare('INSERT INTO engine_journal (id, entry) VALUES (?, ?)');
  const dropEntries = db.prepare('DELETE FROM engine_journal WHERE id < ?');
  const allDevices = db.prepare('SELECT key, state, journal_at FROM engine_device').raw(true);
  const allSites = db.prepare('SELECT groups FROM engine_site').pluck();
  const allEntries = db.prepare('SELECT id, entry FROM engine_journal ORDER BY id').raw(true);
  const lastEntry = db.prepare('SELECT max(id) FROM engine_journal').pluck();
  const meta = db.prepare('SELECT value FROM engine_meta WHERE name = ?').pluck();

  let position = (lastEntry.get() as number | null) ?? 0;
  /** Entries before this are deleted (or being deleted in the commit in progress). */
  let forgottenBefore = 0;
  /** When they were last deleted (commit time). */
  let forgottenAt = Number.NEGATIVE_INFINITY;

  return {
    save(changes, at) {
      const devices = changes.devices.map(({ key, state }) => [key, JSON.stringify(state)] as const);
      const sites = changes.sites.map(({ site, groups }) => [site, groups.length === 0 ? null : JSON.stringify(groups)] as const);
      const journalAt = position;
      later.add(() => {
        for (const [key, state] of devices) putDevice.run(key, state, journalAt);
        for (const [site, groups] of sites) {
          if (groups === null) dropSite.run(site);
          else putSite.run(site, groups);
        }
        for (const key of changes.forgotten ?? []) dropDevice.run(key);
        putMeta.run('alive_at', String(at));
      });
    },
    journal(entry) {
      position += 1;
      const id = position;
      const text = JSON.stringify(entry);
      later.add(() => putEntry.run(id, text));
      return id;
    },
    journalPosition: () => position,
    forgetJournal(before, at) {
      if (before <= forgottenBefore) return;
      if (at !== undefined && at - forgottenAt < FORGET_EVERY_MS && at >= forgottenAt) return;
      if (at !== undefined) forgottenAt = at;
      forgottenBefore = before;
      later.add(() => dropEntries.run(before));
    },
    load() {
      const aliveAt = meta.get('alive_at') as string | undefined;
      if (aliveAt === undefined) return null;
      const journalAt = new Map<string, number>();
      const devices = (allDevices.all() as Array<[string, string, number]>).map(([key, text, at]) => {
        journalAt.set(key, at);
        return JSON.parse(text) as DeviceSnapshot;
      });
      const groups = (allSites.all() as string[]).flatMap((text) => JSON.parse(text) as GroupSnapshot[]);
      const journal = (allEntries.all() as Array<[number, string]>).map(([id, text]) => ({ id, entry: JSON.parse(text) as JournalEntry }));
      return { snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices, groups }, aliveAt: Number(aliveAt), journal, journalAt };
    },
  };
}
